"""Add a person by their key: paste the line their identity copied, choose role and models.

The line is read with the same parser as ``twinreview roster add --key``
(:func:`twinreview.core.roster.keyline.parse_key_line`) as it is typed, so the e-mail address it
names and the key's full code show at once; adding is the same signed roster entry. What the roster
refuses (a key that belongs to someone else, a role or model it does not allow) is said in its
own words.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from twinreview.core.roster.keyline import KeyLine, KeyLineError, parse_key_line
from twinreview.ui.app_errors import app_message
from twinreview.ui.message_style import error_style
from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import message_line, mono, say, wrap
from twinreview.ui.session import ReviewSession

_ROLES = (
    ("agent", "Agent: signs off for the models they represent"),
    ("brand", "Brand: reviews for the brand"),
    ("model", "Model: reviews images of herself"),
)


class AddPersonDialog(QDialog):
    """Add someone to the signed roster with the key they sent (owner or admin).

    Args:
        session: The review session (its roster and signing).
        parent: The roster screen.
    """

    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        view = session.roster
        self.setWindowTitle("Add a person")
        intro = wrap(
            "<h3>Add a person by their key</h3>Paste the line they copied from their Identity "
            "(it starts with their e-mail address), or their <tt>ssh-ed25519</tt> key. Before "
            "you add them, check the key's code with them by phone or in person.",
            rich=True,
        )
        self.key_edit = QPlainTextEdit()
        self.key_edit.setFont(mono())
        self.key_edit.setPlaceholderText(
            'sam@agency.example namespaces="twinreview-*" ssh-ed25519 AAAA…'
        )
        self.key_edit.setToolTip("Their key line, as they sent it")
        self.key_edit.setTabChangesFocus(True)
        self.key_edit.setFixedHeight(self.key_edit.fontMetrics().lineSpacing() * 3 + 14)
        self.key_edit.textChanged.connect(self._key_changed)
        #: The key's full code, or why the text is not a key.
        self.key_info = QLabel()
        self.key_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key_info.setWordWrap(False)
        self.principal = QLineEdit()
        self.principal.setPlaceholderText("their e-mail address")
        self.principal.setToolTip("The name their signatures carry (filled in from their line)")
        self.display_name = QLineEdit()
        self.display_name.setPlaceholderText("their name, as others see it")
        self.display_name.setToolTip("Their name on the roster")
        self.role = QComboBox()
        for code, text in _ROLES:
            self.role.addItem(text, code)
        self.role.setToolTip("Which approvals they can give")
        self.model_boxes: dict[str, QCheckBox] = {}
        models = QHBoxLayout()
        names = view.models if view is not None else {}
        for mid, name in sorted(names.items(), key=lambda kv: kv[1].lower()):
            box = QCheckBox(name)
            box.setToolTip(f"They may decide for {name}")
            self.model_boxes[mid] = box
            models.addWidget(box)
        models.addStretch(1)
        self.admin = QCheckBox("They may change the roster and the rules too (admin)")
        self.admin.setToolTip("Only the owner appoints admins")
        self.admin.setVisible(view is not None and view.me is not None and view.me.owner)
        form = QFormLayout()
        form.addRow("Key", self.key_edit)
        form.addRow("", self.key_info)
        form.addRow("E-mail", self.principal)
        form.addRow("Name", self.display_name)
        form.addRow("Role", self.role)
        form.addRow("Models", models)
        form.addRow("", self.admin)
        self.message = message_line()
        buttons = QDialogButtonBox()
        self.add_button = buttons.addButton("&Add and sign", QDialogButtonBox.ButtonRole.ActionRole)
        self.add_button.setIcon(icon("approve"))
        self.add_button.setToolTip("Add them to the roster, signed with your key")
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self.add)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.setToolTip("Close (Esc)")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self._line: KeyLine | None = None
        self._filled = ""  # the e-mail address this dialog filled in from a line
        self._key_changed()
        self.resize(max(640, self.sizeHint().width()), self.sizeHint().height())

    def _key_changed(self) -> None:
        text = self.key_edit.toPlainText()
        self._line = None
        if not text.strip():
            self.key_info.setStyleSheet("")
            self.key_info.setText("Their key's code shows here.")
        else:
            try:
                self._line = parse_key_line(text)
            except KeyLineError as exc:
                self.key_info.setStyleSheet(error_style())
                self.key_info.setText(f"Not a key: {exc}")
            else:
                self.key_info.setStyleSheet("")
                self.key_info.setText(
                    f"Key code: <tt>{html.escape(self._line.key.fingerprint)}</tt>"
                )
                named = self._line.principal
                current = self.principal.text().strip()
                if named and (not current or current == self._filled):
                    self.principal.setText(named)
                    self._filled = named
        self.key_info.setTextFormat(
            Qt.TextFormat.RichText if self._line is not None else Qt.TextFormat.PlainText
        )
        self.key_info.adjustSize()
        self.add_button.setEnabled(self._line is not None)

    def chosen_models(self) -> list[str]:
        """The ticked model ids."""
        return [mid for mid, box in self.model_boxes.items() if box.isChecked()]

    def add(self) -> None:
        """Sign the new person into the roster (the roster refuses what it must)."""
        if self._line is None:
            return
        principal = self.principal.text().strip()
        role = str(self.role.currentData())
        if not principal and self._line.principal is None:
            say(self.message, "Enter their e-mail address.", error=True)
            return
        self.add_button.setEnabled(False)
        say(self.message, "Signing with your key…")
        who = principal or self._line.principal or ""

        def done(fingerprint: object) -> None:
            if not isValid(self):  # closed meanwhile
                return
            self.add_button.setEnabled(True)
            say(
                self.message,
                f"Added {who} with the key {fingerprint}; signed with your key. Tell them: "
                "they can now approve and reject here.",
            )
            self.close_button.setDefault(True)

        def failed(message: str) -> None:
            if not isValid(self):
                return
            self.add_button.setEnabled(True)
            say(self.message, f"Not added: {app_message(message)}", error=True)

        self.session.roster_action(
            self.session.backend.add_person,
            self.key_edit.toPlainText(),
            principal,
            self.display_name.text().strip(),
            role,
            tuple(self.chosen_models()),
            self.admin.isChecked() and self.admin.isVisible(),
            on_done=done,
            on_error=failed,
        )
