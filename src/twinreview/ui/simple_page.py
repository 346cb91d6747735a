"""Simple mode, for a model reviewing her own twin: large images, plain words, two buttons."""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from twinreview.ui.compare_view import CompareView
from twinreview.ui.items import AssetItem
from twinreview.ui.page import item_at, row_of
from twinreview.ui.queue_model import QueueModel, QueueProxy
from twinreview.ui.window_texts import SimpleTexts


class SimplePage(QWidget):
    """Simple mode: one large image beside the best reference, two big buttons.

    Owns its queue (only the reviewer's own models, in workspace order) and its compare view;
    it has no selection of several assets (no batches here).

    Signals:
        current_changed(): another asset is current.
    """

    current_changed = Signal()

    def __init__(
        self,
        model: QueueModel,
        compare: CompareView,
        acts: dict[str, QAction],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._proxy = QueueProxy(self)
        self._proxy.setSourceModel(model)
        self._proxy.sort(-1)
        self._row = -1
        self.compare = compare
        self.header = QLabel()
        self.header.setWordWrap(True)
        font = self.header.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.header.setFont(font)
        self.status = QLabel()
        self.status.setWordWrap(True)
        # "This looks like you: a strong match with your photo studio-01.jpg" (the face check).
        self.likeness = QLabel()
        self.likeness.setWordWrap(True)
        self.likeness.setToolTip(
            "What the face check says: a help for your own judgement, not proof of who it is"
        )
        lfont = self.likeness.font()
        lfont.setPointSizeF(lfont.pointSizeF() * 1.2)
        lfont.setBold(True)
        self.likeness.setFont(lfont)
        row = QHBoxLayout()
        for name in ("previous", "approve", "reject", "next"):
            b = QToolButton()
            b.setDefaultAction(acts[name])
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            big = name in ("approve", "reject")
            b.setIconSize(QSize(40, 40) if big else QSize(24, 24))
            if big:
                f = b.font()
                f.setPointSizeF(f.pointSizeF() * 1.4)
                f.setBold(True)
                b.setFont(f)
                b.setMinimumWidth(220)
            b.setMinimumHeight(56)
            row.addWidget(b)
            if name == "previous":
                row.addStretch(1)
            if name == "reject":
                row.addStretch(1)
        # One plain sentence per warning or blocking finding, above the buttons.
        self.findings = QLabel()
        self.findings.setWordWrap(True)
        self.findings.setTextFormat(Qt.TextFormat.RichText)
        self.findings.setToolTip("What the checks found about this image, in plain words")
        ffont = self.findings.font()
        ffont.setPointSizeF(ffont.pointSizeF() * 1.2)
        self.findings.setFont(ffont)
        # Her images that went out, and whether her consent still covers them.
        self.where_went = QPushButton("Where your images went")
        self.where_went.setToolTip(
            "Every image of you that was published, and whether your consent still covers it"
        )
        if "published" in acts:
            self.where_went.clicked.connect(acts["published"].trigger)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.where_went, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(compare, 1)
        layout.addWidget(self.likeness)
        layout.addWidget(self.findings)
        layout.addWidget(self.status)
        layout.addLayout(row)

    def show_texts(self, texts: SimpleTexts) -> None:
        """The image's words: which one it is, what was found, where it stands."""
        self.header.setText(texts.header)
        # One plain sentence per line (hidden when there are none).
        self.findings.setText("<br>".join(f"⚠ {html.escape(t)}" for t in texts.sentences))
        self.findings.setVisible(bool(texts.sentences))
        self.status.setText(texts.status)

    # -- the page interface (:class:`~twinreview.ui.page.AssetPage`) ---------------------------

    @property
    def proxy(self) -> QueueProxy:
        """The reviewer's own assets, in workspace order."""
        return self._proxy

    @property
    def view(self) -> CompareView:
        """The large compare view."""
        return self.compare

    @property
    def row(self) -> int:
        """The current row of :attr:`proxy` (-1: none)."""
        return self._row

    def current_item(self) -> AssetItem | None:
        """The asset on screen."""
        return item_at(self._proxy, self._row)

    def select(self, rel: str) -> bool:
        """Make ``rel`` current; False when it is not one of the reviewer's assets."""
        row = row_of(self._proxy, rel)
        if row < 0:
            return False
        self._row = row
        self.current_changed.emit()
        return True

    def select_first(self) -> None:
        """Start at the first asset."""
        self._row = 0 if self._proxy.rowCount() else -1
        self.current_changed.emit()

    def step(self, delta: int) -> None:
        """Move by ``delta`` (clamped)."""
        n = self._proxy.rowCount()
        if n:
            self._row = max(0, min(n - 1, self._row + delta))
            self.current_changed.emit()

    def neighbour(self, delta: int) -> AssetItem | None:
        """The asset ``delta`` rows away."""
        return item_at(self._proxy, self._row + delta)

    def selected_items(self) -> list[AssetItem]:
        """No batches in simple mode."""
        return []
