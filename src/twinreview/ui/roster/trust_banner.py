"""The line above the review pages about who may sign here, with the action that fixes it."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QWidget

from twinreview.ui.resources import icon
from twinreview.ui.roster.trust_dialog import mismatch_text
from twinreview.ui.roster.widgets import wrap
from twinreview.ui.roster_view import MISMATCH, UNPINNED, consent_sentence
from twinreview.ui.session import ReviewSession

#: Banner colours per kind: background, text, border.
_BANNER_STYLES = {
    "error": ("#fde7e9", "#5f1410", "#d9a2a2"),
    "warn": ("#fff4ce", "#4d3800", "#e3c96b"),
    "info": ("#e5f1fb", "#0b3558", "#9cc3e6"),
}


class TrustBanner(QFrame):
    """A line above the review pages about who may sign here, with the action that fixes it.

    Shown for: an owner other than the pinned one (a hard error, no action), an owner not yet
    trusted (Check and trust), no signed roster (Make me the owner), the identity not on the
    roster (Join this workspace), a model who has not consented (Give my consent).

    Signals:
        trust_requested(), owner_requested(), join_requested(), consent_requested(str).
    """

    trust_requested = Signal()
    owner_requested = Signal()
    join_requested = Signal()
    consent_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trust_banner")
        self.kind = ""
        self.label = wrap(rich=True, selectable=True)
        self.trust_button = QPushButton(icon("approve"), "Check and &trust…")
        self.trust_button.setToolTip("See the owner's key code, check it with them, trust it")
        self.trust_button.clicked.connect(self.trust_requested.emit)
        self.owner_button = QPushButton(icon("identity"), "Make me the &owner")
        self.owner_button.setToolTip(
            "Create this workspace's signed roster with your key as its owner"
        )
        self.owner_button.clicked.connect(self.owner_requested.emit)
        self.join_button = QPushButton(icon("identity"), "&Join this workspace…")
        self.join_button.setToolTip("Ask the owner to add you (a request signed with your key)")
        self.join_button.clicked.connect(self.join_requested.emit)
        self.consent_button = QPushButton(icon("approve"), "Give my &consent…")
        self.consent_button.setToolTip("Say which uses of your images you allow, and until when")
        self._consent_model = ""
        self.consent_button.clicked.connect(
            lambda: self.consent_requested.emit(self._consent_model)
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.label, 1)
        self._buttons = (
            self.trust_button,
            self.owner_button,
            self.join_button,
            self.consent_button,
        )
        for b in self._buttons:
            layout.addWidget(b, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hide()

    def show_for(self, session: ReviewSession) -> None:
        """Show what matters for the open workspace, or hide."""
        trust, view, identity = session.trust, session.roster, session.identity
        has_key = identity is not None and session.read_only_reason is None
        shown: QPushButton | None = None
        style, text = "", ""
        if session.workspace is None or trust is None:
            pass
        elif trust.state == MISMATCH:
            style, text = "error", mismatch_text(trust)
        elif trust.state == "error":
            style, text = "error", html.escape(trust.message)
        elif trust.state == "no_roster":
            style = "warn"
            text = (
                "<b>This workspace has no signed roster yet</b>, so nobody can approve or reject "
                "here. If it is yours, make yourself its owner: your key then signs who may "
                "decide."
            )
            if has_key:
                shown = self.owner_button
            else:
                text += " (Create your identity first.)"
        elif trust.state == UNPINNED:
            style = "warn"
            text = (
                "<b>You have not trusted this workspace's owner on this device</b>, so you "
                f"cannot approve or reject here. Owner: {html.escape(trust.owner or '?')}, key "
                f"<tt>{html.escape(trust.owner_fingerprint or '?')}</tt>."
            )
            shown = self.trust_button
        elif view is not None and view.exists and not view.ok:
            style = "error"
            text = (
                "<b>The signed roster is damaged</b>: nothing can be signed here. "
                + html.escape(view.problems[0] if view.problems else "")
            )
        elif view is not None and identity is not None and view.me is None:
            style = "info"
            if view.my_request is not None:
                text = (
                    "You asked to join this workspace; your request is waiting for the owner "
                    f"({html.escape(view.person_name(view.owner))}) to approve it."
                )
            else:
                text = (
                    "You are not on this workspace's roster, so you cannot approve or reject here."
                )
                shown = self.join_button if has_key else None
        elif view is not None:
            waiting = [
                m
                for m in view.my_consent_models
                if view.consents.get(m) is None or view.consents[m].withdrawn
            ]
            if waiting:
                style = "info"
                self._consent_model = waiting[0]
                text = html.escape(
                    consent_sentence(
                        view.consents.get(waiting[0]), view.model_name(waiting[0]), you=True
                    )
                )
                shown = self.consent_button if has_key else None
        for b in self._buttons:
            b.setVisible(b is shown)
        self.kind = style
        if not style:
            self.hide()
            return
        bg, fg, border = _BANNER_STYLES[style]
        self.setStyleSheet(
            f"#trust_banner {{ background: {bg}; border: 1px solid {border}; border-radius: 4px; }}"
        )
        self.label.setStyleSheet(f"color: {fg}; background: transparent;")
        self.label.setText(text)
        self.show()
