"""The review page: the queue with its filters, the compare view, the findings and decision bar.

Owns its queue proxy (filters: status, finding kind, model, disclosure verdict, path text) and
its compare view. Several rows can be selected (Shift/Ctrl): the window's decide flow then
decides them as a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, QSize, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QBoxLayout,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSplitter,
    QStyle,
    QStyleOptionComboBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from twinreview.core.findings import kind_words
from twinreview.ui.actions import filter_action
from twinreview.ui.compare_view import CompareView
from twinreview.ui.findings_panel import FindingsPanel
from twinreview.ui.items import AssetItem
from twinreview.ui.page import item_at, row_of
from twinreview.ui.queue_model import (
    COL_ASSET,
    COL_FINDINGS,
    COL_MODEL,
    COL_STATUS,
    AssetDelegate,
    BadgeDelegate,
    ItemRole,
    QueueFilter,
    QueueModel,
    QueueProxy,
)
from twinreview.ui.status_words import NO_RESULTS, STATUS_NOT_KNOWN

#: The disclosure verdicts the verdict filter offers.
VERDICTS = ("disclosed", "partial", "missing", "blocked")

#: The longest words the badge columns show: a narrower column would break them mid-word.
_FINDINGS_WORDS = ("Unreadable", *NO_RESULTS.split(), "findings", "block ·")
_STATUS_WORDS = ("withdrawn", *STATUS_NOT_KNOWN.split(), "Pending:", "(policy)", "Rejected")
#: A file name the asset column always has room for beside its thumbnail (a longer one keeps
#: its numbering and extension, see :func:`~twinreview.ui.queue_model.elide_name`).
_NAME_SAMPLE = "look-0042.jpg"
#: Room the decision text needs beside the buttons; below it, it goes on a line of its own.
_DECISION_SAMPLE = "Pending: model, agent · you: approve"


class ReviewPage(QSplitter):
    """Queue | compare view and decision bar | findings panel.

    Signals:
        current_changed(): another asset is current (clicked, stepped to, or selected).
        selection_changed(): the set of selected rows changed.
    """

    current_changed = Signal()
    selection_changed = Signal()

    def __init__(
        self,
        model: QueueModel,
        compare: CompareView,
        acts: Mapping[str, QAction],
        thumb_size: QSize,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.model = model
        self.compare = compare
        self._proxy = QueueProxy(self)
        self._proxy.setSourceModel(model)
        self.table = self._make_table(thumb_size)
        self._acts = acts
        filters = QGridLayout()
        filters.setSpacing(2)
        #: The status filters' buttons, one per :class:`QueueFilter` (each shows its action).
        self.filter_buttons: list[QToolButton] = []
        for i, mode in enumerate(QueueFilter):
            act = acts[filter_action(mode)]
            act.setIconText(mode.value)
            b = QToolButton()
            b.setDefaultAction(act)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            self.filter_buttons.append(b)
            filters.addWidget(b, i // 4, i % 4)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by path…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Show only assets whose path contains this text (Ctrl+F)")
        self.search.textChanged.connect(self._proxy.set_text)
        self.search.installEventFilter(self)
        # Filters by finding kind, model and AI-disclosure verdict.
        self.kind_filter = QComboBox()
        self.kind_filter.setToolTip("Show only assets with a finding of this kind")
        self.model_filter = QComboBox()
        self.model_filter.setToolTip("Show only assets of this model")
        self.verdict_filter = QComboBox()
        self.verdict_filter.setToolTip("Show only assets with this AI-disclosure verdict")
        self.verdict_filter.addItem("Any disclosure", "")
        for verdict in VERDICTS:
            self.verdict_filter.addItem(f"Disclosure: {verdict}", verdict)
        self.kind_filter.currentIndexChanged.connect(
            lambda _: self._apply_combo(self.kind_filter, self._proxy.set_kind)
        )
        self.model_filter.currentIndexChanged.connect(
            lambda _: self._apply_combo(self.model_filter, self._proxy.set_model)
        )
        self.verdict_filter.currentIndexChanged.connect(
            lambda _: self._apply_combo(self.verdict_filter, self._proxy.set_verdict)
        )
        self.set_kinds([])
        self.set_models({})
        # Each box is at least as wide as its "Any …" text (long choices are cut, not the
        # box widened); when three do not fit side by side they flow onto a second row.
        self._combos = (self.kind_filter, self.model_filter, self.verdict_filter)
        self._combo_grid = QGridLayout()
        self._combo_grid.setSpacing(2)
        self._combo_columns = 0
        for combo in self._combos:
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(2)
            combo.setMinimumWidth(self._combo_min_width(combo))
        self._flow_combos(3)
        self.count_label = QLabel()
        self.count_label.setToolTip("Assets shown / assets in the workspace")
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.setToolTip("Decision logs that failed verification; nothing is repaired")
        self.banner.hide()
        queue_box = QWidget()
        self.queue_box = queue_box
        ql = QVBoxLayout(queue_box)
        ql.setContentsMargins(4, 4, 4, 4)
        ql.addWidget(self.banner)
        ql.addLayout(filters)
        ql.addLayout(self._combo_grid)
        ql.addWidget(self.search)
        ql.addWidget(self.table, 1)
        ql.addWidget(self.count_label)
        for sig in (
            self._proxy.rowsInserted,
            self._proxy.rowsRemoved,
            self._proxy.modelReset,
            self._proxy.layoutChanged,
        ):
            sig.connect(self.update_count)
        # When the current row goes (deleted, filtered out), the row that takes its place, the
        # next one, becomes current (Qt's own choice is the previous one).
        self._gone_at = -1
        self._left = -1  # the row the current one just moved away from
        self._proxy.rowsAboutToBeRemoved.connect(self._before_removal)
        self._proxy.rowsRemoved.connect(self._after_removal)

        self.findings = FindingsPanel()
        self.decision_label = QLabel()
        self.decision_label.setWordWrap(True)
        self.decision_label.setToolTip("Status of this asset and your latest decision")
        self.decision_label.setSizePolicy(
            QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred
        )
        self._decision_room = self.decision_label.fontMetrics().horizontalAdvance(_DECISION_SAMPLE)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        #: The decision bar's buttons: previous, approve, reject, next.
        self.bar_buttons: list[QToolButton] = []
        for name in ("previous", "approve", "reject", "next"):
            tb = QToolButton()
            tb.setDefaultAction(acts[name])
            # Previous/next are icon-only (tooltips say what they do) so the bar fits a laptop.
            tb.setToolButtonStyle(
                Qt.ToolButtonStyle.ToolButtonTextBesideIcon
                if name in ("approve", "reject")
                else Qt.ToolButtonStyle.ToolButtonIconOnly
            )
            tb.setIconSize(QSize(24, 24))
            tb.setMinimumHeight(36)
            buttons.addWidget(tb)
            self.bar_buttons.append(tb)
        # The text beside the buttons while there is room for it, above them when not: it
        # wraps between words either way.
        self._bar = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self._bar.addWidget(self.decision_label, 1)
        self._bar.addLayout(buttons)
        center = QWidget()
        self.center = center
        cl = QVBoxLayout(center)
        cl.setContentsMargins(4, 4, 4, 4)
        cl.addWidget(compare, 1)
        cl.addLayout(self._bar)
        # Previous and next (also N and P, and a click in the queue) give way first when the
        # pane is narrow; Approve and Reject always stay whole.
        self._nav_buttons = (self.bar_buttons[0], self.bar_buttons[3])
        spacing = max(0, buttons.spacing())
        self._all_buttons_width = sum(b.sizeHint().width() + spacing for b in self.bar_buttons)
        decide_width = sum(b.sizeHint().width() + spacing for b in self.bar_buttons[1:3])
        center.setMinimumWidth(decide_width + 8)
        self.addWidget(queue_box)
        self.addWidget(center)
        self.addWidget(self.findings)
        self.setStretchFactor(0, 2)
        self.setStretchFactor(1, 5)
        self.setStretchFactor(2, 2)
        self.setChildrenCollapsible(False)
        queue_box.setMinimumWidth(self._queue_min_width())
        for watched in (self.table.viewport(), queue_box, center):
            watched.installEventFilter(self)
        # Arrows move between the buttons of the decision bar and between the filters.
        for _, widgets in self.focus_areas()[3:]:
            for widget in widgets:
                if widget is not self.search:
                    widget.installEventFilter(self)

    def _make_table(self, thumb_size: QSize) -> QTableView:
        table = QTableView()
        table.setModel(self._proxy)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Shift/Ctrl + click (or Shift + arrows) select several: A and R then decide them all.
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setSortingEnabled(True)
        table.sortByColumn(COL_FINDINGS, Qt.SortOrder.DescendingOrder)
        table.setIconSize(thumb_size)
        table.verticalHeader().hide()
        # A thumbnail high, and never less than three lines of badge text ("1 block · 1 warn ·
        # 1 info" in a narrow column) with the cell's margins.
        margin = table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1
        lines = 3 * table.fontMetrics().lineSpacing() + 4 * margin + 2
        table.verticalHeader().setDefaultSectionSize(max(thumb_size.height() + 8, lines))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setStretchLastSection(False)
        # Tab leaves the queue (the page moves between its areas); arrows move inside it.
        table.setTabKeyNavigation(False)
        # Rows are a thumbnail high: badge texts wrap onto a second line instead of being cut.
        table.setWordWrap(True)
        # The model's name is shown under the file name; its own column stays in the model (for
        # sorting and accessibility) but is hidden so the badges fit a narrow queue.
        table.setColumnHidden(COL_MODEL, True)
        self.asset_delegate = AssetDelegate(table)
        table.setItemDelegateForColumn(COL_ASSET, self.asset_delegate)
        self._badges = BadgeDelegate(table)
        table.setItemDelegateForColumn(COL_STATUS, self._badges)
        table.setItemDelegateForColumn(COL_FINDINGS, self._badges)
        # Fixed starting widths from the font, not ResizeToContents: that mode asks every row
        # for its data on each change, which stalls the GUI thread when a scan's results land.
        header = table.horizontalHeader()
        fm = table.fontMetrics()
        icon_w = fm.height() + 28
        for col, sample in (
            (COL_FINDINGS, "2 block · 1"),
            (COL_STATUS, "Pending: model,"),
            (COL_MODEL, "Model name"),
        ):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, fm.horizontalAdvance(sample) + icon_w)
        # Widths the badge columns like (their usual text on two lines) and need (their
        # longest word beside the icon); the asset column, stretched, gets the rest.
        badge_pad = max(16, fm.height()) + 4 * margin + 2
        self._badge_widths = {
            col: (
                header.sectionSize(col),
                badge_pad + max(fm.horizontalAdvance(w) for w in words),
            )
            for col, words in ((COL_FINDINGS, _FINDINGS_WORDS), (COL_STATUS, _STATUS_WORDS))
        }
        self._asset_min = thumb_size.width() + 4 * margin + 2 + fm.horizontalAdvance(_NAME_SAMPLE)
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        table.setToolTip("The review queue: click an asset or use N / P to move")
        table.selectionModel().currentRowChanged.connect(self._on_current_row)
        table.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit())
        return table

    # -- the page interface (:class:`~twinreview.ui.page.AssetPage`) ---------------------------

    @property
    def proxy(self) -> QueueProxy:
        """The filtered, sorted queue."""
        return self._proxy

    @property
    def view(self) -> CompareView:
        """The compare view."""
        return self.compare

    def current_item(self) -> AssetItem | None:
        """The asset on screen."""
        return item_at(self._proxy, self.table.currentIndex().row())

    def is_empty(self) -> bool:
        """No current row."""
        return not self.table.currentIndex().isValid()

    def select(self, rel: str) -> bool:
        """Make ``rel`` the current (and only selected) row."""
        row = row_of(self._proxy, rel)
        if row < 0:
            return False
        self._set_row(row)
        return True

    def select_first(self) -> None:
        """The top of the queue."""
        if self._proxy.rowCount():
            self._set_row(0)
            self.table.scrollToTop()

    def step(self, delta: int) -> None:
        """Move by ``delta`` rows (clamped); the selection becomes that row alone."""
        n = self._proxy.rowCount()
        if not n:
            return
        row = self.table.currentIndex().row()
        self._set_row(0 if row < 0 else max(0, min(n - 1, row + delta)))

    def neighbour(self, delta: int) -> AssetItem | None:
        """The asset ``delta`` rows away."""
        return item_at(self._proxy, self.table.currentIndex().row() + delta)

    def selected_items(self) -> list[AssetItem]:
        """The selected rows' assets, in queue order."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [item for r in rows if (item := item_at(self._proxy, r)) is not None]

    def _set_row(self, row: int) -> None:
        index = self._proxy.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index)

    def _before_removal(self, _parent: QModelIndex, first: int, last: int) -> None:
        # Qt has already moved the current row off the rows going (to the one before them):
        # the row it left is the one to replace.
        row = self.table.currentIndex().row()
        left, self._left = self._left, -1
        going = first <= row <= last
        moved_off = first <= left <= last and row in (first - 1, -1)
        self._gone_at = first if going or moved_off else -1

    def _after_removal(self) -> None:
        at, self._gone_at = self._gone_at, -1
        if at >= 0 and self._proxy.rowCount():
            self._set_row(min(at, self._proxy.rowCount() - 1))

    def _on_current_row(self, _current: QModelIndex, previous: QModelIndex) -> None:
        self._left = previous.row()
        self.current_changed.emit()

    def scroll_to_current(self) -> None:
        """Keep the current row in sight (after a re-sort)."""
        index = self.table.currentIndex()
        if index.isValid():
            self.table.scrollTo(index)

    # -- filters --------------------------------------------------------------------------------

    def set_filter(self, mode: QueueFilter) -> None:
        """Apply a status filter; the current asset stays if it passes."""
        self._proxy.set_mode(mode)
        self._acts[filter_action(mode)].setChecked(True)
        self._after_filter()

    def filter_from_key(self, mode: QueueFilter) -> None:
        """A filter chosen by its key or button: the keyboard goes (back) to the queue."""
        self.set_filter(mode)
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _after_filter(self) -> None:
        if not self.table.currentIndex().isValid():
            self.select_first()
        else:
            self.scroll_to_current()

    def _apply_combo(self, combo: QComboBox, apply: Callable[[str | None], None]) -> None:
        value = combo.currentData()
        apply(str(value) if value else None)
        self._after_filter()

    def set_kinds(self, items: Iterable[AssetItem]) -> None:
        """Offer the finding kinds ``items`` have (with counts), keeping the choice."""
        counts: dict[str, int] = {}
        for item in items:
            for kind in {f.kind for f in item.findings}:
                counts[kind] = counts.get(kind, 0) + 1
        options = sorted(
            ((_capital(f"{kind_words(k)} ({n})"), k) for k, n in counts.items()),
            key=lambda option: option[0].lower(),
        )
        self._refill(self.kind_filter, "Any finding", options, self._proxy.set_kind)
        # The words are longer than the closed box: the open list shows them whole.
        metrics = self.kind_filter.fontMetrics()
        widest = max((metrics.horizontalAdvance(text) for text, _ in options), default=0)
        self.kind_filter.view().setMinimumWidth(widest + 4 * metrics.averageCharWidth())

    def set_models(self, names: Mapping[str, str]) -> None:
        """Offer the workspace's models (id -> display name), keeping the choice."""
        options = [(name, mid) for mid, name in sorted(names.items(), key=lambda kv: kv[1].lower())]
        self._refill(self.model_filter, "Any model", options, self._proxy.set_model)

    @staticmethod
    def _refill(
        combo: QComboBox,
        anything: str,
        options: list[tuple[str, str]],
        apply: Callable[[str | None], None],
    ) -> None:
        chosen = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(anything, "")
        for text, value in options:
            combo.addItem(text, value)
        index = combo.findData(chosen) if chosen else 0
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)
        if chosen and index < 0:
            apply(None)  # the chosen value is gone: show everything again

    # -- layout at any width ---------------------------------------------------------------------

    def _queue_min_width(self) -> int:
        """The queue pane's least width: every column at its least, filters on two rows."""
        table = self.table
        columns = self._asset_min + sum(least for _, least in self._badge_widths.values())
        frame = 2 * table.frameWidth() + table.verticalScrollBar().sizeHint().width()
        combos = max(c.minimumWidth() for c in self._combos) * 2 + 2
        return max(columns + frame, combos) + 8  # the pane's margins

    def _fit_columns(self) -> None:
        """Badge columns at their liked width when there is room, shrunk toward their least."""
        table = self.table
        header = table.horizontalHeader()
        spare = table.viewport().width() - self._asset_min
        liked = sum(like for like, _ in self._badge_widths.values())
        least = sum(low for _, low in self._badge_widths.values())
        share = 0.0 if spare >= liked else min(1.0, (liked - spare) / max(1, liked - least))
        for col, (like, low) in self._badge_widths.items():
            width = round(like - share * max(0, like - low))
            if header.sectionSize(col) != width:
                header.resizeSection(col, width)

    @staticmethod
    def _combo_min_width(combo: QComboBox) -> int:
        """Room for the box's first ("Any …") text, its arrow and frame."""
        opt = QStyleOptionComboBox()
        combo.initStyleOption(opt)
        text = combo.fontMetrics().horizontalAdvance(combo.itemText(0))
        size = QSize(text, combo.fontMetrics().height())
        hint = combo.style().sizeFromContents(QStyle.ContentsType.CT_ComboBox, opt, size, combo)
        return hint.width()

    def _flow_combos(self, columns: int) -> None:
        if columns == self._combo_columns:
            return
        self._combo_columns = columns
        for combo in self._combos:
            self._combo_grid.removeWidget(combo)
        for col in range(3):
            self._combo_grid.setColumnStretch(col, 1 if col < columns else 0)
        for i, combo in enumerate(self._combos):
            self._combo_grid.addWidget(combo, i // columns, i % columns)

    def _fit_filters(self) -> None:
        room = self.queue_box.contentsRect().width() - 8
        need = sum(c.minimumWidth() for c in self._combos) + 2 * self._combo_grid.spacing()
        self._flow_combos(3 if room >= need else 2)

    def _fit_bar(self) -> None:
        room = self.center.contentsRect().width() - 8
        nav = room >= self._all_buttons_width
        for b in self._nav_buttons:
            b.setVisible(nav)
        buttons = self._all_buttons_width - (
            0 if nav else sum(b.sizeHint().width() for b in self._nav_buttons)
        )
        beside = room >= buttons + self._decision_room
        direction = QBoxLayout.Direction.LeftToRight if beside else QBoxLayout.Direction.TopToBottom
        if self._bar.direction() != direction:
            self._bar.setDirection(direction)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Follow the panes' widths; Escape or Enter in the search box go back to the queue."""
        if event.type() == QEvent.Type.Resize:
            if watched is self.table.viewport():
                self._fit_columns()
            elif watched is self.queue_box:
                self._fit_filters()
            elif watched is self.center:
                self._fit_bar()
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if watched is self.search and event.key() in (
                Qt.Key.Key_Escape,
                Qt.Key.Key_Return,
                Qt.Key.Key_Enter,
            ):
                self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
                if not self.table.currentIndex().isValid():
                    self.select_first()
                return True
            if isinstance(watched, QWidget) and self._arrow_inside(watched, event):
                return True
        return super().eventFilter(watched, event)

    # -- the keyboard: areas and arrows --------------------------------------------------------

    def focus_areas(self) -> list[tuple[str, list[QWidget]]]:
        """The page's areas in Tab order, each with the widgets it holds."""
        return [
            ("queue", [self.table]),
            ("images", [self.compare]),
            ("findings", [self.findings]),
            ("decision", list(self.bar_buttons)),
            ("filters", [*self.filter_buttons, *self._combos, self.search]),
        ]

    def _entry(self, name: str, widgets: list[QWidget]) -> QWidget | None:
        """Where the keyboard lands in an area (None: nothing there takes it now)."""
        if name == "images":
            widgets = [self.compare.focus_target()]
        elif name == "decision":
            # Approve first, then Reject, then the moves: what a decision bar is for.
            order = (1, 2, 0, 3)
            widgets = [self.bar_buttons[i] for i in order]
        elif name == "filters":
            widgets = sorted(widgets, key=lambda w: not getattr(w, "isChecked", bool)())
        return next((w for w in widgets if w.isVisible() and w.isEnabled()), None)

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab and Shift+Tab move between the areas, never inside one."""
        focus = QApplication.focusWidget()
        areas = self.focus_areas()
        here = next_area = -1
        for i, (_, widgets) in enumerate(areas):
            if focus is not None and any(w is focus or w.isAncestorOf(focus) for w in widgets):
                here = i
        if here < 0:
            return super().focusNextPrevChild(next)
        for step in range(1, len(areas) + 1):
            next_area = (here + step if next else here - step) % len(areas)
            target = self._entry(*areas[next_area])
            if target is not None:
                reason = (
                    Qt.FocusReason.TabFocusReason if next else Qt.FocusReason.BacktabFocusReason
                )
                target.setFocus(reason)
                return True
        return True

    def _arrow_inside(self, watched: QWidget, event: QKeyEvent) -> bool:
        """Move between the widgets of the decision bar or the filters with the arrows."""
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        key = Qt.Key(event.key())
        steps = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}
        if not isinstance(watched, QComboBox):
            # Up and Down change a filter list's choice; on a button they move like Left, Right.
            steps |= {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1}
        if key not in steps:
            return False
        for name, widgets in self.focus_areas()[3:]:
            if watched not in widgets:
                continue
            if name == "decision" and key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                return False
            usable = [w for w in widgets if w.isVisible() and w.isEnabled()]
            if watched not in usable:
                return False
            j = usable.index(watched) + steps[key]
            if 0 <= j < len(usable):
                usable[j].setFocus(Qt.FocusReason.OtherFocusReason)
            return True
        return False

    def update_count(self) -> None:
        """``12 of 132 assets``."""
        self.count_label.setText(f"{self._proxy.rowCount()} of {self.model.rowCount()} assets")


__all__ = ["ItemRole", "ReviewPage"]


def _capital(text: str) -> str:
    """``text`` with its first letter a capital (a list entry, not the middle of a sentence)."""
    return text[:1].upper() + text[1:]
