"""What the roster, trust, join and consent screens share: labels, message lines, a table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QWidget

from twinreview.ui.message_style import error_style, ok_style

ROLE_WORDS = {"model": "Model", "agent": "Agent", "brand": "Brand"}

_Index = QModelIndex | QPersistentModelIndex


def mono(size_factor: float = 1.0) -> QFont:
    """The system's fixed-width font, scaled by ``size_factor``."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    if size_factor != 1.0:
        font.setPointSizeF(font.pointSizeF() * size_factor)
    return font


def wrap(text: str = "", *, rich: bool = False, selectable: bool = False) -> QLabel:
    """A word-wrapped label (plain text unless ``rich``)."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def key_label() -> QLabel:
    """A line for key codes: fixed-width, never wrapped or cut, selectable to copy."""
    label = QLabel()
    label.setFont(mono())
    label.setWordWrap(False)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setToolTip("The key's code: read it out to them and compare it exactly")
    return label


def say(label: QLabel, text: str, *, error: bool = False) -> None:
    """Show ``text`` on a message line, in the error colour when ``error``."""
    label.setStyleSheet(error_style() if error else ok_style())
    label.setText(text)


def message_line() -> QLabel:
    """A line for results and refusals; its room is kept so the dialog never re-lays out."""
    label = wrap(selectable=True)
    label.setMinimumHeight(label.fontMetrics().lineSpacing() * 2 + 4)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


# -- a small read-only table model ---------------------------------------------------------------


class RowsModel(QAbstractTableModel):
    """Rows of text for a table view; each row keeps the object it shows (``UserRole``).

    Args:
        headers: Column titles.
        tips: Column tooltips (what the column means).
    """

    def __init__(
        self, headers: Sequence[str], tips: Sequence[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._headers = list(headers)
        self._tips = list(tips)
        self._rows: list[tuple[object, tuple[str, ...]]] = []

    def set_rows(self, rows: Sequence[tuple[object, Sequence[str]]]) -> None:
        """Replace every row: ``(object, cell texts)``."""
        self.beginResetModel()
        self._rows = [(obj, tuple(cells)) for obj, cells in rows]
        self.endResetModel()

    def row_object(self, row: int) -> object:
        """The object of ``row``."""
        return self._rows[row][0]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Rows (none under a valid parent: a flat table)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Columns."""
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text, its tooltip, or the row's object (``UserRole``)."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        obj, cells = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            col = index.column()
            return cells[col] if 0 <= col < len(cells) else None
        if role == Qt.ItemDataRole.UserRole:
            return obj
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles and their tooltips."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._headers):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._headers[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tips[section] if section < len(self._tips) else None
        return None


def make_table(model: RowsModel, tip: str) -> tuple[QTableView, QSortFilterProxyModel]:
    """A sortable, read-only, row-selecting table over ``model`` (and its proxy)."""
    proxy = QSortFilterProxyModel(model)
    proxy.setSourceModel(model)
    proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    view = QTableView()
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    view.setWordWrap(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    view.setToolTip(tip)
    return view, proxy
