"""The roster screen: people, join requests, the signed policy and roster problems."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import ROLE_WORDS, RowsModel, make_table, message_line, say, wrap
from twinreview.ui.roster_view import (
    MISMATCH,
    PINNED,
    UNPINNED,
    PersonRow,
    RequestRow,
    RosterView,
    TrustInfo,
    consent_sentence,
    date_words,
)
from twinreview.ui.session import ReviewSession

_APPROVE_TIP = "Add the selected person to the roster, signed with your key (owner or admin only)"
_JOIN_TIP = "Ask the owner to add you: writes a request signed with your key"
_CONSENT_TIP = "Give, narrow or withdraw your consent as a model"


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
        people_box = QGroupBox("People")
        QVBoxLayout(people_box).addWidget(self.people)

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
        self.requests.selectionModel().selectionChanged.connect(self._update_buttons)
        self.requests_empty = wrap("No join requests are waiting.")
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
        rl.addLayout(req_row)

        self.policy = wrap(rich=True, selectable=True)
        self.policy.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        policy_box = QGroupBox("Workspace rules (signed)")
        QVBoxLayout(policy_box).addWidget(self.policy)

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
        layout.addWidget(self.problems)
        layout.addWidget(me_box)
        layout.addLayout(grid, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        session.roster_changed.connect(self.refresh)
        session.trust_changed.connect(self.refresh)
        session.identity_changed.connect(self._update_buttons)
        self.resize(980, 680)
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
            self._update_buttons()
            return
        self.header.setText(self._header_html(view, trust))
        self.people_model.set_rows([(p, self._person_cells(view, p)) for p in view.people])
        self.people.resizeColumnsToContents()
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
        self.requests.resizeColumnsToContents()
        self.requests.setVisible(bool(view.pending))
        self.requests_empty.setVisible(not view.pending)
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
        self.me.setText(self._me_html(view))
        self._update_buttons()

    @staticmethod
    def _header_html(view: RosterView, trust: TrustInfo | None) -> str:
        if not view.exists:
            return (
                "<h3>Roster</h3>This workspace has no signed roster yet: nobody can approve or "
                "reject here. Its owner creates one (“Make me the owner” in the banner, or "
                "<tt>twinreview init</tt>)."
            )
        state = trust.state if trust is not None else view.pin_state
        pinned = {
            PINNED: "trusted on this device",
            UNPINNED: "<b>not trusted on this device yet</b>",
            MISMATCH: "<b style='color:#b3261e'>NOT the owner this device trusted</b>",
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
        if self._selected_request() is None:
            return "Select a request to approve it."
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

        approve_why = self._why_not_approve()
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

    def _selected_request(self) -> RequestRow | None:
        rows = self.requests.selectionModel().selectedRows()
        if not rows:
            return None
        source = self.requests_proxy.mapToSource(rows[0])
        obj = self.requests_model.row_object(source.row())
        return obj if isinstance(obj, RequestRow) else None

    # -- acting --------------------------------------------------------------------------------

    def select_request(self, principal: str) -> bool:
        """Select the join request of ``principal``; False when there is none."""
        for row in range(self.requests_proxy.rowCount()):
            obj = self.requests_proxy.index(row, 0).data(Qt.ItemDataRole.UserRole)
            if isinstance(obj, RequestRow) and obj.principal == principal:
                self.requests.selectRow(row)
                return True
        return False

    def approve_selected(self) -> None:
        """Approve the selected join request (the roster refuses anyone but owner and admins)."""
        req = self._selected_request()
        if req is None:
            return
        self.approve_button.setEnabled(False)
        say(self.message, f"Signing: adding {req.principal} to the roster…")

        def done(_: object) -> None:
            if not isValid(self):  # closed meanwhile
                return
            say(
                self.message,
                f"Added {req.name} <{req.principal}> as {req.role} for "
                f"{', '.join(req.models) or 'no models'}; signed with your key.",
            )

        def failed(message: str) -> None:
            if not isValid(self):
                return
            say(self.message, f"Not approved: {message}", error=True)
            self._update_buttons()

        self.session.roster_action(
            self.session.backend.approve_join, req.principal, on_done=done, on_error=failed
        )

    def _consent_clicked(self) -> None:
        view = self.session.roster
        if view is not None and view.my_consent_models:
            self._open_consent(view.my_consent_models[0])
