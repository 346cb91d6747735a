"""Simple mode, for a model reviewing her own twin: large images, plain words, two buttons."""

from __future__ import annotations

import html

import shiboken6
from PySide6.QtCore import QSize, Qt, QTimer, Signal
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

#: Simple mode's sentences, against the app's font size.
SENTENCE_SCALE = 1.3


def _label(scale: float, *, bold: bool = False) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(bold)
    label.setFont(font)
    return label


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
        #: The image on screen, by its rel: a queue that changes under it never swaps it.
        self._rel: str | None = None
        #: The name of the image that was on screen when its file went (None: none went).
        self.gone: str | None = None
        # The proxy drops a row before its source has: look once the removal is over.
        self._following = False
        for sig in (self._proxy.rowsRemoved, self._proxy.rowsInserted, self._proxy.modelReset):
            sig.connect(self._follow_soon)
        self._proxy.layoutChanged.connect(self._follow_soon)
        self.compare = compare
        # Every sentence large, not only the buttons; the reason not to approve first and bold.
        self.header = _label(SENTENCE_SCALE)
        # One plain sentence per warning or blocking finding, above the face check's.
        self.findings = _label(SENTENCE_SCALE, bold=True)
        self.findings.setTextFormat(Qt.TextFormat.RichText)
        self.findings.setToolTip("What the checks found about this image, in plain words")
        # "This looks like you: a strong match with your photo studio-01.jpg" (the face check).
        self.likeness = _label(SENTENCE_SCALE)
        self.likeness.setToolTip(
            "What the face check says: a help for your own judgement, not proof of who it is"
        )
        self.status = _label(SENTENCE_SCALE)
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
        layout.addWidget(self.findings)
        layout.addWidget(self.likeness)
        layout.addWidget(self.status)
        layout.addLayout(row)

    def show_texts(self, texts: SimpleTexts) -> None:
        """The image's words: which one it is, what was found, where it stands."""
        self.header.setText(texts.header)
        # One plain sentence per line (hidden when there are none).
        self.findings.setText("<br>".join(f"⚠ {html.escape(t)}" for t in texts.sentences))
        self.findings.setVisible(bool(texts.sentences))
        self.status.setText(texts.status)
        self.status.setVisible(bool(texts.status))

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
        """The asset on screen (None once it is gone from the folder)."""
        item = item_at(self._proxy, self._row) if self._rel is not None else None
        return item if item is not None and item.rel == self._rel else None

    def is_empty(self) -> bool:
        """No image, and none went from under her (that notice stays until she moves on)."""
        return self._rel is None and self.gone is None

    def select(self, rel: str) -> bool:
        """Make ``rel`` current; False when it is not one of the reviewer's assets."""
        row = row_of(self._proxy, rel)
        if row < 0:
            return False
        self._set(row)
        return True

    def select_first(self) -> None:
        """Start at the first asset."""
        self._set(0 if self._proxy.rowCount() else -1)

    def step(self, delta: int) -> None:
        """Move by ``delta`` (clamped); once the image on screen went, +1 is the one in its row."""
        n = self._proxy.rowCount()
        if n:
            self._set(max(0, min(n - 1, self._target(delta))))

    def neighbour(self, delta: int) -> AssetItem | None:
        """The asset ``delta`` rows away."""
        return item_at(self._proxy, self._target(delta))

    def selected_items(self) -> list[AssetItem]:
        """No batches in simple mode."""
        return []

    def _target(self, delta: int) -> int:
        if self._rel is None and self._row >= 0 and delta > 0:
            return self._row + delta - 1  # the next image has moved into the gone one's row
        return self._row + delta

    def _set(self, row: int) -> None:
        self.gone = None
        item = item_at(self._proxy, row)
        self._row = row if item is not None else -1
        self._rel = item.rel if item is not None else None
        self.current_changed.emit()

    def _follow_soon(self) -> None:
        if not self._following:
            self._following = True
            QTimer.singleShot(0, self._follow)

    def _follow(self) -> None:
        """Keep the image on screen when the queue changes; say so when it went."""
        if not shiboken6.isValid(self):
            return  # deleted before this deferred turn came
        self._following = False
        if self._rel is None:
            return
        row = row_of(self._proxy, self._rel)
        if row >= 0:
            self._row = row
            return
        source = self._proxy.sourceModel()
        if isinstance(source, QueueModel) and any(
            source.item_at(r).rel == self._rel for r in range(source.rowCount())
        ):
            self.select_first()  # still there, but not hers (the roster named her models)
            return
        # Gone (deleted, moved): nothing is current, so no key acts on an image she has not
        # seen; Next shows the one that took its place.
        name = self._rel.rsplit("/", 1)[-1]
        self.gone = name
        self._rel = None
        self._row = min(self._row, self._proxy.rowCount())
        self.header.setText(f"{name} was moved or deleted. Press Next for the next image.")
        for label in (self.findings, self.likeness, self.status):
            label.hide()
        self.current_changed.emit()
