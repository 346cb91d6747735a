"""File › Create workspace…: which folder, and the workspace's name.

The name is what everyone sees (the window title, the trust question, reports); it is signed
into the roster's first entry, so it is asked for here rather than taken from the folder.
Creating is the window's job (``create``); this screen only asks.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from twinreview.ui.owner.job_dialog import FOLDER, PathField
from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import message_line, say, wrap


class CreateWorkspaceDialog(QDialog):
    """Ask for a folder and a name; Create calls ``create(folder, name)`` and closes.

    Args:
        create: Makes the workspace (the window's ``create_workspace_at``).
        owner: Who becomes the owner, for the text (``Name <e-mail>``).
        parent: The window.
    """

    def __init__(
        self,
        create: Callable[[Path, str], None],
        owner: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._create = create
        self.setWindowTitle("Create a workspace")
        intro = wrap(
            "<h3>Create a workspace</h3>A folder for one campaign or brand: the models' real "
            "photos, the generated images, and everyone's signed decisions. You, "
            f"{html.escape(owner)}, become its owner: your key signs who may approve there and its "
            "rules.",
            rich=True,
        )
        self.folder = PathField(mode=FOLDER, tip="A new or empty folder (it is created if needed)")
        self.folder.edit.setPlaceholderText("a new or empty folder")
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Spring campaign 2026")
        self.name.setToolTip("The name everyone sees; signed with the workspace")
        self._suggested = ""
        self.folder.edit.textChanged.connect(self._suggest)
        form = QFormLayout()
        form.addRow("Folder", self.folder)
        form.addRow("Name", self.name)
        after = wrap(
            "Then put each model's real photos in models/<id>/references and the generated "
            "images in assets/<id>/; people join from their own laptops, and you approve them "
            "in the Roster."
        )
        after.setStyleSheet("color: palette(placeholder-text);")
        self.message = message_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = buttons.addButton(
            "&Create and sign", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.create_button.setIcon(icon("roster"))
        self.create_button.setToolTip("Create the folder's layout and sign its roster as owner")
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(after)
        layout.addStretch(1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(620, self.sizeHint().height())

    def _suggest(self, text: str) -> None:
        """Offer the folder's name until the user types one of their own."""
        if self.name.text() not in ("", self._suggested):
            return
        path = Path(text.strip()).expanduser() if text.strip() else None
        self._suggested = path.name if path is not None else ""
        self.name.setText(self._suggested)

    def submit(self) -> None:
        """Check the form, then create (the window reports how it went)."""
        folder = self.folder.path()
        name = self.name.text().strip()
        if folder is None:
            say(self.message, "Choose a folder for the workspace.", error=True)
            return
        if not name:
            say(self.message, "Give the workspace a name.", error=True)
            return
        if folder.exists() and not folder.is_dir():
            say(self.message, f"{folder} is a file, not a folder.", error=True)
            return
        self.accept()
        self._create(folder, name)
