"""Trust on first use: the owner's key code to check, Trust or Not now; the owner-changed text."""

from __future__ import annotations

import html

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import mono, wrap
from twinreview.ui.roster_view import TrustInfo


class TrustDialog(QDialog):
    """Asked once when this device has not pinned the workspace's owner: Trust / Not now.

    ``accepted`` means Trust: the caller pins :attr:`info`'s fingerprint (and nothing else: if
    the roster's owner changed meanwhile, the service refuses).
    """

    def __init__(self, info: TrustInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = info
        owner = info.owner or "the owner"
        name = info.workspace_name or "this workspace"
        self.setWindowTitle("Trust this workspace?")
        title = wrap(f"<h3>Do you trust the owner of “{html.escape(name)}”?</h3>", rich=True)
        intro = wrap(
            "Who may approve images here, and the workspace's rules, are signed by the "
            "workspace's owner; each model signs her own consent with her own key. Anyone who "
            "can write to this folder could put their own list there, so twinreview asks you "
            "once to confirm who the owner is."
        )
        shown = f"{info.owner_name} <{owner}>" if info.owner_name else owner
        who = wrap(
            f"Owner: <b>{html.escape(shown)}</b><br>Their key's code:", rich=True, selectable=True
        )
        self.code = QLineEdit(info.owner_fingerprint or "")
        self.code.setReadOnly(True)
        self.code.setFont(mono(1.15))
        self.code.setToolTip("The owner key's fingerprint; read it out and compare it exactly")
        self.code.setMinimumWidth(self.code.fontMetrics().horizontalAdvance(self.code.text()) + 24)
        self.copy = QPushButton(icon("copy"), "Copy")
        self.copy.setToolTip("Copy the code to the clipboard")
        self.copy.clicked.connect(self._copy)
        code_row = QHBoxLayout()
        code_row.addWidget(self.code, 1)
        code_row.addWidget(self.copy)
        self.check = wrap(
            f"<b>Check this code with {html.escape(owner)} by phone or in person before you "
            "trust it.</b> If it is not exactly the code they read to you, choose Not now: "
            "someone else may have put their own roster in this folder.",
            rich=True,
        )
        after = wrap(
            "This device remembers your answer. If the owner's key ever changes, twinreview "
            "warns you and lets nobody approve anything here."
        )
        after.setStyleSheet("color: palette(placeholder-text);")
        buttons = QDialogButtonBox()
        self.trust_button = buttons.addButton("Trust", QDialogButtonBox.ButtonRole.AcceptRole)
        self.trust_button.setIcon(icon("approve"))
        self.trust_button.setToolTip("The code matches: trust this owner on this device")
        self.later_button = buttons.addButton("Not now", QDialogButtonBox.ButtonRole.RejectRole)
        self.later_button.setToolTip(
            "Browse without trusting: you cannot approve or reject here until you do"
        )
        self.later_button.setDefault(True)  # trusting takes a deliberate click
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addWidget(who)
        layout.addLayout(code_row)
        layout.addSpacing(6)
        layout.addWidget(self.check)
        layout.addWidget(after)
        layout.addWidget(buttons)
        self.resize(max(560, self.sizeHint().width()), self.sizeHint().height())

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code.text())
        self.copy.setText("Copied")


def mismatch_text(info: TrustInfo) -> str:
    """The hard error for an owner other than the pinned one, naming both fingerprints (HTML)."""
    return (
        "<b>This workspace's owner changed: do not approve anything here.</b> This device "
        f"trusted the owner key <tt>{html.escape(info.pinned_fingerprint or '?')}</tt>, but the "
        f"roster now starts from <tt>{html.escape(info.owner_fingerprint or '?')}</tt>"
        f"{' (' + html.escape(info.owner) + ')' if info.owner else ''}. Someone may have "
        "replaced the roster. Decisions are off; ask the owner what happened."
    )
