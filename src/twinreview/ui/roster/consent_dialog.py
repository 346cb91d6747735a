"""A model gives, narrows or withdraws her consent, each term asked for, in plain words.

Nothing is assumed for her: no use is ticked and no end is chosen until she does it (a consent
she signed before is loaded as she signed it). The form follows the same rules as
``twinreview consent`` (``services.consent.ConsentForm``): at least one use, the purpose in her
words, an end date or an explicit "no end date"; the pay-terms reference and the content she
excludes are optional. A box at the top says, as she fills it in, what she is agreeing to: which
brand, AI-generated images of her, where they may be published, until when, who else approves.
"""

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
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from twinreview.services.consent import ConsentForm, split_list
from twinreview.ui.app_errors import app_message
from twinreview.ui.message_style import error_colour
from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import message_line, say, wrap
from twinreview.ui.roster_view import ConsentInfo, consent_sentence, date_words
from twinreview.ui.session import ReviewSession

#: Content a model commonly excludes; the sidecars' ``categories`` name what an image shows.
COMMON_EXCLUSIONS: tuple[str, ...] = (
    "nudity",
    "lingerie",
    "political",
    "religious",
    "alcohol",
    "tobacco",
    "gambling",
)
_MISSING_WORDS = {
    "uses": "tick at least one place where images of you may be published",
    "purpose": "say what it is for, in your own words",
    "end date": "choose an end date, or No end date",
}


class ConsentDialog(QDialog):
    """A model gives, narrows or withdraws her consent; signed with her key.

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
        self.current.setToolTip("The consent you signed last")
        self.agreeing = wrap(rich=True)
        self.agreeing.setToolTip("What you agree to when you sign, as you fill in the form")
        self.agreeing.setStyleSheet(
            "QLabel { background: palette(alternate-base); border-radius: 4px; padding: 10px; }"
        )
        font = self.agreeing.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.agreeing.setFont(font)
        self.which = QComboBox()
        self.which.setToolTip("The model this consent is for")
        for mid in view.my_consent_models:
            self.which.addItem(view.model_name(mid), mid)
        self.which.setCurrentIndex(max(0, self.which.findData(model_id)))
        self.which.setVisible(self.which.count() > 1)
        self.which.currentIndexChanged.connect(self._model_changed)

        # Where may they be published?
        self.use_boxes: dict[str, QCheckBox] = {}
        self.uses_grid = QGridLayout()
        self.other_uses = QLineEdit()
        self.other_uses.setPlaceholderText(
            "Other places, separated by commas (e.g. print, billboard)"
        )
        self.other_uses.setToolTip("Uses not in the list, as the images' sidecars name them")
        self.other_uses.textChanged.connect(self._changed)
        uses_box = QGroupBox("1. Where may AI-generated images of you be published?")
        ul = QVBoxLayout(uses_box)
        ul.addLayout(self.uses_grid)
        ul.addWidget(self.other_uses)

        # What for?
        self.purpose = QLineEdit()
        self.purpose.setPlaceholderText("e.g. Spring 2027 e-commerce for Brand X")
        self.purpose.setToolTip(
            "What the images are for, in your own words (recorded as you write it)"
        )
        self.purpose.textChanged.connect(self._changed)
        purpose_box = QGroupBox("2. What is it for, in your own words?")
        QVBoxLayout(purpose_box).addWidget(self.purpose)

        # Until when?
        self.until = QRadioButton("&Until")
        self.until.setToolTip("Your consent ends after this day")
        self.no_end = QRadioButton("&No end date: I choose this")
        self.no_end.setToolTip("Your consent holds until you change or withdraw it")
        self._end_group = QButtonGroup(self)
        self._end_group.setExclusive(True)
        self._end_group.addButton(self.until)
        self._end_group.addButton(self.no_end)
        self.end_date = QDateEdit()
        self.end_date.setCalendarPopup(True)
        self.end_date.setDisplayFormat("d MMMM yyyy")
        self.end_date.setMinimumDate(QDate.currentDate())
        self.end_date.setToolTip("The last day your consent holds")
        self.end_date.dateChanged.connect(self._changed)
        end_box = QGroupBox("3. Until when?")
        el = QHBoxLayout(end_box)
        el.addWidget(self.until)
        el.addWidget(self.end_date)
        el.addSpacing(24)
        el.addWidget(self.no_end)
        el.addStretch(1)
        self.until.toggled.connect(self._changed)
        self.no_end.toggled.connect(self._changed)

        # What not?
        self.exclude_boxes: dict[str, QCheckBox] = {}
        self.exclude_grid = QGridLayout()
        self.other_exclude = QLineEdit()
        self.other_exclude.setPlaceholderText("Other content you do not allow, separated by commas")
        self.other_exclude.setToolTip(
            "Matched against the categories an image's sidecar lists: such an image cannot be "
            "approved"
        )
        self.other_exclude.textChanged.connect(self._changed)
        exclude_box = QGroupBox("4. Content you do not allow (optional)")
        xl = QVBoxLayout(exclude_box)
        xl.addLayout(self.exclude_grid)
        xl.addWidget(self.other_exclude)

        # Pay terms.
        self.pay_terms = QLineEdit()
        self.pay_terms.setPlaceholderText("e.g. contract BX-2027-114")
        self.pay_terms.setToolTip("A reference to the contract or pay terms (optional)")
        self.pay_terms.textChanged.connect(self._changed)
        pay_box = QGroupBox("5. Pay terms: a contract or reference (optional)")
        QVBoxLayout(pay_box).addWidget(self.pay_terms)

        # Who else?
        self.need_agent = QCheckBox("My &agent")
        self.need_agent.setToolTip("Your agent must approve each image too")
        self.need_brand = QCheckBox("The &brand")
        self.need_brand.setToolTip("The brand must approve each image too")
        self.need_agent.toggled.connect(self._changed)
        self.need_brand.toggled.connect(self._changed)
        who_box = QGroupBox("6. Who must approve each image besides you?")
        wl = QHBoxLayout(who_box)
        wl.addWidget(self.need_agent)
        wl.addSpacing(16)
        wl.addWidget(self.need_brand)
        wl.addStretch(1)

        self.message = message_line()
        buttons = QDialogButtonBox()
        self.sign_button = buttons.addButton(
            "&Sign my consent", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.sign_button.setIcon(icon("approve"))
        self.sign_button.setToolTip("Sign these terms with your key; they replace your last ones")
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

        form = QWidget()
        fl = QVBoxLayout(form)
        fl.setContentsMargins(0, 0, 0, 0)
        for box in (uses_box, purpose_box, end_box, exclude_box, pay_box, who_box):
            fl.addWidget(box)
        fl.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(form)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.which)
        layout.addWidget(self.current)
        layout.addWidget(self.agreeing)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        session.roster_changed.connect(self._show_current)
        self._load()
        self.resize(720, _fitting_height(self, 860))

    # -- showing -------------------------------------------------------------------------------

    def _consent(self) -> ConsentInfo | None:
        view = self.session.roster
        return view.consents.get(self.model_id) if view is not None else None

    def _name(self) -> str:
        view = self.session.roster
        return view.model_name(self.model_id) if view is not None else self.model_id

    def _model_changed(self) -> None:
        mid = self.which.currentData()
        if isinstance(mid, str) and mid != self.model_id:
            self.model_id = mid
            self._load()

    @staticmethod
    def _fill(
        grid: QGridLayout, names: list[str], ticked: set[str], tip: str
    ) -> dict[str, QCheckBox]:
        while grid.count():
            item = grid.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        boxes: dict[str, QCheckBox] = {}
        for i, name in enumerate(names):
            cb = QCheckBox(name)
            cb.setToolTip(tip.format(name=name))
            cb.setChecked(name in ticked)
            boxes[name] = cb
            grid.addWidget(cb, i // 3, i % 3)
        return boxes

    def _load(self) -> None:
        """Fill the form from her current consent; a first consent starts with nothing chosen."""
        view = self.session.roster
        consent = self._consent()
        live = consent if consent is not None and not consent.withdrawn else None
        uses = list(live.uses or ()) if live is not None else []
        known = list(view.known_uses) if view is not None else []
        self.use_boxes = self._fill(
            self.uses_grid,
            list(dict.fromkeys([*known, *uses])),
            set(uses),
            "Images of you may be published for {name}",
        )
        excluded = list(live.exclude) if live is not None else []
        self.exclude_boxes = self._fill(
            self.exclude_grid,
            list(dict.fromkeys([*COMMON_EXCLUSIONS, *excluded])),
            set(excluded),
            "No image showing {name} may be approved",
        )
        for cb in (*self.use_boxes.values(), *self.exclude_boxes.values()):
            cb.toggled.connect(self._changed)
        self.other_uses.clear()
        self.other_exclude.clear()
        self.purpose.setText(live.purpose or "" if live is not None else "")
        self.pay_terms.setText(live.pay_terms or "" if live is not None else "")
        self._end_group.setExclusive(False)
        self.until.setChecked(live is not None and live.expires is not None)
        self.no_end.setChecked(live is not None and live.no_expiry)
        self._end_group.setExclusive(True)
        if live is not None and live.expires:
            self.end_date.setDate(QDate.fromString(live.expires, "yyyy-MM-dd"))
        else:
            self.end_date.setDate(QDate.currentDate().addYears(1))
        require = live.require if live is not None else ("model", "agent")
        self.need_agent.setChecked("agent" in require)
        self.need_brand.setChecked("brand" in require)
        say(self.message, "")
        self._show_current()
        self._changed()

    def _show_current(self) -> None:
        name = self._name()
        self.title.setText(f"<h3>Your consent for AI-generated images of {html.escape(name)}</h3>")
        consent = self._consent()
        sentence = "Now: " + consent_sentence(consent, name, you=True)
        if consent is not None and consent.ts:
            sentence += f" (Signed on {date_words(consent.ts)}.)"
        self.current.setText(sentence)
        self.withdraw_button.setEnabled(consent is not None and not consent.withdrawn)

    def _changed(self) -> None:
        self.end_date.setEnabled(self.until.isChecked())
        self.agreeing.setText(self.agreement_html())

    # -- what she chose ------------------------------------------------------------------------

    def chosen_uses(self) -> list[str]:
        """The places she ticked or named."""
        uses = [u for u, cb in self.use_boxes.items() if cb.isChecked()]
        return list(dict.fromkeys([*uses, *split_list(self.other_uses.text())]))

    def chosen_exclusions(self) -> list[str]:
        """The content she does not allow."""
        ticked = [c for c, cb in self.exclude_boxes.items() if cb.isChecked()]
        return list(dict.fromkeys([*ticked, *split_list(self.other_exclude.text())]))

    def chosen_end(self) -> dt.date | None:
        """The last day (None: none chosen, or no end date)."""
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

    def form(self) -> ConsentForm:
        """Her answers, as ``twinreview consent`` takes them."""
        return ConsentForm(
            self.model_id,
            uses=tuple(self.chosen_uses()) or None,
            purpose=self.purpose.text().strip() or None,
            expires=self.chosen_end(),
            no_expiry=self.no_end.isChecked(),
            pay_terms=self.pay_terms.text().strip() or None,
            exclude=tuple(self.chosen_exclusions()),
            require=tuple(self.chosen_roles()),
        )

    def agreement_html(self) -> str:
        """What she agrees to with the form as it is now, one line per term."""
        view = self.session.roster
        brand = "the brand"
        workspace = ""
        if view is not None:
            owner = next((p for p in view.people if p.principal == view.owner), None)
            brand = owner.name if owner is not None else (view.owner or brand)
            workspace = view.name
        name = html.escape(self._name())
        todo = f'<span style="color:{error_colour()}">{{}}</span>'
        uses = self.chosen_uses()
        purpose = self.purpose.text().strip()
        if self.until.isChecked():
            end = self.chosen_end()
            until = f"until {date_words(end.isoformat())}" if end else ""
        elif self.no_end.isChecked():
            until = "with no end date (you chose this)"
        else:
            until = todo.format("choose an end date, or No end date")
        others = [{"agent": "your agent", "brand": "the brand"}[r] for r in self.chosen_roles()[1:]]
        excluded = self.chosen_exclusions()
        pay = self.pay_terms.text().strip()
        where = (
            html.escape(", ".join(uses)) if uses else todo.format("tick at least one place below")
        )
        lines = [
            f"<b>{html.escape(brand)}</b> may use <b>AI-generated images of {name}</b>"
            + (f" made for “{html.escape(workspace)}”" if workspace else "")
            + ":",
            f"• published for: <b>{where}</b>",
            "• for: "
            + (
                f"<b>“{html.escape(purpose)}”</b>" if purpose else todo.format("say what it is for")
            ),
            f"• <b>{until}</b>",
            "• never showing: "
            + (html.escape(", ".join(excluded)) if excluded else "nothing excluded"),
            "• pay terms: " + (html.escape(pay) if pay else "none named"),
            "• each image approved by you"
            + (f" and {html.escape(' and '.join(others))}" if others else "")
            + "; your reject always stands.",
            "You can narrow, widen or withdraw it at any time; images already published that it "
            "no longer covers are then listed as out of consent.",
        ]
        return "<br>".join(lines)

    # -- signing -------------------------------------------------------------------------------

    def sign(self) -> None:
        """Sign her terms (they replace her last consent); every required answer is asked for."""
        form = self.form()
        missing = form.missing()
        if missing:
            say(
                self.message,
                "Not signed yet: " + "; ".join(_MISSING_WORDS[m] for m in missing) + ".",
                error=True,
            )
            return
        problem = form.problem(dt.datetime.now(dt.UTC).date())
        if problem is not None:
            say(self.message, f"Not signed: {problem}.", error=True)
            return
        self._send(form, withdraw=False)

    def ask_withdraw(self) -> None:
        """Confirm, then sign a withdrawal."""
        name = self._name()
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Withdraw your consent?",
            f"After this, no image of {name} can be approved, none is cleared any more, and "
            "every image already published is listed as out of consent, until you give your "
            "consent again.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        ok = box.addButton("&Withdraw", QMessageBox.ButtonRole.AcceptRole)
        ok.setToolTip("Sign the withdrawal with your key")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def finished(_: int) -> None:
            self.confirm = None
            if box.clickedButton() is ok:
                self._send(None, withdraw=True)

        box.finished.connect(finished)
        self.confirm = box
        box.open()

    def _send(self, form: ConsentForm | None, *, withdraw: bool) -> None:
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
            say(self.message, f"Not signed: {app_message(message)}", error=True)

        self.session.roster_action(
            self.session.backend.give_consent,
            self.model_id,
            form,
            withdraw,
            on_done=done,
            on_error=failed,
        )


def _fitting_height(dialog: QWidget, wanted: int) -> int:
    """``wanted``, or less so that the screen fits over its window and on a small laptop's screen.

    The form scrolls; the terms she agrees to and the buttons stay in view.
    """
    room = [wanted]
    parent = dialog.parentWidget()
    if parent is not None:
        room.append(parent.window().height() - 60)
    screen = dialog.screen()
    if screen is not None:
        room.append(screen.availableGeometry().height() - 60)
    return max(480, min(room))
