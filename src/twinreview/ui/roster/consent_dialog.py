"""A model gives, narrows or withdraws her consent in plain words."""

from __future__ import annotations

import datetime as dt
import html

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import message_line, say, wrap
from twinreview.ui.roster_view import ConsentInfo, consent_sentence, date_words
from twinreview.ui.session import ReviewSession


class ConsentDialog(QDialog):
    """A model gives, narrows or withdraws her consent, in plain words; signed with her key.

    Args:
        session: The review session (roster and signing).
        model_id: The model whose consent this is (the identity must be her model person).
    """

    def __init__(
        self, session: ReviewSession, model_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        view = session.roster
        assert view is not None
        self.model_id = model_id
        self.setWindowTitle("My consent")
        self.title = wrap(rich=True)
        self.current = wrap()
        font = self.current.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.current.setFont(font)
        self.current.setStyleSheet(
            "QLabel { background: palette(alternate-base); border-radius: 4px; padding: 8px; }"
        )
        self.which = QComboBox()
        self.which.setToolTip("The model this consent is for")
        for mid in view.my_consent_models:
            self.which.addItem(view.model_name(mid), mid)
        self.which.setCurrentIndex(max(0, self.which.findData(model_id)))
        self.which.setVisible(self.which.count() > 1)
        self.which.currentIndexChanged.connect(self._model_changed)

        # Which uses?
        self.any_use = QRadioButton("&Any use")
        self.any_use.setToolTip("Images of you may be used for anything the brand needs")
        self.only_uses = QRadioButton("&Only these uses:")
        self.only_uses.setToolTip("Images of you may only be used as ticked below")
        self._uses_group = QButtonGroup(self)
        self._uses_group.addButton(self.any_use)
        self._uses_group.addButton(self.only_uses)
        self.use_boxes: dict[str, QCheckBox] = {}
        self.uses_list = QVBoxLayout()
        self.uses_list.setContentsMargins(24, 0, 0, 0)
        self.other_uses = QLineEdit()
        self.other_uses.setPlaceholderText(
            "Other uses, separated by commas (e.g. print, billboard)"
        )
        self.other_uses.setToolTip("Uses not in the list above, as the images' sidecars name them")
        uses_box = QGroupBox("Which uses do you allow?")
        ul = QVBoxLayout(uses_box)
        ul.addWidget(self.any_use)
        ul.addWidget(self.only_uses)
        ul.addLayout(self.uses_list)
        other_row = QHBoxLayout()
        other_row.setContentsMargins(24, 0, 0, 0)
        other_row.addWidget(self.other_uses)
        ul.addLayout(other_row)
        self.any_use.toggled.connect(self._update_enabled)

        # Until when?
        self.no_end = QRadioButton("&No end date")
        self.no_end.setToolTip("Your consent holds until you change or withdraw it")
        self.until = QRadioButton("&Until")
        self.until.setToolTip("Your consent ends after this day")
        self._end_group = QButtonGroup(self)
        self._end_group.addButton(self.no_end)
        self._end_group.addButton(self.until)
        self.end_date = QDateEdit()
        self.end_date.setCalendarPopup(True)
        self.end_date.setDisplayFormat("d MMMM yyyy")
        self.end_date.setMinimumDate(QDate.currentDate())
        self.end_date.setToolTip("The last day your consent holds")
        end_box = QGroupBox("Until when?")
        el = QHBoxLayout(end_box)
        el.addWidget(self.no_end)
        el.addSpacing(16)
        el.addWidget(self.until)
        el.addWidget(self.end_date)
        el.addStretch(1)
        self.no_end.toggled.connect(self._update_enabled)

        # Who else?
        self.need_agent = QCheckBox("My &agent")
        self.need_agent.setToolTip("Your agent must approve each image too")
        self.need_brand = QCheckBox("The &brand")
        self.need_brand.setToolTip("The brand must approve each image too")
        who_box = QGroupBox("Who must approve besides you?")
        wl = QVBoxLayout(who_box)
        wl.addWidget(wrap("You always approve each image of you yourself. Also needed:"))
        who_row = QHBoxLayout()
        who_row.addWidget(self.need_agent)
        who_row.addSpacing(16)
        who_row.addWidget(self.need_brand)
        who_row.addStretch(1)
        wl.addLayout(who_row)

        self.message = message_line()
        buttons = QDialogButtonBox()
        self.sign_button = buttons.addButton(
            "&Sign my consent", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.sign_button.setIcon(icon("approve"))
        self.sign_button.setToolTip("Sign these choices with your key; they replace your last ones")
        self.sign_button.setDefault(True)
        self.sign_button.clicked.connect(self.sign)
        self.withdraw_button = buttons.addButton(
            "&Withdraw my consent", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.withdraw_button.setIcon(icon("reject"))
        self.withdraw_button.setToolTip(
            "No image of you can be approved any more, until you give consent again"
        )
        self.withdraw_button.clicked.connect(self.ask_withdraw)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setToolTip("Close (Esc)")
        buttons.rejected.connect(self.reject)
        self.confirm: QMessageBox | None = None

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.which)
        layout.addWidget(self.current)
        layout.addWidget(uses_box)
        layout.addWidget(end_box)
        layout.addWidget(who_box)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        session.roster_changed.connect(self._show_current)
        self._load()
        self.resize(620, self.sizeHint().height())

    # -- showing -------------------------------------------------------------------------------

    def _consent(self) -> ConsentInfo | None:
        view = self.session.roster
        return view.consents.get(self.model_id) if view is not None else None

    def _model_changed(self) -> None:
        mid = self.which.currentData()
        if isinstance(mid, str) and mid != self.model_id:
            self.model_id = mid
            self._load()

    def _load(self) -> None:
        """Fill the form from her current consent (defaults: any use, no end, agent too)."""
        view = self.session.roster
        consent = self._consent()
        known = list(view.known_uses) if view is not None else []
        current_uses = list(consent.uses or ()) if consent is not None else []
        while self.uses_list.count():
            item = self.uses_list.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        self.use_boxes = {}
        for use in dict.fromkeys([*known, *current_uses]):
            cb = QCheckBox(use)
            cb.setToolTip(f"Allow images of you to be used for {use}")
            cb.setChecked(use in current_uses)
            self.use_boxes[use] = cb
            self.uses_list.addWidget(cb)
        self.other_uses.clear()
        live = consent if consent is not None and not consent.withdrawn else None
        (self.only_uses if live and live.uses is not None else self.any_use).setChecked(True)
        if live and live.expires:
            self.until.setChecked(True)
            self.end_date.setDate(QDate.fromString(live.expires, "yyyy-MM-dd"))
        else:
            self.no_end.setChecked(True)
            self.end_date.setDate(QDate.currentDate().addYears(1))
        require = live.require if live else ("model", "agent")
        self.need_agent.setChecked("agent" in require)
        self.need_brand.setChecked("brand" in require)
        self._show_current()
        self._update_enabled()

    def _show_current(self) -> None:
        view = self.session.roster
        name = view.model_name(self.model_id) if view is not None else self.model_id
        self.title.setText(f"<h3>Your consent for images of {html.escape(name)}</h3>")
        consent = self._consent()
        sentence = consent_sentence(consent, name, you=True)
        if consent is not None and consent.ts:
            sentence += f" (Signed on {date_words(consent.ts)}.)"
        self.current.setText(sentence)
        self.withdraw_button.setEnabled(consent is not None and not consent.withdrawn)

    def _update_enabled(self) -> None:
        only = self.only_uses.isChecked()
        for cb in self.use_boxes.values():
            cb.setEnabled(only)
        self.other_uses.setEnabled(only)
        self.end_date.setEnabled(self.until.isChecked())

    # -- what she chose ------------------------------------------------------------------------

    def chosen_uses(self) -> list[str] | None:
        """The allowed uses (None: any use)."""
        if self.any_use.isChecked():
            return None
        uses = [u for u, cb in self.use_boxes.items() if cb.isChecked()]
        uses += [u.strip().lower() for u in self.other_uses.text().split(",") if u.strip()]
        return list(dict.fromkeys(uses))

    def chosen_end(self) -> dt.date | None:
        """The last day (None: no end date)."""
        if not self.until.isChecked():
            return None
        d = self.end_date.date()
        return dt.date(d.year(), d.month(), d.day())

    def chosen_roles(self) -> list[str]:
        """Roles that must approve: always the model, plus agent / brand as ticked."""
        roles = ["model"]
        if self.need_agent.isChecked():
            roles.append("agent")
        if self.need_brand.isChecked():
            roles.append("brand")
        return roles

    # -- signing -------------------------------------------------------------------------------

    def sign(self) -> None:
        """Sign her choices (they replace her last consent)."""
        uses = self.chosen_uses()
        if uses is not None and not uses:
            say(self.message, "Tick at least one use, or choose Any use.", error=True)
            return
        self._send(uses, self.chosen_end(), self.chosen_roles(), withdraw=False)

    def ask_withdraw(self) -> None:
        """Confirm, then sign a withdrawal."""
        view = self.session.roster
        name = view.model_name(self.model_id) if view is not None else self.model_id
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Withdraw your consent?",
            f"After this, no image of {name} can be approved, and none is cleared any more, "
            "until you give your consent again.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        ok = box.addButton("&Withdraw", QMessageBox.ButtonRole.AcceptRole)
        ok.setToolTip("Sign the withdrawal with your key")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def finished(_: int) -> None:
            self.confirm = None
            if box.clickedButton() is ok:
                consent = self._consent()
                require = consent.require if consent is not None else ("model", "agent")
                self._send(None, None, list(require), withdraw=True)

        box.finished.connect(finished)
        self.confirm = box
        box.open()

    def _send(
        self, uses: list[str] | None, end: dt.date | None, roles: list[str], *, withdraw: bool
    ) -> None:
        self.sign_button.setEnabled(False)
        self.withdraw_button.setEnabled(False)
        say(self.message, "Signing with your key…")

        def done(_: object) -> None:
            if not isValid(self):  # closed meanwhile
                return
            self.sign_button.setEnabled(True)
            say(self.message, "Withdrawn and signed." if withdraw else "Signed.")

        def failed(message: str) -> None:
            if not isValid(self):
                return
            self.sign_button.setEnabled(True)
            self._show_current()
            say(self.message, f"Not signed: {message}", error=True)

        self.session.roster_action(
            self.session.backend.give_consent,
            self.model_id,
            uses,
            end,
            tuple(roles),
            withdraw,
            on_done=done,
            on_error=failed,
        )
