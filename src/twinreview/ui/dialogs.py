"""Dialogs: reject reasons, first-run identity, the shortcut sheet.

All are opened with ``open()`` (window-modal, non-blocking) and report through signals, so no
nested event loop ever runs inside a slot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QColor, QGuiApplication, QKeyEvent, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from twinreview.core.approval.policy import ROLES
from twinreview.ui.app_errors import app_message, error_text
from twinreview.ui.backend import Identity, KeyringUnavailable
from twinreview.ui.bridge import Bridge
from twinreview.ui.message_style import error_style
from twinreview.ui.resources import icon

# Plain-language reasons for simple mode: fewer, in the model's words.
SIMPLE_REASONS: Mapping[str, str] = {
    "likeness_wrong": "This does not look like me.",
    "copy_of_reference": "This is one of my real photos, not a new image.",
    "quality": "I do not like how I look (face, hands, styling).",
    "not_consented_use": "I did not agree to this kind of use.",
    "other": "Something else (write a note).",
}


def tick_box_palette(outer: QPalette) -> QPalette:
    """``outer`` for a list of tick boxes, with their edges visible in a dark theme too.

    Fusion draws a tick box as the list's own background with an edge a shade darker than the
    window colour: on a dark theme that edge is as dark as the list, and the box is invisible.
    Half-way between the list and its text keeps it visible; a light theme is left as it is.
    """
    palette = QPalette(outer)
    base = outer.color(QPalette.ColorRole.Base)
    if base.lightness() < 128:
        text = outer.color(QPalette.ColorRole.Text)
        palette.setColor(
            QPalette.ColorRole.Window,
            QColor(
                (base.red() + text.red()) // 2,
                (base.green() + text.green()) // 2,
                (base.blue() + text.blue()) // 2,
            ),
        )
    return palette


class RejectDialog(QDialog):
    """Choose reason codes (preselected from the findings) and an optional note."""

    def __init__(
        self,
        reasons: Mapping[str, str],
        preselected: Sequence[str],
        *,
        asset_name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Reject {asset_name}")
        self.setToolTip("Say why this image is rejected; the reasons are signed with the decision")
        self.list = QListWidget()
        self.list.setToolTip(
            "Reasons; the ones suggested by the findings are ticked. Space toggles"
        )
        for i, (code, text) in enumerate(reasons.items(), start=1):
            item = QListWidgetItem(f"{i}. {text}")
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if code in preselected else Qt.CheckState.Unchecked
            )
            item.setToolTip(f"Key {i} ticks or unticks it")
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("Optional note for the people who read your decision")
        self.note.setToolTip("A note signed with the decision (optional)")
        self.note.setTabChangesFocus(True)
        fm = self.note.fontMetrics()
        self.note.setFixedHeight(fm.lineSpacing() * 4 + 12)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Reject and sign")
        ok.setIcon(icon("reject"))
        ok.setToolTip("Sign and record the rejection now (Enter)")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setToolTip("Do not reject (Esc)")
        buttons.accepted.connect(self._accept_if_valid)
        buttons.rejected.connect(self.reject)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Why is it rejected?"))
        layout.addWidget(self.list)
        layout.addWidget(QLabel("Note"))
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        # Keys are handled in an event filter, not as shortcuts: the list would otherwise eat
        # digits for its type-ahead search, and the note would eat Ctrl+Enter.
        self.list.installEventFilter(self)
        self.note.installEventFilter(self)
        self.list.setFocus()
        self.list.setPalette(tick_box_palette(self.palette()))

    def changeEvent(self, event: QEvent) -> None:
        """Keep the tick boxes visible when the theme changes."""
        if event.type() == QEvent.Type.PaletteChange:
            self.list.setPalette(tick_box_palette(self.palette()))
        super().changeEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Digits toggle reasons (in the list); Ctrl+Enter signs (anywhere)."""
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            if ctrl and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._accept_if_valid()
                return True
            if watched is self.list and Qt.Key.Key_1 <= key <= Qt.Key.Key_9:
                row = key - Qt.Key.Key_1
                if row < self.list.count():
                    self._toggle(row)
                    return True
        return super().eventFilter(watched, event)

    def _toggle(self, row: int) -> None:
        item = self.list.item(row)
        checked = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def reasons(self) -> list[str]:
        """The ticked reason codes, in list order."""
        out = []
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def note_text(self) -> str:
        """The note, stripped."""
        return self.note.toPlainText().strip()

    def _accept_if_valid(self) -> None:
        if not self.reasons():
            self.error.setText("Tick at least one reason.")
            self.error.show()
            return
        if "other" in self.reasons() and not self.note_text():
            self.error.setText("Write a note for “another reason”.")
            self.error.show()
            return
        self.accept()


_PRINCIPAL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")


class IdentityDialog(QDialog):
    """First run: create the reviewer's identity and key, then show the allowed_signers line.

    ``done_identity`` holds the identity after success; when no keyring is usable the dialog
    explains it and offers read-only mode (``read_only_reason`` set).
    """

    def __init__(
        self,
        bridge: Bridge,
        create: Callable[[str, str, str], Identity],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Who is reviewing?")
        self._bridge = bridge
        self._create = create
        self.done_identity: Identity | None = None
        self.read_only_reason: str | None = None

        intro = QLabel(
            "Your decisions are signed with a key that stays in this computer's keyring. "
            "Tell us who you are; then you ask to join a workspace, and its owner adds you."
        )
        intro.setWordWrap(True)
        self.principal = QLineEdit()
        self.principal.setPlaceholderText("you@example.com")
        self.principal.setToolTip("Your e-mail address: the name your signatures carry")
        self.display_name = QLineEdit()
        self.display_name.setPlaceholderText("Your name")
        self.display_name.setToolTip("Your name as other reviewers see it")
        self.role = QComboBox()
        for r, text in (
            ("model", "Model: I review images of myself"),
            ("agent", "Agent: I sign off for the models I represent"),
            ("brand", "Brand: I review for the brand"),
        ):
            self.role.addItem(text, r)
        assert {self.role.itemData(i) for i in range(self.role.count())} <= set(ROLES)
        self.role.setToolTip("Your role decides which approvals you can give")
        form = QFormLayout()
        form.addRow("E-mail", self.principal)
        form.addRow("Name", self.display_name)
        form.addRow("Role", self.role)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.line = QLineEdit()
        self.line.setReadOnly(True)
        self.line.setToolTip("Your public key line (what the owner adds to the signed roster)")
        self.copy = QPushButton(icon("copy"), "Copy")
        self.copy.setToolTip("Copy your public key line to the clipboard")
        self.copy.clicked.connect(self._copy)
        line_row = QHBoxLayout()
        line_row.addWidget(self.line, 1)
        line_row.addWidget(self.copy)
        self.line_box = QWidget()
        self.line_box.setLayout(line_row)
        line_row.setContentsMargins(0, 0, 0, 0)
        self.line_box.hide()

        self.buttons = QDialogButtonBox()
        self.create_button = self.buttons.addButton(
            "Create my key", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.create_button.setIcon(icon("identity"))
        self.create_button.setToolTip("Create a signing key in the keyring for this identity")
        self.create_button.setDefault(True)
        self.later_button = self.buttons.addButton(
            "Browse read-only", QDialogButtonBox.ButtonRole.RejectRole
        )
        self.later_button.setToolTip("Look at images without a key; you cannot approve or reject")
        self.done_button = self.buttons.addButton(
            "Start reviewing", QDialogButtonBox.ButtonRole.YesRole
        )
        self.done_button.setToolTip("Close this dialog and review")
        self.done_button.hide()
        self.create_button.clicked.connect(self._on_create)
        self.later_button.clicked.connect(self._on_later)
        self.done_button.clicked.connect(self.accept)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.line_box)
        layout.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

    def _on_create(self) -> None:
        principal = self.principal.text().strip()
        name = self.display_name.text().strip()
        role = str(self.role.currentData())
        if not _PRINCIPAL.match(principal):
            self._say("Enter an e-mail address such as you@example.com.", error=True)
            return
        if not name:
            self._say("Enter your name.", error=True)
            return
        self.create_button.setEnabled(False)
        self._say("Creating your key…")
        self._bridge.submit(
            self._create, principal, name, role, on_done=self._created, on_error=self._failed
        )

    def _created(self, identity: Identity) -> None:
        self.done_identity = identity
        self._say(
            "Your key is in this computer's keyring. Next:\n"
            "• Your own workspace: File › Create workspace… makes one and asks for its name; "
            "you become its owner and approve the others in its Roster.\n"
            "• Someone else's: open it (File › Open workspace…) and choose Join this workspace; "
            "its owner approves your signed request. Or send the owner this line (Copy): they "
            "add you with it in their Roster."
        )
        self.line.setText(identity.allowed_signers_line)
        self.line_box.show()
        self.create_button.hide()
        self.later_button.hide()
        for w in (self.principal, self.display_name, self.role):
            w.setEnabled(False)
        self.done_button.show()
        self.done_button.setDefault(True)
        self.done_button.setFocus()
        self.resize(max(self.width(), 560), self.sizeHint().height())

    def show_existing(self, identity: Identity) -> None:
        """Show the identity this computer already has, with its key line (nothing to create)."""
        self.setWindowTitle("Your identity")
        self.principal.setText(identity.principal)
        self.display_name.setText(identity.display_name)
        index = self.role.findData(identity.role)
        if index >= 0:
            self.role.setCurrentIndex(index)
        self._created(identity)
        self.done_button.setText("Close")
        self._say(
            f"You sign as {identity.display_name} <{identity.principal}> ({identity.role}); "
            "your key stays in this computer's keyring. The owner of a workspace adds you with "
            "this line (or approves your join request in the Roster):"
        )

    def show_no_keyring(self, reason: str) -> None:
        """Say at once that no key can be created here, and why."""
        self._failed(KeyringUnavailable(reason))

    def _failed(self, exc: BaseException) -> None:
        self.create_button.setEnabled(True)
        if isinstance(exc, KeyringUnavailable):
            self.read_only_reason = str(exc)
            reason = app_message(str(exc)).rstrip(".")
            self._say(
                f"Your key cannot be stored safely on this computer.\n{reason}.\nWhat to do: "
                "install or unlock your system's keyring, then start twinreview again. Until then "
                "you can still browse and compare images (read-only).",
                error=True,
            )
            self.create_button.setEnabled(False)
            self.later_button.setDefault(True)
            self.resize(max(self.width(), 560), self.sizeHint().height())
            return
        self._say(f"Your key was not created: {error_text(exc)}", error=True)

    def _on_later(self) -> None:
        if self.read_only_reason is None:
            self.read_only_reason = "No reviewer identity yet: create one to approve or reject."
        self.reject()

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.line.text())
        self.copy.setText("Copied")

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet(error_style() if error else "")
        self.message.setText(text)
        self.message.show()


class ShortcutSheet(QDialog):
    """Every action with its shortcut, one key (``?``) away."""

    def __init__(
        self,
        actions: Sequence[QAction],
        parent: QWidget | None = None,
        *,
        extra: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = [a for a in actions if a.shortcuts()]
        table = QTableWidget(len(rows) + len(extra), 2)
        table.setHorizontalHeaderLabels(["Action", "Keys"])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        table.setToolTip("Keyboard shortcuts of every action")
        for i, a in enumerate(rows):
            name = QTableWidgetItem(a.icon(), a.text().replace("&", ""))
            name.setToolTip(a.toolTip())
            keys = ", ".join(
                s.toString(QKeySequence.SequenceFormat.NativeText) for s in a.shortcuts()
            )
            table.setItem(i, 0, name)
            table.setItem(i, 1, QTableWidgetItem(keys))
        for j, (what, keys) in enumerate(extra, len(rows)):
            table.setItem(j, 0, QTableWidgetItem(what))
            table.setItem(j, 1, QTableWidgetItem(keys))
        # Both columns share the width; a long list of keys wraps instead of pushing the
        # names out of sight.
        table.setWordWrap(True)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hint = QLabel(
            "Tab and Shift+Tab move between the queue, the images, the findings, the decision "
            "buttons and the filters; a key marked “in the …” works while that area has the "
            "keyboard. In the images: the mouse wheel zooms, drag pans, Shift + drag / wheel "
            "moves or zooms one side alone; double click toggles fit and 100 %."
        )
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close (Esc)")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.table = table
        self.resize(760, 640)
