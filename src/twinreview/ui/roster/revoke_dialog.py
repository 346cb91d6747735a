"""Revoke one key of a person: which key (its full code), and what revoking means.

The dialog only asks; the roster screen signs the revocation when it is accepted.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import mono, wrap
from twinreview.ui.roster_view import PersonRow


class RevokeKeyDialog(QDialog):
    """Choose one of ``person``'s keys to revoke; ``accepted`` means Revoke.

    Args:
        person: Whose key.
        parent: The roster screen.
    """

    def __init__(self, person: PersonRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.person = person
        self.setWindowTitle("Revoke a key")
        who = (
            f"{person.name} <{person.principal}>"
            if person.name != person.principal
            else (person.principal)
        )
        intro = wrap(
            f"<h3>Revoke a key of {html.escape(who)}</h3>"
            "A revoked key never signs here again: what it signs after this device last read "
            "its log does not count; its earlier decisions keep counting. They stay on the "
            "roster; add their new key afterwards.",
            rich=True,
        )
        self.keys = QButtonGroup(self)
        self._boxes: list[QRadioButton] = []
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        for fp in person.keys:
            box = QRadioButton(fp)
            box.setFont(mono())
            box.setToolTip("The key's code: compare it with the device it is on")
            self.keys.addButton(box)
            self._boxes.append(box)
            layout.addWidget(box)
        if self._boxes:
            self._boxes[0].setChecked(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.revoke_button = buttons.addButton(
            "Re&voke this key", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.revoke_button.setIcon(icon("reject"))
        self.revoke_button.setToolTip("Sign the revocation with your key")
        self.revoke_button.setEnabled(bool(self._boxes))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(max(560, self.sizeHint().width()), self.sizeHint().height())

    def chosen(self) -> str | None:
        """The fingerprint chosen."""
        for box in self._boxes:
            if box.isChecked():
                return box.text()
        return None
