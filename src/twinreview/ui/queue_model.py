"""The review queue: a table model over the session's assets, and the filtering/sorting proxy."""

from __future__ import annotations

import enum
import re
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFontMetrics, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from twinreview.core.approval.policy import State
from twinreview.core.approval.rule import models_whose_word_is_needed
from twinreview.core.findings import Severity
from twinreview.ui.items import AssetItem, disclosure_verdict
from twinreview.ui.loader import ThumbnailProvider
from twinreview.ui.resources import icon, raster_icon
from twinreview.ui.session import ReviewSession
from twinreview.ui.status_words import (
    NO_RESULTS,
    consent_wait,
    flagged,
    status_sentence,
    status_text,
)

Index = QModelIndex | QPersistentModelIndex

#: The AssetItem behind a row.
ItemRole = Qt.ItemDataRole.UserRole + 1
#: Sort key of a column (severity rank for findings, state rank for status).
SortKeyRole = Qt.ItemDataRole.UserRole + 2

# Badges before the model: on a narrow queue what matters most stays visible.
COL_ASSET, COL_FINDINGS, COL_STATUS, COL_MODEL = range(4)
_HEADERS = ("Asset", "Findings", "Status", "Model")
_HEADER_TIPS = (
    "The generated image, with its path in the workspace",
    "What the scan found; sorted by the worst severity",
    "Status under the model's consent policy: cleared, pending, rejected or blocked",
    "The person (model) the image claims to show",
)

_STATE_ICON = {
    State.CLEARED: "status-cleared",
    State.PENDING: "status-pending",
    State.REJECTED: "status-rejected",
    State.BLOCKED: "status-blocked",
}
_STATE_RANK = {State.BLOCKED: 3, State.REJECTED: 2, State.PENDING: 1, State.CLEARED: 0}
_SEVERITY_ICON = {
    Severity.BLOCK: "severity-block",
    Severity.WARN: "severity-warn",
    Severity.INFO: "severity-info",
}


def findings_text(item: AssetItem) -> str:
    """Badge text: counts per severity, worst first, e.g. ``1 block · 2 warn``."""
    if item.result is None:
        return NO_RESULTS
    if item.result.error:
        return "Unreadable"
    counts = {s: 0 for s in Severity}
    for f in item.findings:
        counts[f.severity] += 1
    parts = [f"{counts[s]} {s.label}" for s in sorted(Severity, reverse=True) if counts[s]]
    return " · ".join(parts) if parts else "No findings"


def severity_rank(item: AssetItem) -> int:
    """Sort key: worst severity first, then how many blocking, then warning findings.

    -2 not scanned, -1 no findings; unreadable files rank with blocking findings.
    """
    if item.result is None:
        return -2
    findings = item.findings
    worst = item.worst
    if item.result.error:
        worst = Severity.BLOCK
    if worst is None:
        return -1
    blocks = sum(f.severity is Severity.BLOCK for f in findings) + bool(item.result.error)
    warns = sum(f.severity is Severity.WARN for f in findings)
    return int(worst) * 10_000 + min(blocks, 99) * 100 + min(warns, 99)


class QueueModel(QAbstractTableModel):
    """One row per asset of the session, in the order of :meth:`sort` (the session's at first).

    The model keeps its rows sorted, rather than a sorting proxy: a sorting proxy compares rows
    through a Python ``lessThan``, and a filter change that shows thousands of rows again places
    each of them that way (half a second of GUI thread at 10,000 assets). One Python sort over
    precomputed keys takes a few milliseconds, and the filter proxy keeps this order.
    """

    def __init__(
        self, session: ReviewSession, thumbnails: ThumbnailProvider, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._thumbnails = thumbnails
        self._rows: list[AssetItem] = []
        # The sort column's key per row, kept up to date as items change: a sort is then one
        # Python sort over ready keys. Only that column's: the other keys are asked for rarely
        # (SortKeyRole), and a landing of thousands of results need not compute four per row.
        self._keys: list[Any] = []
        # Workspace position of each row: ties keep the workspace order, in either direction.
        self._seq: list[int] = []
        self._next_seq = 0
        self._sort_col = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._row_of: dict[str, int] = {}
        self._row_of_path: dict[str, int] = {}
        session.workspace_opened.connect(self._on_reset)
        session.items_changed.connect(self._on_items_changed)
        session.items_removed.connect(self._on_items_removed)
        session.identity_changed.connect(self._on_identity_changed)
        session.landed.connect(self._on_landed)
        # A re-sort put off while results or statuses land slice by slice (one at the end).
        self._resort_due = False
        thumbnails.thumbnail_ready.connect(self._on_thumbnail)

    # -- Qt model API ---------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of assets (0 under any item: the table is flat)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Four columns: asset, model, status, findings."""
        return 0 if parent.isValid() else len(_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles and their tooltips."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(_HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Display text, icons (badges: icon and text, never colour alone), tooltips, sort keys."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        item = self._rows[index.row()]
        col = index.column()
        if role == ItemRole:
            return item
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, col)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._decoration(item, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item, col)
        if role == SortKeyRole:
            return self.sort_key(index.row(), col)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._display(item, col)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Rows are selectable, not editable."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    # -- helpers --------------------------------------------------------------------------------

    def item_at(self, row: int) -> AssetItem:
        """The item of a source row."""
        return self._rows[row]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Keep the rows sorted by ``column``'s sort key (-1: workspace order).

        Ties stay in workspace order whichever the direction.
        """
        column = column if 0 <= column < len(_HEADERS) else -1
        if column != self._sort_col:
            self._sort_col = column
            self._keys = [self._key(item) for item in self._rows]
        self._sort_order = order
        self._resort()

    def sort_column(self) -> int:
        """The column the rows are sorted by (-1: workspace order)."""
        return self._sort_col

    def sort_order(self) -> Qt.SortOrder:
        """The direction of the sort."""
        return self._sort_order

    def _order(self) -> list[int]:
        """Current rows in sorted order."""
        seq, keys, col = self._seq, self._keys, self._sort_col
        order = sorted(range(len(self._rows)), key=seq.__getitem__)
        if col >= 0:
            # Python's sort is stable in reverse too: ties stay in workspace order.
            order.sort(
                key=keys.__getitem__,
                reverse=self._sort_order == Qt.SortOrder.DescendingOrder,
            )
        return order

    def _permute(self, order: list[int]) -> None:
        self._rows = [self._rows[r] for r in order]
        self._keys = [self._keys[r] for r in order]
        self._seq = [self._seq[r] for r in order]
        self._reindex()

    def _resort(self) -> None:
        order = self._order()
        if order == list(range(len(order))):
            return
        self.layoutAboutToBeChanged.emit()
        new_row = [0] * len(order)
        for new, old in enumerate(order):
            new_row[old] = new
        old_indexes = self.persistentIndexList()
        self._permute(order)
        self.changePersistentIndexList(
            old_indexes, [self.index(new_row[i.row()], i.column()) for i in old_indexes]
        )
        self.layoutChanged.emit()

    def sort_key(self, row: int, col: int) -> Any:
        """What :data:`SortKeyRole` returns, without a round trip through Qt (for the proxy)."""
        if col == self._sort_col:
            return self._keys[row]
        return self._key(self._rows[row], col)

    def _key(self, item: AssetItem, col: int | None = None) -> Any:
        """The sort key of ``item`` in ``col`` (default: the sort column; None when unsorted)."""
        col = self._sort_col if col is None else col
        if col < 0:
            return None
        if col == COL_FINDINGS:
            return severity_rank(item)
        if col == COL_STATUS:
            return -1 if item.state is None else _STATE_RANK[item.state]
        return self._display(item, col).lower()

    def _principal(self) -> str | None:
        identity = self._session.identity
        return identity.principal if identity is not None else None

    def _display(self, item: AssetItem, col: int) -> str:
        if col == COL_ASSET:
            return f"{item.ref.path.name}\n{item.model_name}"
        if col == COL_MODEL:
            return item.model_name
        if col == COL_STATUS:
            return status_text(item, self._principal())
        return findings_text(item)

    def _decoration(self, item: AssetItem, col: int) -> Any:
        if col == COL_ASSET:
            pixmap = self._thumbnails.get(item.ref.path)
            if pixmap is None:
                return raster_icon("placeholder")
            return pixmap if not pixmap.isNull() else raster_icon("broken")
        if col == COL_STATUS:
            if item.state is None:
                return raster_icon("status-scanning")
            if consent_wait(item) == "missing":
                return raster_icon("status-pending")  # waiting, not wrong
            return raster_icon(_STATE_ICON[item.state])
        if col == COL_FINDINGS:
            if item.result is None:
                return raster_icon("status-scanning")
            if item.result.error:
                return raster_icon("severity-block")
            w = item.worst
            return raster_icon("severity-none") if w is None else raster_icon(_SEVERITY_ICON[w])
        return None

    def _tooltip(self, item: AssetItem, col: int) -> str:
        if col == COL_ASSET:
            return f"{item.rel}\nModel: {item.model_name}"
        if col == COL_MODEL:
            return f"Model: {item.model_name} ({item.ref.model_id})"
        if col == COL_STATUS:
            if item.status is None:
                return "Status is computed once the scan has finished."
            return status_sentence(item)
        if item.result is None:
            return "Not scanned yet."
        lines = [f"[{f.severity.label}] {f.message}" for f in item.findings]
        if item.result.error:
            lines.insert(0, f"Unreadable: {item.result.error}")
        return "\n".join(lines) or "The scan found nothing to report."

    def _on_reset(self, _ws: object) -> None:
        self._resort_due = False  # the reset sorts
        self.beginResetModel()
        self._rows = list(self._session.items)
        self._keys = [self._key(item) for item in self._rows]
        self._seq = list(range(len(self._rows)))
        self._next_seq = len(self._rows)
        self._permute(self._order())
        self.endResetModel()

    def _reindex(self) -> None:
        self._row_of = {item.rel: i for i, item in enumerate(self._rows)}
        self._row_of_path = {str(item.ref.path): i for i, item in enumerate(self._rows)}

    def _on_items_changed(self, rels: list[str]) -> None:
        items = self._session.items
        moved = False  # whether the sort order may have changed
        # The session only ever appends; the rows it has that we lack are at its end.
        if len(items) > len(self._rows):
            new = [item for item in items[len(self._rows) :] if item.rel not in self._row_of]
            if new:
                first = len(self._rows)
                self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
                self._rows.extend(new)
                self._keys.extend(self._key(item) for item in new)
                self._seq.extend(range(self._next_seq, self._next_seq + len(new)))
                self._next_seq += len(new)
                self._reindex()
                self.endInsertRows()
                moved = True
        rows = sorted({self._row_of[r] for r in rels if r in self._row_of})
        if self._sort_col >= 0:
            for row in rows:
                key = self._key(self._rows[row])
                moved = moved or key != self._keys[row]
                self._keys[row] = key
        # One signal per run of adjacent rows: the proxy looks at every row of a signalled
        # range, so one wide range over scattered rows would cost the whole table.
        start = prev = -2
        for row in [*rows, -2]:
            if row != prev + 1:
                if start >= 0:
                    self.dataChanged.emit(self.index(start, 0), self.index(prev, len(_HEADERS) - 1))
                start = row
            prev = row
        # Sorting costs two sorts of every row, and the filter proxy then looks at every row
        # again: a stream of small updates that move nothing must not pay it each time, and
        # the slices of a landing pay it once, after the last one (a slice-by-slice re-sort
        # made a landing of 10,000 results cost the square of it).
        if moved:
            if self._session.busy:
                self._resort_due = True
            else:
                self._resort()

    def _on_landed(self) -> None:
        if self._resort_due and not self._session.busy:
            self._resort_due = False
            self._resort()

    def _on_items_removed(self, rels: list[str]) -> None:
        rows = sorted({self._row_of[r] for r in rels if r in self._row_of}, reverse=True)
        # One removal per run of adjacent rows, from the bottom up (row numbers stay valid).
        while rows:
            last = first = rows.pop(0)
            while rows and rows[0] == first - 1:
                first = rows.pop(0)
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._rows[first : last + 1]
            del self._keys[first : last + 1]
            del self._seq[first : last + 1]
            self.endRemoveRows()
        self._reindex()

    def _on_identity_changed(self) -> None:
        if self._rows:
            self.dataChanged.emit(
                self.index(0, COL_STATUS), self.index(len(self._rows) - 1, COL_STATUS)
            )

    def _on_thumbnail(self, path: str) -> None:
        row = self._row_of_path.get(path)
        if row is not None:
            idx = self.index(row, COL_ASSET)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


class QueueFilter(enum.Enum):
    """The queue filters (DESIGN section 5)."""

    ALL = "All"
    PENDING = "Pending"
    FLAGGED = "Flagged"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    CLEARED = "Cleared"
    FLAGGED_MINE = "Flagged for me"

    @property
    def tooltip(self) -> str:
        """What the filter shows."""
        return {
            QueueFilter.ALL: "Show every asset",
            QueueFilter.PENDING: "Assets still waiting for an approval",
            QueueFilter.FLAGGED: "Assets with a warning or blocking finding (notes, and the "
            "disclosure of an image whose verdict the workspace allows, do not count)",
            QueueFilter.APPROVED: "Assets with at least one approval that are not rejected",
            QueueFilter.REJECTED: "Assets rejected under the consent policy",
            QueueFilter.CLEARED: "Assets cleared for use: every required role approved",
            QueueFilter.FLAGGED_MINE: "Flagged assets you have not approved or rejected yet "
            "(rejected ones left out)",
        }[self]


def accepts(
    item: AssetItem,
    mode: QueueFilter,
    approvable: frozenset[str] | None = None,
    principal: str | None = None,
) -> bool:
    """True when ``item`` passes the filter ``mode`` (``principal``: who reviews)."""
    if mode is QueueFilter.ALL:
        return True
    if mode is QueueFilter.FLAGGED:
        return flagged(item, approvable)
    state = item.state
    if mode is QueueFilter.FLAGGED_MINE:
        mine = item.latest_by(principal) if principal is not None else None
        return flagged(item, approvable) and mine is None and state is not State.REJECTED
    if mode is QueueFilter.PENDING:
        return state is None or state is State.PENDING
    if mode is QueueFilter.REJECTED:
        return state is State.REJECTED
    if mode is QueueFilter.CLEARED:
        return state is State.CLEARED
    # APPROVED
    return (
        item.status is not None
        and bool(item.status.evaluation.approvals)
        and state not in (State.REJECTED, State.BLOCKED)
    )


class QueueProxy(QSortFilterProxyModel):
    """Filters (status filter, model, text) and sorts (severity by default) the queue."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mode = QueueFilter.ALL
        self._models: frozenset[str] | None = None
        self._text = ""
        self._kind: str | None = None
        self._model: str | None = None
        self._verdict: str | None = None
        self._approvable: frozenset[str] | None = None
        self._principal: str | None = None
        self.setSortRole(SortKeyRole)
        self.setDynamicSortFilter(True)

    def _queue(self) -> QueueModel | None:
        model = self.sourceModel()
        return model if isinstance(model, QueueModel) else None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column`` (-1: workspace order); a :class:`QueueModel` sorts its own rows.

        The proxy then keeps the model's order, so that a filter change never sorts again.
        """
        queue = self._queue()
        if queue is None:
            super().sort(column, order)
            return
        queue.sort(column, order)
        super().sort(-1)

    def sortColumn(self) -> int:
        """The column the queue is sorted by (-1: workspace order)."""
        queue = self._queue()
        return queue.sort_column() if queue is not None else super().sortColumn()

    def sortOrder(self) -> Qt.SortOrder:
        """The direction of the sort."""
        queue = self._queue()
        return queue.sort_order() if queue is not None else super().sortOrder()

    @property
    def mode(self) -> QueueFilter:
        """The active filter."""
        return self._mode

    def set_mode(self, mode: QueueFilter) -> None:
        """Show only assets passing ``mode``."""
        if mode is not self._mode:
            self.beginFilterChange()
            self._mode = mode
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_models(self, model_ids: frozenset[str] | None) -> None:
        """Show only assets of these models (None: all)."""
        if model_ids != self._models:
            self.beginFilterChange()
            self._models = model_ids
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _set(self, name: str, value: Any) -> None:
        if getattr(self, name) != value:
            self.beginFilterChange()
            setattr(self, name, value)
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_kind(self, kind: str | None) -> None:
        """Show only assets with a finding of this kind (None: any)."""
        self._set("_kind", kind or None)

    def set_model(self, model_id: str | None) -> None:
        """Show only assets of this model (None: any); on top of :meth:`set_models`."""
        self._set("_model", model_id or None)

    def set_verdict(self, verdict: str | None) -> None:
        """Show only assets with this AI-disclosure verdict (None: any)."""
        self._set("_verdict", verdict or None)

    def set_approvable(self, verdicts: frozenset[str] | None) -> None:
        """The disclosure verdicts the workspace allows (they do not make an asset flagged)."""
        self._set("_approvable", verdicts)

    def set_principal(self, principal: str | None) -> None:
        """Who reviews (the "Flagged for me" filter leaves out what they decided)."""
        self._set("_principal", principal)

    def set_text(self, text: str) -> None:
        """Show only assets whose path contains ``text`` (case-insensitive)."""
        text = text.strip().lower()
        if text != self._text:
            self.beginFilterChange()
            self._text = text
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        """Apply the filter, the model restriction and the text filter."""
        model = self.sourceModel()
        # Straight to the Python list: a round trip through QModelIndex.data() per row and per
        # comparison is what makes re-sorting a few hundred rows stall the GUI thread.
        found = (
            model.item_at(source_row)
            if isinstance(model, QueueModel)
            else model.index(source_row, 0, source_parent).data(ItemRole)
        )
        if not isinstance(found, AssetItem):
            return False
        item: AssetItem = found
        if (
            self._models is not None
            and item.ref.model_id not in self._models
            # An image that may show her, filed under another model: her word is needed too.
            and not self._models.intersection(models_whose_word_is_needed(item.findings))
        ):
            return False
        if self._text and self._text not in item.rel.lower():
            return False
        if self._model is not None and item.ref.model_id != self._model:
            return False
        if self._kind is not None and not any(f.kind == self._kind for f in item.findings):
            return False
        if self._verdict is not None and disclosure_verdict(item) != self._verdict:
            return False
        return accepts(item, self._mode, self._approvable, self._principal)

    def lessThan(self, left: Index, right: Index) -> bool:
        """Compare sort keys of a source other than a :class:`QueueModel` (which sorts itself).

        Ties keep the source order so the sort is stable.
        """
        a, b = left.data(SortKeyRole), right.data(SortKeyRole)
        if a != b:
            return bool(a < b)
        # Ties in source order whatever the direction: Qt reverses lessThan for descending.
        if super().sortOrder() == Qt.SortOrder.DescendingOrder:
            return left.row() > right.row()
        return left.row() < right.row()


def state_icon(state: State | None) -> QIcon:
    """The badge icon of a policy state."""
    return icon("status-scanning") if state is None else icon(_STATE_ICON[state])


class BadgeDelegate(QStyledItemDelegate):
    """Draws badge icons at text size, whatever the view's (thumbnail) icon size.

    On a selected row each badge sits on a disc of the palette's highlighted-text colour: the
    style's own selected look tints icons with the highlight, which leaves a grey outline icon
    (the pending clock) nearly invisible on the selection's blue.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._selected: dict[tuple[int, int, int, float], QIcon] = {}

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        """Shrink the decoration to about one line of text; keep it visible when selected."""
        super().initStyleOption(option, index)
        side = max(16, option.fontMetrics.height())
        option.decorationSize = QSize(side, side)
        if option.state & QStyle.StateFlag.State_Selected and not option.icon.isNull():
            colour = option.palette.color(QPalette.ColorRole.HighlightedText)
            widget = option.widget
            dpr = widget.devicePixelRatioF() if widget is not None else 1.0
            option.icon = self.selected_icon(option.icon, side, colour, dpr)

    def selected_icon(self, base: QIcon, side: int, colour: QColor, dpr: float = 1.0) -> QIcon:
        """``base`` on a disc of ``colour``, for both the normal and the selected mode."""
        key = (base.cacheKey(), side, colour.rgba(), dpr)
        cached = self._selected.get(key)
        if cached is not None:
            return cached
        px = max(1, round(side * dpr))
        canvas = QPixmap(px, px)
        canvas.fill(Qt.GlobalColor.transparent)
        painter = QPainter(canvas)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(0, 0, px, px)
        inner = max(1, round(px * 0.8))
        offset = (px - inner) // 2
        painter.drawPixmap(offset, offset, base.pixmap(QSize(inner, inner)))
        painter.end()
        canvas.setDevicePixelRatio(dpr)
        out = QIcon()
        out.addPixmap(canvas, QIcon.Mode.Normal)
        out.addPixmap(canvas, QIcon.Mode.Selected)
        self._selected[key] = out
        return out


def elide_name(name: str, fm: QFontMetrics, width: int) -> str:
    """``name`` cut to ``width`` pixels with an ellipsis in the middle, its end kept first.

    Generated images often differ only in their numbering (``…-0041.jpg``, ``…-0042.jpg``):
    the last part of the name and its extension stay whole when they fit, else the end gets
    all the room but the name's first letter; the start of the name gets what is left.
    """
    if width <= 0:
        return ""
    if fm.horizontalAdvance(name) <= width:
        return name
    ellipsis = "…"
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    last = re.search(r"[^-_ .]*$", stem)
    tail = (stem[last.start() :] if last else "") + dot + ext
    room = width - fm.horizontalAdvance(ellipsis + name[:1])
    if not tail or tail == name or fm.horizontalAdvance(tail) > room:
        tail = fm.elidedText(
            name[1:], Qt.TextElideMode.ElideLeft, room + fm.horizontalAdvance(ellipsis)
        )
        tail = tail.removeprefix(ellipsis)
        if not tail:
            return fm.elidedText(name, Qt.TextElideMode.ElideRight, width)
    head_room = width - fm.horizontalAdvance(tail)
    head = fm.elidedText(name[: len(name) - len(tail)], Qt.TextElideMode.ElideRight, head_room)
    return head + tail if head.endswith(ellipsis) else ellipsis + tail


class AssetDelegate(QStyledItemDelegate):
    """The asset cell: the thumbnail, then the file name over the model's name, a line each.

    The file name keeps its end (:func:`elide_name`) and the model's name is cut at the right,
    each to the cell's text room, so the view's word wrap never breaks a name across lines.
    """

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        """Both lines cut to the text room of the cell."""
        super().initStyleOption(option, index)
        item = index.data(ItemRole)
        if not isinstance(item, AssetItem):
            return
        width = self._text_width(option)
        fm = option.fontMetrics
        name = elide_name(item.ref.path.name, fm, width)
        model = fm.elidedText(item.model_name, Qt.TextElideMode.ElideRight, width)
        # U+2028 is the line break item views draw ("\n" is turned into it only for model data).
        option.text = f"{name}\u2028{model}"

    @staticmethod
    def _text_width(option: QStyleOptionViewItem) -> int:
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, widget)
        # The style insets the text by this margin on both sides when it draws it.
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        return rect.width() - 2 * margin

    def shown_name(self, view: QAbstractItemView, index: QModelIndex) -> str:
        """The file name as the cell of ``index`` in ``view`` shows it now."""
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.rect = view.visualRect(index)
        option.decorationSize = view.iconSize()
        option.widget = view
        self.initStyleOption(option, index)
        return option.text.split("\u2028", 1)[0]
