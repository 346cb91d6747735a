"""The roster screen: people, join requests, the signed policy and roster problems."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from twinreview.ui.app_errors import app_message
from twinreview.ui.backend import JoinOutcome
from twinreview.ui.message_style import error_colour
from twinreview.ui.resources import icon
from twinreview.ui.roster.add_person_dialog import AddPersonDialog
from twinreview.ui.roster.reset_dialog import ResetKeyDialog
from twinreview.ui.roster.revoke_dialog import RevokeKeyDialog
from twinreview.ui.roster.widgets import (
    ROLE_WORDS,
    RowsModel,
    key_label,
    make_table,
    message_line,
    say,
    wrap,
)
from twinreview.ui.roster_view import (
    MISMATCH,
    PINNED,
    UNPINNED,
    LogGap,
    PersonRow,
    RequestRow,
    RosterView,
    TrustInfo,
    consent_sentence,
    date_words,
    log_gaps,
)
from twinreview.ui.session import ReviewSession

_APPROVE_TIP = "Add the selected person to the roster, signed with your key (owner or admin only)"
_JOIN_TIP = "Ask the owner to add you: writes a request signed with your key"
_CONSENT_TIP = "Give, narrow or withdraw your consent as a model"
_ACCEPT_TIP = (
    "Sign that this log now ends where it does: verification keeps reporting the gap, "
    "but it no longer blocks; if the log changes again, it blocks again"
)


class RosterDialog(QDialog):
    """People, join requests, the signed policy and roster problems of the open workspace.

    Args:
        session: The review session (its :attr:`~ReviewSession.roster` is shown and followed).
        open_join: Opens the join dialog (the window owns dialogs).
        open_consent: Opens the consent dialog for a model id.
    """

    def __init__(
        self,
        session: ReviewSession,
        *,
        open_join: Callable[[], None],
        open_consent: Callable[[str], None],
        open_trust: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self._open_join = open_join
        self._open_consent = open_consent
        self._open_trust = open_trust
        self.setWindowTitle("Roster")
        self.header = wrap(rich=True, selectable=True)
        self.problems = wrap(rich=True)
        self.problems.setStyleSheet(
            "QLabel { background: #fde7e9; color: #5f1410; border: 1px solid #d9a2a2;"
            " border-radius: 4px; padding: 6px; }"
        )
        self.problems.hide()
        self.repair_button = QPushButton("&Set aside the bad lines…")
        self.repair_button.setToolTip(
            "Move the roster lines that failed verification out of the way (they never counted), "
            "so the roster can go on; signed with your key"
        )
        self.repair_button.clicked.connect(self.ask_repair)
        self.repair_button.hide()
        # Logs shorter than someone saw, or gone (a laptop lost before it synced): they block
        # the images they could decide on until the owner accepts where they end.
        self.gaps = wrap(rich=True)
        self.gaps.setStyleSheet(
            "QLabel { background: #fff4ce; color: #4d3800; border: 1px solid #e3c96b;"
            " border-radius: 4px; padding: 6px; }"
        )
        self.gap_choice = QComboBox()
        self.gap_choice.setToolTip("Which log to accept as it is")
        self.gap_choice.currentIndexChanged.connect(self._update_buttons)
        self.accept_button = QPushButton("Accept that it &ends here…")
        self.accept_button.setToolTip(_ACCEPT_TIP)
        self.accept_button.clicked.connect(self.ask_accept)
        #: Why Accept is greyed out for the chosen log (the roster's rule, in words).
        self.accept_note = wrap()
        self.accept_note.hide()
        accept_box = QVBoxLayout()
        accept_box.addWidget(self.gap_choice)
        accept_box.addWidget(self.accept_button)
        accept_box.addWidget(self.accept_note)
        accept_box.addStretch(1)
        gap_row = QHBoxLayout()
        gap_row.addWidget(self.gaps, 3)
        gap_row.addLayout(accept_box, 2)
        self.gaps_box = QWidget()
        self.gaps_box.setLayout(gap_row)
        gap_row.setContentsMargins(0, 0, 0, 0)
        self.gaps_box.hide()
        self._gaps: tuple[LogGap, ...] = ()

        self.people_model = RowsModel(
            ["Name", "E-mail", "Role", "Models", "Consent", "Rights"],
            [
                "Display name",
                "The principal their signatures carry",
                "Model, agent or brand",
                "Models they may decide for",
                "For a model: her own signed consent",
                "The owner and admins may change the roster",
            ],
            self,
        )
        self.people, self.people_proxy = make_table(
            self.people_model, "Everyone on the signed roster"
        )
        self.people.selectionModel().selectionChanged.connect(self._people_selected)
        self.add_button = QPushButton(icon("identity"), "Add &person…")
        self.add_button.clicked.connect(self.open_add_person)
        self.remove_button = QPushButton(icon("reject"), "Re&move…")
        self.remove_button.clicked.connect(self.ask_remove)
        self.revoke_button = QPushButton("Re&voke a key…")
        self.revoke_button.clicked.connect(self.ask_revoke)
        self.admin_button = QPushButton("Make a&dmin…")
        self.admin_button.clicked.connect(self.ask_admin)
        self.reset_button = QPushButton("Reset her &key…")
        self.reset_button.clicked.connect(self.ask_reset)
        #: The selected person's keys, in full.
        self.person_details = key_label()
        people_actions = QHBoxLayout()
        people_actions.addWidget(self.person_details, 1)
        for b in (
            self.add_button,
            self.remove_button,
            self.revoke_button,
            self.admin_button,
            self.reset_button,
        ):
            people_actions.addWidget(b)
        people_box = QGroupBox("People")
        pl = QVBoxLayout(people_box)
        pl.addWidget(self.people)
        pl.addLayout(people_actions)

        self.requests_model = RowsModel(
            ["Name", "E-mail", "Role", "Models", "Key"],
            [
                "Display name they asked for",
                "Their principal",
                "The role their key was made for",
                "The models they ask to decide for",
                "Their key's fingerprint (check it with them if in doubt)",
            ],
            self,
        )
        self.requests, self.requests_proxy = make_table(
            self.requests_model, "Signed join requests waiting for the owner or an admin"
        )
        self.requests.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.requests.selectionModel().selectionChanged.connect(self._update_buttons)
        self.requests_empty = wrap("No join requests are waiting.")
        #: The selected requests' keys, in full, to read out to them.
        self.request_details = key_label()
        self.approve_button = QPushButton(icon("approve"), "&Approve")
        self.approve_button.setToolTip(_APPROVE_TIP)
        self.approve_button.clicked.connect(self.approve_selected)
        self.requests_note = wrap()
        self.message = message_line()
        req_row = QHBoxLayout()
        req_row.addWidget(self.requests_note, 1)
        req_row.addWidget(self.approve_button)
        requests_box = QGroupBox("Join requests")
        rl = QVBoxLayout(requests_box)
        rl.addWidget(self.requests)
        rl.addWidget(self.requests_empty)
        rl.addWidget(self.request_details)
        rl.addLayout(req_row)

        self.policy = wrap(rich=True, selectable=True)
        self.policy.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        policy_scroll = QScrollArea()
        policy_scroll.setWidget(self.policy)
        policy_scroll.setWidgetResizable(True)
        policy_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.rules_button = QPushButton("Change the &rules…")
        self.rules_button.setToolTip("Each rule in words; your change is signed with your key")
        self.rules_button.clicked.connect(self.open_rules)
        rules_row = QHBoxLayout()
        rules_row.addStretch(1)
        rules_row.addWidget(self.rules_button)
        policy_box = QGroupBox("Workspace rules (signed)")
        pol = QVBoxLayout(policy_box)
        pol.addWidget(policy_scroll, 1)
        pol.addLayout(rules_row)
        #: The dialog or question open over this screen, if any.
        self.child: QWidget | None = None

        self.me = wrap(rich=True)
        self.join_button = QPushButton(icon("identity"), "&Join this workspace…")
        self.join_button.setToolTip(_JOIN_TIP)
        self.join_button.clicked.connect(lambda: self._open_join())
        self.consent_button = QPushButton(icon("approve"), "My &consent…")
        self.consent_button.setToolTip(_CONSENT_TIP)
        self.consent_button.clicked.connect(self._consent_clicked)
        self.trust_button = QPushButton(icon("approve"), "&Trust this workspace…")
        self.trust_button.setToolTip("Check the owner's key code and trust it on this device")
        self.trust_button.clicked.connect(lambda: self._open_trust())
        # Why Join or My consent is greyed out, in the box itself (not only in a tooltip).
        self.me_note = wrap()
        self.me_note.hide()
        me_text = QVBoxLayout()
        me_text.addWidget(self.me)
        me_text.addWidget(self.me_note)
        me_row = QHBoxLayout()
        me_row.addLayout(me_text, 1)
        for b in (self.trust_button, self.join_button, self.consent_button):
            me_row.addWidget(b)
        me_box = QGroupBox("You")
        me_box.setLayout(me_row)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.refresh_button = buttons.addButton("Re&load", QDialogButtonBox.ButtonRole.ActionRole)
        self.refresh_button.setIcon(icon("rescan"))
        self.refresh_button.setToolTip("Read the roster and the join requests again")
        self.refresh_button.clicked.connect(session.refresh_roster)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close (Esc)")
        buttons.rejected.connect(self.reject)

        grid = QGridLayout()
        grid.addWidget(people_box, 0, 0, 1, 2)
        grid.addWidget(requests_box, 1, 0)
        grid.addWidget(policy_box, 1, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        problem_row = QHBoxLayout()
        problem_row.addWidget(self.problems, 1)
        problem_row.addWidget(self.repair_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(problem_row)
        layout.addWidget(self.gaps_box)
        layout.addWidget(me_box)
        layout.addLayout(grid, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        session.roster_changed.connect(self.refresh)
        session.trust_changed.connect(self.refresh)
        session.identity_changed.connect(self._update_buttons)
        session.statuses_refreshed.connect(self.refresh)
        self.resize(1060, 720)
        self.refresh()

    # -- showing -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Show :attr:`ReviewSession.roster` as it is now."""
        view = self.session.roster
        trust = self.session.trust
        if view is None:
            self.header.setText(
                "<h3>Roster</h3>"
                + html.escape(self.session.roster_error or "Reading the signed roster…")
            )
            self.people_model.set_rows([])
            self.requests_model.set_rows([])
            self.policy.setText("")
            self.me.setText("")
            self.problems.hide()
            self.gaps_box.hide()
            self._update_buttons()
            return
        self.header.setText(self._header_html(view, trust))
        person = self._selected_person()
        chosen = {r.principal for r in self._selected_requests()}
        self.people_model.set_rows([(p, self._person_cells(view, p)) for p in view.people])
        self.people.resizeColumnsToContents()
        if person is not None:
            self.select_person(person.principal)
        self.requests_model.set_rows(
            [
                (
                    r,
                    (
                        r.name,
                        r.principal,
                        ROLE_WORDS.get(r.role, r.role),
                        ", ".join(view.model_name(m) for m in r.models),
                        r.fingerprint,
                    ),
                )
                for r in view.pending
            ]
        )
        # Shown before it is sized: a hidden table measures no rows, and the key column must be
        # as wide as the whole key code.
        self.requests.setVisible(bool(view.pending))
        self.requests_empty.setVisible(not view.pending)
        self.requests.resizeColumnsToContents()
        if chosen:
            self.select_requests(chosen)
        if view.pending and not self.requests.selectionModel().hasSelection():
            self.requests.selectRow(0)
        self.policy.setText(self._policy_html(view))
        problems = list(view.problems)
        if not view.ok and view.exists:
            problems.insert(0, "The signed roster is damaged: nothing can be signed here.")
        if problems:
            items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
            self.problems.setText(f"<b>Roster problems</b><ul>{items}</ul>")
        self.problems.setVisible(bool(problems))
        self._show_gaps()
        self.me.setText(self._me_html(view))
        self._update_buttons()

    def _show_gaps(self) -> None:
        self._gaps = log_gaps(self.session.verification_problems)
        items = "".join(f"<li>{html.escape(g.message)}</li>" for g in self._gaps)
        self.gaps.setText(
            "<b>Logs that went back or are gone</b>: the images they could decide on are "
            "blocked. Restore the log if you can; if it is lost (a laptop lost before it synced), "
            f"accept that it ends where it does.<ul>{items}</ul>"
        )
        current = self.gap_choice.currentData()
        view = self.session.roster
        self.gap_choice.blockSignals(True)
        self.gap_choice.clear()
        for g in self._gaps:
            name = view.log_owner_name(g.log) if view is not None else None
            whose = f"{name}'s log" if name else "A log nobody on the roster holds"
            self.gap_choice.addItem(f"{whose} ({g.log})", g.log)
        self.gap_choice.setCurrentIndex(max(0, self.gap_choice.findData(current)))
        self.gap_choice.blockSignals(False)
        self.gaps_box.setVisible(bool(self._gaps))

    def gaps_text(self) -> str:
        """What the screen says about logs that went back (empty: none)."""
        return self.gaps.text() if self._gaps else ""

    @staticmethod
    def _header_html(view: RosterView, trust: TrustInfo | None) -> str:
        if not view.exists:
            return (
                "<h3>Roster</h3>This workspace has no signed roster yet: nobody can approve or "
                "reject here. Its owner creates one with “Make me the owner” in the banner."
            )
        state = trust.state if trust is not None else view.pin_state
        pinned = {
            PINNED: "trusted on this device",
            UNPINNED: "<b>not trusted on this device yet</b>",
            MISMATCH: f"<b style='color:{error_colour()}'>NOT the owner this device trusted</b>",
        }.get(state, html.escape(state))
        return (
            f"<h3>Roster of “{html.escape(view.name)}”</h3>"
            f"Owner: <b>{html.escape(view.person_name(view.owner))}</b>, key "
            f"<tt>{html.escape(view.owner_fingerprint or '?')}</tt> ({pinned})"
        )

    @staticmethod
    def _person_cells(view: RosterView, p: PersonRow) -> tuple[str, ...]:
        consent = (
            "; ".join(
                f"{view.model_name(m)}: {view.consent_summary(m)}"
                if len(p.models) > 1
                else view.consent_summary(m)
                for m in p.models
            )
            if p.role == "model"
            else ""
        )
        return (
            p.name,
            p.principal,
            ROLE_WORDS.get(p.role, p.role),
            ", ".join(view.model_name(m) for m in p.models),
            consent,
            p.rights,
        )

    @staticmethod
    def _policy_html(view: RosterView) -> str:
        if not view.exists:
            return ""
        if not view.policy:
            return (
                "No signed rules: the defaults apply (copies of real photos and missing AI "
                "disclosure block approval)."
            )
        who = view.person_name(view.policy_by)
        when = f" on {date_words(view.policy_when)}" if view.policy_when else ""
        lines = "".join(f"<li>{html.escape(line)}</li>" for line in view.policy)
        return f"Set by <b>{html.escape(who)}</b>{html.escape(when)}.<ul>{lines}</ul>"

    def _me_html(self, view: RosterView) -> str:
        identity = self.session.identity
        if identity is None:
            return "You have no reviewer identity on this device yet (Identity…)."
        me = view.me
        you = f"{html.escape(identity.display_name)} &lt;{html.escape(identity.principal)}&gt;"
        if me is None:
            if view.my_request is not None:
                return (
                    f"You ({you}) asked to join; your request is waiting for the owner or an "
                    "admin to approve it."
                )
            return f"You ({you}) are not on this roster, so you cannot approve or reject here."
        models = ", ".join(html.escape(view.model_name(m)) for m in me.models)
        rights = {"Owner": ", the owner", "Admin": ", an admin"}.get(me.rights, "")
        text = f"You ({you}) are on the roster as {me.role}{rights}"
        text += f", for {models}." if models else "."
        for mid in view.my_consent_models:
            text += "<br>" + html.escape(
                consent_sentence(view.consents.get(mid), view.model_name(mid), you=True)
            )
        return text

    def _why_no_signing(self) -> str | None:
        """Why nothing can be signed from this screen now (None: it can)."""
        view = self.session.roster
        trust = self.session.trust
        if self.session.identity is None:
            return "Create your identity first (Identity…): signing needs your key."
        if self.session.read_only_reason is not None:
            return self.session.read_only_reason
        if view is not None and view.exists and not view.ok:
            return "The signed roster is damaged: nothing can be signed here."
        if trust is None or not trust.ok:
            return "Trust the workspace's owner first (Trust this workspace…)."
        return None

    def _why_not_approve(self) -> str | None:
        """Why Approve is greyed out (None: it is not)."""
        view = self.session.roster
        if view is None or not view.pending:
            return None
        if not view.i_am_admin:
            return "Only the owner or an admin can approve join requests; you are neither."
        why = self._why_no_signing()
        if why is not None:
            return why
        if not self._selected_requests():
            return "Select the requests to approve (Ctrl or Shift + click for several)."
        return None

    def _update_buttons(self, *_: object) -> None:
        view = self.session.roster
        trust = self.session.trust
        no_signing = self._why_no_signing()
        self.trust_button.setVisible(trust is not None and trust.state == UNPINNED)

        # Each button is enabled exactly when its action would be accepted; otherwise the
        # reason is shown beside it and in its tooltip.
        notes: list[str] = []
        join_shown = view is not None and view.exists and view.me is None
        join_why: str | None = None
        if join_shown:
            assert view is not None
            join_why = (
                "Your request is already waiting." if view.my_request is not None else no_signing
            )
        self.join_button.setVisible(join_shown)
        self.join_button.setEnabled(join_shown and join_why is None)
        self.join_button.setToolTip(_JOIN_TIP if join_why is None else f"{_JOIN_TIP} — {join_why}")
        # "Your request is already waiting" is said in the text above; no need to repeat it.
        if join_shown and join_why is not None and view is not None and view.my_request is None:
            notes.append(f"Join: {join_why}")

        consent_shown = view is not None and bool(view.my_consent_models)
        self.consent_button.setVisible(consent_shown)
        self.consent_button.setEnabled(consent_shown and no_signing is None)
        self.consent_button.setToolTip(
            _CONSENT_TIP if no_signing is None else f"{_CONSENT_TIP} — {no_signing}"
        )
        if consent_shown and no_signing is not None:
            notes.append(f"My consent: {no_signing}")
        self.me_note.setText("\n".join(notes))
        self.me_note.setVisible(bool(notes))

        self._update_people_buttons(view, no_signing)
        chosen = self._selected_requests()
        self.approve_button.setText(
            f"&Approve {len(chosen)} selected" if len(chosen) > 1 else "&Approve"
        )
        self.request_details.setText(
            "\n".join(f"{r.name}'s key: {r.fingerprint}" for r in chosen)
            if view is not None and view.pending
            else ""
        )
        self.request_details.setVisible(bool(chosen))
        approve_why = self._why_not_approve()
        self.approve_button.setVisible(view is not None and bool(view.pending))
        self.approve_button.setEnabled(
            view is not None and bool(view.pending) and approve_why is None
        )
        self.approve_button.setToolTip(
            _APPROVE_TIP if approve_why is None else f"{_APPROVE_TIP} — {approve_why}"
        )
        if view is None or not view.pending:
            self.requests_note.setText("")
        elif approve_why is not None:
            self.requests_note.setText(approve_why)
        else:
            self.requests_note.setText(
                "Approving adds them to the roster, signed with your key. Check that you know "
                "them before you approve."
            )

    def _update_people_buttons(self, view: RosterView | None, no_signing: str | None) -> None:
        """Add, Remove, Revoke, Admin: enabled when the roster would take the change.

        Only who may sign at all is judged here (the owner, an admin); the roster itself judges
        the rest, and what it refuses is shown in its words.
        """
        person = self._selected_person()
        why: str | None = no_signing
        if why is None and (view is None or not view.i_am_admin):
            why = "Only the owner or an admin changes the roster; you are neither."
        picked = why or ("Select a person first." if person is None else None)
        tips = {
            self.add_button: ("Add someone by the key line they sent you", why),
            self.remove_button: (
                "Take the selected person off the roster (their decisions keep counting)",
                picked
                or (
                    "The owner cannot be removed." if person is not None and person.owner else None
                ),
            ),
            self.revoke_button: (
                "Revoke one key of the selected person (a lost or stolen laptop)",
                picked
                or (
                    "They have no key to revoke."
                    if person is not None and not person.keys
                    else None
                ),
            ),
        }
        owner = view is not None and view.me is not None and view.me.owner
        admin_why = picked
        if admin_why is None and person is not None:
            if person.owner:
                admin_why = "The owner is more than an admin."
            elif not owner:
                admin_why = "Only the owner appoints or dismisses admins."
        dismiss = person is not None and person.admin and not person.owner
        self.admin_button.setText("Dismiss as a&dmin…" if dismiss else "Make a&dmin…")
        tips[self.admin_button] = (
            "Let the selected person change the roster and the rules, or stop them",
            admin_why,
        )
        for button, (tip, reason) in tips.items():
            button.setEnabled(reason is None)
            button.setToolTip(tip if reason is None else f"{tip} — {reason}")
        admin = view is not None and view.i_am_admin
        damaged = view is not None and view.exists and not view.ok
        self.repair_button.setVisible(damaged and admin)
        self._update_reset_button(view, picked, person, owner)
        self._update_accept_button(view, no_signing)

    def _update_reset_button(
        self, view: RosterView | None, picked: str | None, person: PersonRow | None, owner: bool
    ) -> None:
        """Reset: shown to the owner and admins; only the owner resets, only a model."""
        self.reset_button.setVisible(view is not None and view.i_am_admin)
        why = picked
        if why is None and not owner:
            why = "Only the owner resets a model's key."
        if why is None and person is not None and person.role != "model":
            why = "Only a model's key is reset; anyone else's new key is added with Add person."
        tip = (
            "Give the selected model a new key when she lost every device with hers: everyone "
            "is told, her consent lapses until she signs it again, her rejects stand"
        )
        self.reset_button.setEnabled(why is None)
        self.reset_button.setToolTip(tip if why is None else f"{tip} — {why}")

    def _update_accept_button(self, view: RosterView | None, no_signing: str | None) -> None:
        """Accept: only as the roster takes it (her own log, or the owner; never an admin)."""
        log = self.gap_choice.currentData()
        why = no_signing
        if why is None and (view is None or view.me is None):
            why = "You are not on this roster, so you cannot sign here."
        if why is None and view is not None and isinstance(log, str):
            identity = self.session.identity
            why = view.why_not_accept(log, identity.principal if identity else None)
        self.accept_button.setEnabled(why is None and isinstance(log, str))
        self.accept_button.setToolTip(_ACCEPT_TIP if why is None else f"{_ACCEPT_TIP} — {why}")
        self.accept_note.setText(why or "")
        self.accept_note.setVisible(why is not None)

    def _selected_requests(self) -> list[RequestRow]:
        out = []
        for index in self.requests.selectionModel().selectedRows():
            obj = self.requests_model.row_object(self.requests_proxy.mapToSource(index).row())
            if isinstance(obj, RequestRow):
                out.append(obj)
        return out

    def _selected_person(self) -> PersonRow | None:
        rows = self.people.selectionModel().selectedRows()
        if not rows:
            return None
        obj = self.people_model.row_object(self.people_proxy.mapToSource(rows[0]).row())
        return obj if isinstance(obj, PersonRow) else None

    def _people_selected(self, *_: object) -> None:
        person = self._selected_person()
        if person is None:
            self.person_details.setText("")
        else:
            codes = ", ".join(person.keys) or "no key"
            self.person_details.setText(f"{person.name}'s key: {codes}")
        self._update_buttons()

    # -- acting --------------------------------------------------------------------------------

    def select_request(self, principal: str) -> bool:
        """Select the join request of ``principal`` alone; False when there is none."""
        return self.select_requests([principal])

    def select_requests(self, principals: Iterable[str]) -> bool:
        """Select the join requests of ``principals``; False when one is not there."""
        wanted = set(principals)
        selection = QItemSelection()
        found: set[str] = set()
        for row in range(self.requests_proxy.rowCount()):
            obj = self.requests_proxy.index(row, 0).data(Qt.ItemDataRole.UserRole)
            if isinstance(obj, RequestRow) and obj.principal in wanted:
                left = self.requests_proxy.index(row, 0)
                right = self.requests_proxy.index(row, self.requests_proxy.columnCount() - 1)
                selection.select(left, right)
                found.add(obj.principal)
        self.requests.selectionModel().select(
            selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        return found == wanted

    def select_person(self, principal: str) -> bool:
        """Select ``principal`` in the people table; False when they are not on it."""
        for row in range(self.people_proxy.rowCount()):
            obj = self.people_proxy.index(row, 0).data(Qt.ItemDataRole.UserRole)
            if isinstance(obj, PersonRow) and obj.principal == principal:
                self.people.selectRow(row)
                return True
        return False

    def approve_selected(self) -> None:
        """Approve the selected join requests, one signed entry each."""
        chosen = self._selected_requests()
        if not chosen:
            return
        self.approve_button.setEnabled(False)
        names = {r.principal: r for r in chosen}
        say(self.message, f"Signing: adding {', '.join(names)} to the roster…")

        def done(outcome: object) -> None:
            if not isValid(self):  # closed meanwhile
                return
            assert isinstance(outcome, JoinOutcome)
            added = [names[p] for p in outcome.added if p in names]
            if len(added) == 1:
                req = added[0]
                text = (
                    f"Added {req.name} <{req.principal}> as {req.role} for "
                    f"{', '.join(req.models) or 'no models'}; signed with your key."
                )
            else:
                text = (
                    f"Added {len(added)} ({', '.join(r.name for r in added)}); each signed with "
                    "your key."
                )
            refused = "; ".join(f"{p}: {app_message(m)}" for p, m in outcome.refused)
            if refused:
                text += f" Not approved: {refused}"
            say(self.message, text, error=bool(refused))

        self.session.roster_action(
            self.session.backend.approve_joins,
            tuple(names),
            on_done=done,
            on_error=lambda message: self._refused("Not approved", message),
        )

    def _refused(self, what: str, message: str) -> None:
        if not isValid(self):
            return
        say(self.message, f"{what}: {app_message(message)}", error=True)
        self._update_buttons()

    def _open_child(self, dialog: QDialog, on_finished: Callable[[int], None]) -> None:
        def finished(result: int) -> None:
            if self.child is dialog:
                self.child = None
            on_finished(result)
            dialog.deleteLater()

        dialog.finished.connect(finished)
        self.child = dialog
        dialog.open()

    def open_add_person(self) -> None:
        """Add a person by the key line they sent."""
        self._open_child(AddPersonDialog(self.session, self), lambda _: None)

    def open_rules(self) -> None:
        """The workspace's rules, each in words; a change is signed."""
        from twinreview.ui.owner.policy_editor import PolicyEditor

        self._open_child(PolicyEditor(self.session, self), lambda _: None)

    def _confirm(self, title: str, text: str, verb: str, on_yes: Callable[[], None]) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, self
        )
        ok = box.addButton(verb, QMessageBox.ButtonRole.AcceptRole)
        ok.setToolTip("Sign this change with your key")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self._open_child(box, lambda _: on_yes() if box.clickedButton() is ok else None)

    def _change(self, what: str, done_text: str, fn: Callable[..., object], *args: object) -> None:
        say(self.message, "Signing with your key…")

        def done(_: object) -> None:
            if isValid(self):
                say(self.message, done_text)

        self.session.roster_action(
            fn, *args, on_done=done, on_error=lambda m: self._refused(what, m)
        )

    def ask_remove(self) -> None:
        """Confirm, then remove the selected person."""
        p = self._selected_person()
        if p is None:
            return
        self._confirm(
            "Remove from the roster?",
            f"Remove {p.name} <{p.principal}> from the roster? They cannot approve or reject "
            "here any more. Their earlier decisions keep counting.",
            "&Remove",
            lambda: self._change(
                "Not removed",
                f"Removed {p.name}; signed with your key. Their earlier decisions keep counting.",
                self.session.backend.remove_person,
                p.principal,
            ),
        )

    def ask_admin(self) -> None:
        """Confirm, then appoint or dismiss the selected person as an admin."""
        p = self._selected_person()
        if p is None:
            return
        if p.admin:
            title, verb = "Dismiss as admin?", "&Dismiss as admin"
            text = (
                f"{p.name} <{p.principal}> will no longer change the roster or the rules. "
                "They stay on the roster."
            )
        else:
            title, verb = "Make an admin?", "Make &admin"
            text = (
                f"Make {p.name} <{p.principal}> an admin? Admins add and remove people, revoke "
                "keys, approve join requests and change the workspace's rules, each signed "
                "with their own key."
            )
        self._confirm(
            title,
            text,
            verb,
            lambda: self._change(
                "Not changed",
                f"{p.name} is {'no longer ' if p.admin else ''}an admin; signed with your key.",
                self.session.backend.set_admin,
                p.principal,
                not p.admin,
            ),
        )

    def ask_repair(self) -> None:
        """Confirm, then move the roster lines that failed verification aside."""

        def repaired(moved: object) -> None:
            if isValid(self):
                say(
                    self.message,
                    f"Set aside the lines that failed verification ({moved}); the roster goes on."
                    if moved
                    else "The roster has no bad lines.",
                )

        self._confirm(
            "Set aside the bad roster lines?",
            "Lines that are not validly signed by someone allowed to make that change never "
            "counted. They are moved to a file beside the roster (nothing is deleted), so that "
            "the roster can be signed again.",
            "&Set aside",
            lambda: self.session.roster_action(
                self.session.backend.set_aside_bad_lines,
                on_done=repaired,
                on_error=lambda m: self._refused("Not set aside", m),
            ),
        )

    def ask_accept(self) -> None:
        """Confirm, then sign that the chosen log now ends where it does."""
        log = self.gap_choice.currentData()
        if not isinstance(log, str):
            return
        view = self.session.roster
        name = view.log_owner_name(log) if view is not None else None
        whose = f"{name}'s log ({log})" if name else f"the log {log}"
        self._confirm(
            "Accept that this log ends here?",
            f"Accept that {whose} now ends where it does? Do this only when it cannot be "
            "restored (a laptop lost before it synced). Verification keeps reporting the gap, "
            "but the images it blocks can be decided again; if the log changes again, it blocks "
            "again.",
            "&Accept",
            lambda: self._change(
                "Not accepted",
                f"Accepted that {whose} ends where it does; signed with your key.",
                self.session.backend.accept_log,
                log,
            ),
        )

    def ask_reset(self) -> None:
        """Give the selected model a new key (owner only), after saying what happens."""
        p = self._selected_person()
        if p is None or p.role != "model":
            return
        self._open_child(ResetKeyDialog(self.session, p, self), lambda _: None)

    def ask_revoke(self) -> None:
        """Choose one of the selected person's keys, then revoke it."""
        p = self._selected_person()
        if p is None:
            return
        dialog = RevokeKeyDialog(p, self)

        def finished(result: int) -> None:
            fp = dialog.chosen()
            if result != QDialog.DialogCode.Accepted or fp is None:
                return
            self._change(
                "Not revoked",
                f"Revoked {p.name}'s key {fp}; signed with your key.",
                self.session.backend.revoke_key,
                p.principal,
                fp,
            )

        self._open_child(dialog, finished)

    def _consent_clicked(self) -> None:
        view = self.session.roster
        if view is not None and view.my_consent_models:
            self._open_consent(view.my_consent_models[0])
