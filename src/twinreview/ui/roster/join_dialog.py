"""Joining a workspace: choose models, write the signed join request."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QVBoxLayout, QWidget
from shiboken6 import isValid

from twinreview.ui.app_errors import app_message
from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import ROLE_WORDS, message_line, say, wrap
from twinreview.ui.session import ReviewSession


class JoinDialog(QDialog):
    """Choose the models to review; writes a join request signed with this device's key."""

    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        view = session.roster
        identity = session.identity
        assert view is not None
        assert identity is not None
        self.setWindowTitle("Join this workspace")
        role = ROLE_WORDS.get(identity.role, identity.role).lower()
        intro = wrap(
            f"<h3>Join “{html.escape(view.name)}”</h3>"
            f"You ask to review here as <b>{html.escape(identity.display_name)}</b> "
            f"&lt;{html.escape(identity.principal)}&gt;, {html.escape(role)} (the role your key "
            "was made for). The request is signed with your key and saved in the workspace "
            f"folder; the owner, {html.escape(view.person_name(view.owner))}, approves it.",
            rich=True,
        )
        question = wrap(
            "Which models are you a model for? Choose only yourself."
            if identity.role == "model"
            else "Which models do you review?"
        )
        self.models: dict[str, QCheckBox] = {}
        box = QVBoxLayout()
        for mid, name in sorted(view.models.items(), key=lambda kv: kv[1].lower()):
            cb = QCheckBox(f"{name} ({mid})" if name != mid else mid)
            cb.setToolTip(f"Ask to decide for model {mid}")
            self.models[mid] = cb
            box.addWidget(cb)
        if not self.models:
            box.addWidget(wrap("This workspace has no models yet."))
        self.message = message_line()
        buttons = QDialogButtonBox()
        self.send_button = buttons.addButton(
            "Send my request", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.send_button.setIcon(icon("identity"))
        self.send_button.setToolTip("Sign the join request with your key and save it")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button.setToolTip("Close without asking to join (Esc)")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(question)
        layout.addLayout(box)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())

    def chosen(self) -> list[str]:
        """The ticked model ids."""
        return [mid for mid, cb in self.models.items() if cb.isChecked()]

    def send(self) -> None:
        """Write the signed request."""
        models = self.chosen()
        if not models:
            say(self.message, "Tick at least one model.", error=True)
            return
        self.send_button.setEnabled(False)

        def done(name: object) -> None:
            if not isValid(self):  # closed meanwhile
                return
            say(
                self.message,
                f"Your request is signed and saved (roster/requests/{name}). The owner approves "
                "it in their app; then you can approve and reject here.",
            )
            self.send_button.hide()
            self.close_button.setText("Close")

        def failed(message: str) -> None:
            if not isValid(self):
                return
            self.send_button.setEnabled(True)
            say(self.message, f"Not sent: {app_message(message)}", error=True)

        self.session.roster_action(
            self.session.backend.request_join, tuple(models), on_done=done, on_error=failed
        )
