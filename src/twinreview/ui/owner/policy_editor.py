"""Workspace › Workspace rules…: every rule of the signed policy in words, changed and signed.

Each setting of :data:`twinreview.core.policytext.SETTINGS` is one row: what it is, and its
value as a choice in words (blocks approval / a warning / a note only; fully or partly
disclosed...). Signing sends the tables built with :func:`~twinreview.core.policytext.with_value`
(only what changed is written; keys no row shows are kept) through the same roster entry as
``twinreview roster policy``. The roster refuses anyone but the owner and admins, and tables
that do not parse; its words are shown.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from twinreview.core.policytext import (
    COUNT,
    FILE,
    FILES,
    NUMBER,
    SETTINGS,
    SEVERITY,
    SEVERITY_WORDS,
    SWITCH,
    VERDICT_WORDS,
    VERDICTS,
    Setting,
    value_of,
    with_value,
)
from twinreview.ui.app_errors import app_message
from twinreview.ui.message_style import error_style
from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import message_line, say, wrap
from twinreview.ui.roster_view import RosterView, date_words
from twinreview.ui.session import ReviewSession

_SEVERITY_CHOICES = tuple(
    (code, words[0].upper() + words[1:]) for code, words in SEVERITY_WORDS.items()
)


class PolicyEditor(QDialog):
    """The workspace's rules, each in words; the owner or an admin signs a change.

    Attributes:
        controls: The control of each setting, by its place in the tables.
        verdict_boxes: The AI-disclosure verdicts a reviewer may approve, by verdict.

    Args:
        session: The review session (its roster view and signing).
        parent: The window or the roster screen.
    """

    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Workspace rules")
        self.header = wrap(rich=True, selectable=True)
        self.file_note = wrap()
        self.file_note.hide()
        self.controls: dict[tuple[str, ...], QWidget] = {}
        self.verdict_boxes: dict[str, QCheckBox] = {}
        self._labels: dict[tuple[str, ...], QLabel] = {}
        self._loading = False
        self._reload_next = False

        body = QWidget()
        body_layout = QVBoxLayout(body)
        groups: dict[str, QGridLayout] = {}
        for setting in SETTINGS:
            grid = groups.get(setting.group)
            if grid is None:
                box = QGroupBox(setting.group)
                grid = QGridLayout(box)
                grid.setColumnStretch(1, 1)
                groups[setting.group] = grid
                body_layout.addWidget(box)
            # One line each, never wrapped: a wrapped label in a row as high as its control is
            # cut off at the top and bottom.
            label = QLabel(setting.label)
            label.setToolTip(setting.help)
            control = self._control(setting)
            control.setToolTip(setting.help)
            label.setBuddy(control)
            self.controls[setting.path] = control
            self._labels[setting.path] = label
            row = grid.rowCount()
            grid.addWidget(label, row, 0)
            grid.addWidget(control, row, 1)
        body_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)

        self.changes = QLabel()
        self.why_not = wrap()
        self.why_not.setStyleSheet(error_style())
        self.message = message_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close (Esc)")
        self.sign_button = buttons.addButton(
            "&Sign these rules", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.sign_button.setIcon(icon("approve"))
        self.sign_button.setToolTip(
            "Sign the changed rules with your key: they are in force at once"
        )
        self.sign_button.clicked.connect(self.sign)
        self.file_button = buttons.addButton(
            "Use the &file's values", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.file_button.setToolTip(
            "Fill the form from twinreview.toml (then sign them to use them)"
        )
        self.file_button.clicked.connect(self._use_file)
        self.undo_button = buttons.addButton("&Undo changes", QDialogButtonBox.ButtonRole.ResetRole)
        self.undo_button.setToolTip("Back to the rules in force")
        self.undo_button.clicked.connect(self._load)
        buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.changes, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.file_note)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.why_not)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        session.roster_changed.connect(self._roster_changed)
        session.trust_changed.connect(self._update)
        self._load()
        self.resize(880, 720)

    # -- controls ------------------------------------------------------------------------------

    def _control(self, setting: Setting) -> QWidget:
        if setting.kind == SEVERITY:
            combo = QComboBox()
            for code, words in _SEVERITY_CHOICES:
                combo.addItem(words, code)
            combo.currentIndexChanged.connect(self._update)
            return combo
        if setting.kind == VERDICTS:
            row = QWidget()
            lay = QGridLayout(row)
            lay.setContentsMargins(0, 0, 0, 0)
            for i, (code, words) in enumerate(VERDICT_WORDS.items()):
                box = QCheckBox(words[0].upper() + words[1:])
                box.toggled.connect(self._update)
                self.verdict_boxes[code] = box
                lay.addWidget(box, i // 2, i % 2)
            return row
        if setting.kind == SWITCH:
            box = QCheckBox("On")
            box.toggled.connect(self._update)
            return box
        if setting.kind == NUMBER:
            spin = QDoubleSpinBox()
            spin.setDecimals(2)
            spin.setSingleStep(0.05)
            spin.setRange(setting.low, setting.high)
            spin.valueChanged.connect(self._update)
            return spin
        if setting.kind == COUNT:
            count = QSpinBox()
            count.setRange(int(setting.low), int(setting.high))
            count.valueChanged.connect(self._update)
            return count
        edit = QLineEdit()
        edit.setPlaceholderText(
            "none"
            if setting.kind == FILE
            else "none (file paths in the workspace, comma separated)"
        )
        edit.textChanged.connect(self._update)
        return edit

    def _set(self, setting: Setting, value: Any) -> None:
        control = self.controls[setting.path]
        if isinstance(control, QComboBox):
            index = control.findData(str(value))
            control.setCurrentIndex(max(0, index))
        elif setting.kind == VERDICTS:
            chosen = {str(v) for v in value or []}
            for code, box in self.verdict_boxes.items():
                box.setChecked(code in chosen)
        elif isinstance(control, QCheckBox):
            control.setChecked(bool(value))
        elif isinstance(control, QDoubleSpinBox):
            control.setValue(float(value))
        elif isinstance(control, QSpinBox):
            control.setValue(int(value))
        elif isinstance(control, QLineEdit):
            if setting.kind == FILES:
                control.setText(", ".join(str(v) for v in value or []))
            else:
                control.setText(str(value) if value else "")

    def _value(self, setting: Setting) -> Any:
        control = self.controls[setting.path]
        if isinstance(control, QComboBox):
            return control.currentData()
        if setting.kind == VERDICTS:
            return [code for code, box in self.verdict_boxes.items() if box.isChecked()]
        if isinstance(control, QCheckBox):
            return control.isChecked()
        if isinstance(control, QDoubleSpinBox):
            return round(control.value(), 4)
        if isinstance(control, QSpinBox):
            return control.value()
        assert isinstance(control, QLineEdit)
        text = control.text().strip()
        if setting.kind == FILES:
            return [p.strip() for p in text.split(",") if p.strip()]
        return text or None

    # -- the rules -----------------------------------------------------------------------------

    def _in_force(self) -> Mapping[str, Any]:
        view = self.session.roster
        return view.policy_tables if view is not None else {}

    def _fill(self, tables: Mapping[str, Any]) -> None:
        self._loading = True
        try:
            for setting in SETTINGS:
                self._set(setting, value_of(tables, setting))
        finally:
            self._loading = False

    def _load(self) -> None:
        """Show the rules in force."""
        view = self.session.roster
        self.header.setText(self._header_html(view))
        file_policy = view.file_policy if view is not None else None
        differs = file_policy is not None and dict(file_policy) != dict(self._in_force())
        self.file_note.setText(
            "twinreview.toml says otherwise: its values are not signed, so they are not in "
            "force. Use the file's values to sign them."
            if differs
            else ""
        )
        self.file_note.setVisible(differs)
        self.file_button.setVisible(differs)
        self._fill(self._in_force())
        self._update()

    @staticmethod
    def _header_html(view: RosterView | None) -> str:
        name = html.escape(view.name) if view is not None and view.name else "this workspace"
        head = f"<h3>Rules of “{name}”</h3>"
        if view is None or not view.policy_tables:
            return (
                head + "No signed rules: the defaults apply (shown below). Whatever you change "
                "is signed with your key and in force at once, for everyone."
            )
        who = html.escape(view.person_name(view.policy_by))
        when = f" on {html.escape(date_words(view.policy_when))}" if view.policy_when else ""
        return (
            head + f"In force: the rules signed by <b>{who}</b>{when}. Whatever you change is "
            "signed with your key and in force at once, for everyone."
        )

    def _use_file(self) -> None:
        view = self.session.roster
        if view is not None and view.file_policy is not None:
            self._fill(view.file_policy)
            self._update()

    def _roster_changed(self) -> None:
        # After our own signing the form shows what is now in force; after someone else's
        # change it follows, unless that would throw away changes not signed yet.
        if self._reload_next or not self.changed_settings():
            self._reload_next = False
            self._load()

    def changed_settings(self) -> list[Setting]:
        """The settings whose value in the form differs from the rules in force."""
        tables = self._in_force()
        return [s for s in SETTINGS if with_value(tables, s, self._value(s)) != dict(tables)]

    def edited_tables(self) -> dict[str, Any]:
        """The rules in force with the form's changes (only what changed is written)."""
        tables: dict[str, Any] = dict(self._in_force())
        for setting in self.changed_settings():
            tables = with_value(tables, setting, self._value(setting))
        return tables

    def _why_not(self) -> str | None:
        view = self.session.roster
        if self.session.identity is None:
            return "Signing needs your key: create your identity first (Identity…)."
        if self.session.read_only_reason is not None:
            return self.session.read_only_reason
        trust = self.session.trust
        if view is None or not view.exists:
            return "This workspace has no signed roster yet: its owner creates one first."
        if not view.i_am_admin:
            return "Only the owner or an admin signs the rules; you can read them here."
        if trust is None or not trust.ok:
            return "Trust the workspace's owner first (Roster › Trust this workspace)."
        return None

    def _update(self, *_: object) -> None:
        if self._loading or not isValid(self):
            return
        changed = self.changed_settings()
        n = len(changed)
        marked = {s.path for s in changed}
        for path, label in self._labels.items():
            font = label.font()
            font.setBold(path in marked)  # what signing would change stands out
            label.setFont(font)
        self.changes.setText(
            f"{n} change{'s' if n != 1 else ''}, not signed yet: "
            + "; ".join(s.label for s in changed[:3])
            + ("…" if n > 3 else "")
            if n
            else "No changes."
        )
        why = self._why_not()
        self.why_not.setText(why or "")
        self.why_not.setVisible(why is not None)
        self.sign_button.setEnabled(bool(n) and why is None)
        self.undo_button.setEnabled(bool(n))

    def sign(self) -> None:
        """Sign the changed rules (the roster refuses what it must)."""
        if not self.changed_settings():
            return
        tables = self.edited_tables()
        self.sign_button.setEnabled(False)
        say(self.message, "Signing with your key…")

        def done(_: object) -> None:
            if not isValid(self):  # closed meanwhile
                return
            say(self.message, "Signed: these rules are in force for everyone from now on.")
            if dict(self._in_force()) == tables:
                self._load()
            else:
                self._reload_next = True  # the roster, read again, shows them in a moment

        def failed(message: str) -> None:
            if not isValid(self):
                return
            say(self.message, f"Not signed: {app_message(message)}", error=True)
            self._update()

        self.session.roster_action(
            self.session.backend.set_policy, tables, on_done=done, on_error=failed
        )
