"""The first screen: open, create or try a workspace; who you are on this computer."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from twinreview.ui.resources import app_icon


class WelcomePage(QScrollArea):
    """First screen when no workspace is open (scrolls rather than clips on a small window)."""

    def __init__(self, actions: Sequence[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        title = QLabel("<h1>twinreview</h1>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(QSize(96, 96)))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel(
            "Review AI-generated images of real people: compare each one with the person's real "
            "photos, check that it says it is AI-made, and sign your approval.\n\n"
            "Open a workspace folder, create one (you become its owner), or try the demo."
        )
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setMaximumWidth(560)
        # Centred by stretches, not by an alignment flag: a word-wrapped label placed with an
        # alignment gets its one-line height and is cut at the top and bottom.
        text_row = QHBoxLayout()
        text_row.addStretch(1)
        text_row.addWidget(self.text, 100)
        text_row.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for action in actions:
            b = QToolButton()
            b.setDefaultAction(action)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.setIconSize(QSize(32, 32))
            b.setMinimumHeight(48)
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.identity = QLabel()
        self.identity.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.identity.setWordWrap(True)
        self.identity.setToolTip("Who signs your decisions on this computer")
        self.recent = QLabel()
        self.recent.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.recent.setWordWrap(True)
        self.error = QLabel()
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.setWordWrap(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addStretch(1)
        layout.addWidget(logo)
        layout.addWidget(title)
        layout.addLayout(text_row)
        layout.addSpacing(16)
        layout.addLayout(buttons)
        layout.addWidget(self.identity)
        layout.addWidget(self.recent)
        layout.addWidget(self.error)
        layout.addStretch(2)
        self.setWidget(body)
