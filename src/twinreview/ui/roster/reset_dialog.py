"""Reset a model's key (the owner only): a key she did not sign herself speaks for her from then.

The same signed roster entry as ``twinreview roster reset``
(:meth:`~twinreview.services.roster_admin.RosterService.reset_model`). The screen says what
happens before anything is signed: everyone is told, her consent lapses until she signs it again,
and what she rejected before stays rejected. The key line is read as it is typed, with the same
parser as the command line, so a line naming somebody else is refused before signing.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from twinreview.core.roster.keyline import KeyLine, KeyLineError, parse_key_line, principal_for
from twinreview.ui.app_errors import app_message
from twinreview.ui.message_style import error_style
from twinreview.ui.roster.widgets import message_line, mono, say, wrap
from twinreview.ui.roster_view import PersonRow
from twinreview.ui.session import ReviewSession

#: The notice's colours: the workspace-wide warning of :mod:`twinreview.ui.log_notices`.
_NOTICE = (
    "QLabel { background: #fff4ce; color: #4d3800; border: 1px solid #e3c96b;"
    " border-radius: 4px; padding: 6px; }"
)


def consequences_html(name: str) -> str:
    """What a reset does, said before it is signed."""
    who = html.escape(name)
    return (
        "<b>What happens</b><ul>"
        f"<li>Everyone in this workspace is told that {who}'s key was reset by you, with the "
        "new key's code to check with her.</li>"
        f"<li>{who}'s consent lapses: none of her images can be approved until she signs it "
        "again with the new key.</li>"
        f"<li>{who}'s old key stops signing for her: what it signs from now on does not "
        "count (a lost laptop in other hands cannot speak for her).</li>"
        f"<li>The images {who} rejected before stay rejected.</li></ul>"
    )


class ResetKeyDialog(QDialog):
    """Give a model a new key that none of her own keys signed (the owner only).

    Args:
        session: The review session (signing).
        person: The model whose key is reset.
        parent: The roster screen.
    """

    def __init__(
        self, session: ReviewSession, person: PersonRow, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.person = person
        name = html.escape(person.name)
        self.setWindowTitle(f"Reset {person.name}'s key")
        intro = wrap(
            f"<h3>Reset {name}'s key</h3>Only when {name} lost every device with her key. Her "
            "new key is not signed by her old one, so nothing proves it is hers but you: check "
            "its code with her by phone or in person before you reset.",
            rich=True,
        )
        self.key_edit = QPlainTextEdit()
        self.key_edit.setFont(mono())
        self.key_edit.setPlaceholderText(
            f'{person.principal} namespaces="twinreview-*" ssh-ed25519 AAAA…'
        )
        self.key_edit.setToolTip("Her new key line, as she sent it from her new device")
        self.key_edit.setTabChangesFocus(True)
        self.key_edit.setFixedHeight(self.key_edit.fontMetrics().lineSpacing() * 3 + 14)
        self.key_edit.textChanged.connect(self._key_changed)
        #: The key's full code, or why the text is not her key.
        self.key_info = QLabel()
        self.key_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key_info.setWordWrap(True)
        #: What the reset does, in words, above the button that signs it.
        self.consequences = wrap(consequences_html(person.name), rich=True)
        self.consequences.setStyleSheet(_NOTICE)
        self.message = message_line()
        buttons = QDialogButtonBox()
        self.reset_button = buttons.addButton(
            f"&Reset {person.name}'s key", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.reset_button.setToolTip("Sign the reset with your key; everyone is shown it")
        self.reset_button.clicked.connect(self.reset)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.setToolTip("Close (Esc)")
        self.close_button.setDefault(True)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(QLabel("Her new key line:"))
        layout.addWidget(self.key_edit)
        layout.addWidget(self.key_info)
        layout.addWidget(self.consequences)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self._line: KeyLine | None = None
        self._key_changed()
        self.resize(max(640, self.sizeHint().width()), self.sizeHint().height())

    def _key_changed(self) -> None:
        text = self.key_edit.toPlainText()
        self._line = None
        problem: str | None = None
        if not text.strip():
            self.key_info.setStyleSheet("")
            self.key_info.setTextFormat(Qt.TextFormat.PlainText)
            self.key_info.setText("Her new key's code shows here.")
        else:
            try:
                line = parse_key_line(text)
                principal_for(line, self.person.principal)
            except KeyLineError as exc:
                problem = f"Not her key: {exc}."
            else:
                self._line = line
        if problem is not None:
            self.key_info.setStyleSheet(error_style())
            self.key_info.setTextFormat(Qt.TextFormat.PlainText)
            self.key_info.setText(problem)
        elif self._line is not None:
            self.key_info.setStyleSheet("")
            self.key_info.setTextFormat(Qt.TextFormat.RichText)
            self.key_info.setText(
                f"New key code: <tt>{html.escape(self._line.key.fingerprint)}</tt>"
            )
        self.reset_button.setEnabled(self._line is not None)

    def reset(self) -> None:
        """Sign the reset (the roster refuses what it must, in its words)."""
        if self._line is None:
            return
        self.reset_button.setEnabled(False)
        say(self.message, "Signing with your key…")
        name = self.person.name

        def done(fingerprint: object) -> None:
            if not isValid(self):  # closed meanwhile
                return
            say(
                self.message,
                f"Reset {name}'s key to {fingerprint}; signed with your key. Everyone is shown "
                f"it. Ask {name} to give her consent again from her new device.",
            )
            self.close_button.setDefault(True)

        def failed(message: str) -> None:
            if not isValid(self):
                return
            self.reset_button.setEnabled(self._line is not None)
            say(self.message, f"Not reset: {app_message(message)}", error=True)

        self.session.roster_action(
            self.session.backend.reset_model,
            self.person.principal,
            self.key_edit.toPlainText(),
            on_done=done,
            on_error=failed,
        )
