"""Where published images stand: the Published view, and simple mode's "where your images went".

Both show ``services.publish.register.published_report`` (read off the GUI thread by the session's
backend): every file the signed logs say went out, out of consent first, with the reasons in
plain words. :class:`PublishedDialog` is the table for the brand and the agent;
:class:`WhereWentDialog` is the model's own list in simple mode: only her images, large text,
what to do about each.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from twinreview.ui.message_style import error_colour, ok_colour, warn_colour
from twinreview.ui.roster_view import date_words

_Index = QModelIndex | QPersistentModelIndex
STATE_WORDS = {
    "out_of_consent": "Out of consent",
    "take_down_by": "Take it down by",
    "in_consent": "In consent",
}
_STATE_COLOURS = {
    "out_of_consent": QColor("#f8d7d4"),
    "take_down_by": QColor("#fbe9c8"),
    "in_consent": QColor("#d9efdf"),
}
COLUMNS: tuple[tuple[str, str], ...] = (
    ("State", "In consent, take it down by a date, or out of consent"),
    ("Published file", "The file that went out, relative to its output folder"),
    ("Model", "Who is in it"),
    ("Published", "When, and by whom (their signed published entry)"),
    ("Why", "What changed since it went out"),
)


def state_text(row: Mapping[str, Any]) -> str:
    """``Out of consent``, ``Take it down by 30 June 2027``, ``In consent``."""
    state = str(row.get("state", ""))
    text = STATE_WORDS.get(state, state)
    if state == "take_down_by" and row.get("take_down_by"):
        text += f" {date_words(str(row['take_down_by']))}"
    return text


class PublishedModel(QAbstractTableModel):
    """One row per published file (``Judgement.to_json()``), as the report lists them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Mapping[str, Any]] = []

    def set_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_data(self, row: int) -> Mapping[str, Any]:
        """The published file's record at ``row``."""
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Rows (none under a valid parent: a flat table)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Columns."""
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text and tooltip, the state's colour, and the sort key (``UserRole``)."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._cell(row, col, tip=role == Qt.ItemDataRole.ToolTipRole)
        if role == Qt.ItemDataRole.BackgroundRole and col == 0:
            colour = _STATE_COLOURS.get(str(row.get("state")))
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.ForegroundRole and col == 0:
            return QBrush(QColor("#1b1b1b"))
        if role == Qt.ItemDataRole.UserRole:
            return _ORDER.get(str(row.get("state")), 9) if col == 0 else self._cell(row, col)
        return None

    @staticmethod
    def _cell(row: Mapping[str, Any], col: int, *, tip: bool = False) -> str:
        if col == 0:
            return state_text(row)
        if col == 1:
            out = str(row.get("output", ""))
            return f"{out}\nfrom {row.get('asset', '')}" if tip else out
        if col == 2:
            return str(row.get("person") or row.get("model") or "")
        if col == 3:
            when = date_words(str(row.get("published_at") or ""))
            return f"{when}, by {row.get('published_by', '')}"
        reasons = [str(r) for r in row.get("reasons") or ()]
        return ("\n" if tip else " ").join(reasons)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles and their tooltips."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][1]
        return None


_ORDER = {"out_of_consent": 0, "take_down_by": 1, "in_consent": 2}


def summary_text(doc: Mapping[str, Any]) -> str:
    """``3 published: 1 out of consent, ...`` for a heading."""
    counts = doc.get("counts") or {}
    total = len(doc.get("published") or ())
    if not total:
        return "Nothing has been published from this workspace yet."
    return (
        f"{total} published: {counts.get('out_of_consent', 0)} out of consent, "
        f"{counts.get('take_down_by', 0)} to take down within 30 days, "
        f"{counts.get('in_consent', 0)} in consent."
    )


class PublishedDialog(QDialog):
    """Every published file and where it stands now (the Published view).

    Args:
        load: Starts reading the list off the GUI thread; calls back with
            ``PublishedReport.to_json()``, or with an error message.
    """

    def __init__(
        self,
        load: Callable[[Callable[[Mapping[str, Any]], None], Callable[[str], None]], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Published files")
        self.heading = QLabel("Reading the signed logs…")
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.heading.setFont(font)
        self.model = PublishedModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Every file that went out, out of consent first")
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setMinimumHeight(self.detail.fontMetrics().lineSpacing() * 5)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table.selectionModel().currentRowChanged.connect(self._show_detail)
        self.note = QLabel(
            "Each file is a signed ‘published’ entry in its publisher's log; the state is judged "
            "against the model's consent and the approvals now. The same list: "
            "'twinreview published WS'."
        )
        self.note.setWordWrap(True)
        # Muted, and readable in a dark theme too (the dark shade is the background's there).
        self.note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.resize(1000, 520)
        #: The last list read (tests read it).
        self.document: Mapping[str, Any] | None = None
        load(self.show_document, self.show_error)

    def show_document(self, doc: Mapping[str, Any]) -> None:
        """Show a ``PublishedReport.to_json()``."""
        self.document = doc
        self.heading.setText(summary_text(doc))
        self.model.set_rows(list(doc.get("published") or ()))
        self.table.resizeRowsToContents()
        if self.proxy.rowCount():
            self.table.selectRow(0)

    def show_error(self, message: str) -> None:
        """The list could not be read."""
        self.heading.setText(f"The published files cannot be listed: {message}")

    def _show_detail(self, current: QModelIndex, _: QModelIndex) -> None:
        if not current.isValid():
            self.detail.clear()
            return
        row = self.model.row_data(self.proxy.mapToSource(current).row())
        reasons = "".join(f"<li>{html.escape(str(r))}</li>" for r in row.get("reasons") or ())
        self.detail.setText(
            f"<b>{html.escape(state_text(row))}</b>: {html.escape(str(row.get('output')))} "
            f"(reviewed as {html.escape(str(row.get('asset')))}; sha256 "
            f"{html.escape(str(row.get('output_sha256', ''))[:16])}…)"
            + (f"<ul>{reasons}</ul>" if reasons else "")
        )


class WhereWentDialog(QDialog):
    """Simple mode's "where your images went": her own published images, in plain words.

    Args:
        models: Her model ids: only their images are listed.
        load: As for :class:`PublishedDialog`.
    """

    def __init__(
        self,
        models: Sequence[str],
        load: Callable[[Callable[[Mapping[str, Any]], None], Callable[[str], None]], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Where your images went")
        self._models = set(models)
        self.heading = QLabel("Looking…")
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        self.heading.setFont(font)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        bfont = self.body.font()
        bfont.setPointSizeF(bfont.pointSizeF() * 1.25)
        self.body.setFont(bfont)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.body)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        self.resize(820, 620)
        self.rows: list[Mapping[str, Any]] = []
        load(self.show_document, self.show_error)

    def show_document(self, doc: Mapping[str, Any]) -> None:
        """Her images of ``PublishedReport.to_json()``, out of consent first."""
        rows = [r for r in doc.get("published") or () if r.get("model") in self._models]
        self.rows = sorted(rows, key=lambda r: _ORDER.get(str(r.get("state")), 9))
        out = sum(1 for r in self.rows if r.get("state") == "out_of_consent")
        if not self.rows:
            self.heading.setText("None of your images has been published yet.")
            self.body.setText("")
            return
        self.heading.setText(
            f"{len(self.rows)} of your images went out."
            + (
                f" {out} of them {'is' if out == 1 else 'are'} no longer covered by your "
                f"consent: ask for {'it' if out == 1 else 'them'} to be taken down."
                if out
                else " All of them are covered by your consent."
            )
        )
        parts = []
        for r in self.rows:
            state = str(r.get("state"))
            colour = {"out_of_consent": error_colour(), "take_down_by": warn_colour()}.get(
                state, ok_colour()
            )
            what = {
                "out_of_consent": "Not covered by your consent any more",
                "take_down_by": "Covered until "
                + date_words(str(r.get("take_down_by") or ""))
                + ": it must come down then",
                "in_consent": "Covered by your consent",
            }.get(state, state)
            when = date_words(str(r.get("published_at") or ""))
            # Said to her ("You withdrew ..."); never the publisher's e-mail address.
            told = r.get("reasons_to_model") or r.get("reasons") or ()
            reasons = "".join(f"<li>{html.escape(str(x))}</li>" for x in told)
            by = str(r.get("published_by_name") or "")
            parts.append(
                f'<p><b style="color:{colour}">{html.escape(what)}</b><br>'
                f"{html.escape(str(r.get('output')))}, published on {html.escape(when)}"
                + (f" by {html.escape(by)}" if by else "")
                + (f"<ul>{reasons}</ul>" if reasons and state == "out_of_consent" else "")
                + "</p>"
            )
        self.body.setText("".join(parts))

    def show_error(self, message: str) -> None:
        """The list could not be read."""
        self.heading.setText("Where your images went cannot be shown right now.")
        self.body.setText(html.escape(message))
