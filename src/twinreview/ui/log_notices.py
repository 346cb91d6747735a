"""A line above the review pages about the logs themselves: what is missing, what was reset.

Two things every reviewer must see, in plain words:

- this computer signed decisions (or roster changes) that the workspace no longer holds: someone
  cut a log short, put back an older copy or deleted it. What depends on them is blocked; the
  computer kept a copy of everything it signed, and one button puts the lines back, byte for byte
  (``twinreview verify --restore``);
- the owner reset a model's key: a key she did not sign speaks for her from then on. Everyone is
  told, with the new key's fingerprint to check with her.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from twinreview.ui.resources import icon
from twinreview.ui.session import ReviewSession

# background, text, border
_STYLES = {
    "error": ("#fde7e9", "#5f1410", "#d9a2a2"),
    "warn": ("#fff4ce", "#4d3800", "#e3c96b"),
}


class LogNotices(QFrame):
    """What the open workspace's logs need the reviewer to know, with the fix when there is one.

    Signals:
        restore_requested(): the reviewer asked to put back what this computer signed.
    """

    restore_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("log_notices")
        self.kind = ""
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.restore_button = QPushButton(icon("history"), "&Put back what I signed")
        self.restore_button.setToolTip(
            "Put the entries this computer signed back into the workspace, exactly as signed"
        )
        self.restore_button.clicked.connect(self.restore_requested.emit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.restore_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hide()

    def show_for(self, session: ReviewSession) -> None:
        """Show what matters for the open workspace, or hide."""
        parts: list[str] = []
        style = ""
        restorable = session.workspace is not None and session.restorable
        if restorable:
            style = "error"
            parts.append(
                "<b>Decisions you signed are missing from this workspace.</b> Someone cut a log "
                "short, put back an older copy or deleted it; what depends on them is blocked. "
                "This computer kept a copy of everything you signed: put it back."
            )
        if session.workspace is not None:
            for notice in session.notices:
                style = style or "warn"
                parts.append(f"<b>Key reset.</b> {html.escape(notice)}.")
        self.restore_button.setVisible(restorable)
        self.kind = style
        if not style:
            self.hide()
            return
        bg, fg, border = _STYLES[style]
        self.setStyleSheet(
            f"#log_notices {{ background: {bg}; border: 1px solid {border}; border-radius: 4px; }}"
        )
        self.label.setStyleSheet(f"color: {fg}; background: transparent;")
        self.label.setText("<br>".join(parts))
        self.show()
