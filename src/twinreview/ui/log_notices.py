"""A line above the review pages about the logs themselves: what is missing, what was reset.

Two things every reviewer must see, in plain words:

- this computer signed decisions (or roster changes) that the workspace no longer holds: someone
  cut a log short, put back an older copy or deleted it. What depends on them is blocked; the
  computer kept a copy of everything it signed, and one button puts the lines back, byte for byte
  (``twinreview verify --restore``);
- the owner reset a model's key: a key she did not sign speaks for her from then on. Everyone is
  told, with the new key's fingerprint to check with her.

And, outside simple mode, each copy of a log that a file sync left (a conflicted copy, a renamed or
moved file): merged, so nothing is lost, and named so that someone keeps one copy of each log.

In simple mode the model is told only what is hers, in her words: never another model's name,
never key, log or workspace.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from twinreview.core.roster.keyline import KeyLineError, parse_key_line
from twinreview.ui.resources import icon
from twinreview.ui.roster_view import ResetInfo, date_words
from twinreview.ui.session import ReviewSession
from twinreview.ui.simple_page import SENTENCE_SCALE

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

    def show_for(self, session: ReviewSession, *, simple: bool = False) -> None:
        """Show what matters for the open workspace, or hide; ``simple``: to the model."""
        parts: list[str] = []
        style = ""
        restorable = session.workspace is not None and session.restorable
        if restorable:
            style = "error"
            parts.append(_SIMPLE_MISSING if simple else _MISSING)
        if session.workspace is not None:
            notices = _her_resets(session) if simple else session.notices
            for notice in notices:
                style = style or "warn"
                parts.append(notice if simple else f"<b>Key reset.</b> {html.escape(notice)}.")
            if not simple:
                # Merged, so nothing is lost; said so that someone keeps one copy of each log.
                for copy in session.sync_copies:
                    style = style or "warn"
                    parts.append(f"<b>Sync copy.</b> {html.escape(copy)}.")
        self.restore_button.setVisible(restorable)
        # Simple mode's sentences are large; so is what this line tells her.
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * (SENTENCE_SCALE if simple else 1.0))
        self.label.setFont(font)
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


_MISSING = (
    "<b>Decisions you signed are missing from this workspace.</b> Someone cut a log "
    "short, put back an older copy or deleted it; what depends on them is blocked. "
    "This computer kept a copy of everything you signed: put it back."
)
_SIMPLE_MISSING = (
    "<b>Decisions you made are missing.</b> Someone removed them or put back an older copy; "
    "until they are back, the images they were about are on hold. This computer kept a copy of "
    "everything you decided: put it back."
)


def _her_resets(session: ReviewSession) -> list[str]:
    """The resets of the model on this device, in her words (another model's are not hers)."""
    identity, view = session.identity, session.roster
    if identity is None or view is None:
        return []
    try:
        mine: str | None = parse_key_line(identity.allowed_signers_line).key.fingerprint
    except KeyLineError:
        mine = None
    return [_reset_words(r, mine) for r in view.resets if r.principal == identity.principal]


def _reset_words(reset: ResetInfo, fingerprint: str | None) -> str:
    when = html.escape(date_words(reset.date))
    if fingerprint is not None and fingerprint in reset.fingerprints:
        head = f"<b>This computer signs for you now.</b> The owner set it up on {when}."
    elif fingerprint is not None:
        head = (
            f"<b>Another computer was set up to sign for you</b> on {when}, by the owner. "
            "If you did not ask for this, tell your agent at once."
        )
    else:
        head = (
            f"<b>A new computer was set up to sign for you</b> on {when}, by the owner. If you "
            "did not ask for this, tell your agent."
        )
    return (
        f"{head} Your consent from before no longer counts: give it again (Menu › My consent). "
        "Images you rejected before stay rejected."
    )
