"""The signed roster in the app: trust on first use, the roster screen, joining, a model's consent.

- :class:`TrustDialog`: asked once when a workspace's owner is not pinned on this device; shows
  the owner's key fingerprint to check by phone or in person.
- :class:`RosterDialog`: people, join requests (Approve), the signed policy and who set it, roster
  problems; "Join this workspace" and "My consent" for the identity.
- :class:`JoinDialog`: choose models, write the signed join request.
- :class:`ConsentDialog`: a model gives, narrows or withdraws her consent in plain words.

The dialogs read :attr:`ReviewSession.roster` (a Qt-free
:class:`~twinreview.ui.roster_view.RosterView`) and make changes through
:meth:`ReviewSession.roster_action`, which runs the service call on a worker. Every dialog opens
with ``open()`` and reports through signals; no nested event loop.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from twinreview.ui.resources import icon
from twinreview.ui.roster_view import (
    MISMATCH,
    PINNED,
    UNPINNED,
    ConsentInfo,
    PersonRow,
    RequestRow,
    RosterView,
    TrustInfo,
    consent_sentence,
    date_words,
)
from twinreview.ui.session import ReviewSession

_ROLE_WORDS = {"model": "Model", "agent": "Agent", "brand": "Brand"}
_APPROVE_TIP = "Add the selected person to the roster, signed with your key (owner or admin only)"
_JOIN_TIP = "Ask the owner to add you: writes a request signed with your key"
_CONSENT_TIP = "Give, narrow or withdraw your consent as a model"
#: Colours of the message lines (readable on light and dark palettes' base colours).
_ERROR_STYLE = "color: #b3261e;"
_OK_STYLE = "color: #1f7a3f;"

_Index = QModelIndex | QPersistentModelIndex


def _mono(size_factor: float = 1.0) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    if size_factor != 1.0:
        font.setPointSizeF(font.pointSizeF() * size_factor)
    return font


def _wrap(text: str = "", *, rich: bool = False, selectable: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _say(label: QLabel, text: str, *, error: bool = False) -> None:
    label.setStyleSheet(_ERROR_STYLE if error else _OK_STYLE)
    label.setText(text)


def _message_line() -> QLabel:
    """A line for results and refusals; its room is kept so the dialog never re-lays out."""
    label = _wrap(selectable=True)
    label.setMinimumHeight(label.fontMetrics().lineSpacing() * 2 + 4)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return label


# -- a small read-only table model ---------------------------------------------------------------


class RowsModel(QAbstractTableModel):
    """Rows of text for a table view; each row keeps the object it shows (``UserRole``).

    Args:
        headers: Column titles.
        tips: Column tooltips (what the column means).
    """

    def __init__(
        self, headers: Sequence[str], tips: Sequence[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._headers = list(headers)
        self._tips = list(tips)
        self._rows: list[tuple[object, tuple[str, ...]]] = []

    def set_rows(self, rows: Sequence[tuple[object, Sequence[str]]]) -> None:
        """Replace every row: ``(object, cell texts)``."""
        self.beginResetModel()
        self._rows = [(obj, tuple(cells)) for obj, cells in rows]
        self.endResetModel()

    def row_object(self, row: int) -> object:
        """The object of ``row``."""
        return self._rows[row][0]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Rows (none under a valid parent: a flat table)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Columns."""
        return 0 if parent.isValid() else len(self._headers)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text, its tooltip, or the row's object (``UserRole``)."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        obj, cells = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            col = index.column()
            return cells[col] if 0 <= col < len(cells) else None
        if role == Qt.ItemDataRole.UserRole:
            return obj
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles and their tooltips."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._headers):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._headers[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tips[section] if section < len(self._tips) else None
        return None


def _table(model: RowsModel, tip: str) -> tuple[QTableView, QSortFilterProxyModel]:
    proxy = QSortFilterProxyModel(model)
    proxy.setSourceModel(model)
    proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    view = QTableView()
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    view.setWordWrap(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    view.setToolTip(tip)
    return view, proxy


# -- trust on first use --------------------------------------------------------------------------


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
        title = _wrap(f"<h3>Do you trust the owner of “{html.escape(name)}”?</h3>", rich=True)
        intro = _wrap(
            "Who may approve images here, and each model's consent, are signed by the "
            "workspace's owner. Anyone who can write to this folder could put their own list "
            "there, so twinreview asks you once to confirm who the owner is."
        )
        shown = f"{info.owner_name} <{owner}>" if info.owner_name else owner
        who = _wrap(
            f"Owner: <b>{html.escape(shown)}</b><br>Their key's code:", rich=True, selectable=True
        )
        self.code = QLineEdit(info.owner_fingerprint or "")
        self.code.setReadOnly(True)
        self.code.setFont(_mono(1.15))
        self.code.setToolTip("The owner key's fingerprint; read it out and compare it exactly")
        self.code.setMinimumWidth(self.code.fontMetrics().horizontalAdvance(self.code.text()) + 24)
        self.copy = QPushButton(icon("copy"), "Copy")
        self.copy.setToolTip("Copy the code to the clipboard")
        self.copy.clicked.connect(self._copy)
        code_row = QHBoxLayout()
        code_row.addWidget(self.code, 1)
        code_row.addWidget(self.copy)
        self.check = _wrap(
            f"<b>Check this code with {html.escape(owner)} by phone or in person before you "
            "trust it.</b> If it is not exactly the code they read to you, choose Not now: "
            "someone else may have put their own roster in this folder.",
            rich=True,
        )
        after = _wrap(
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


# -- the roster screen ---------------------------------------------------------------------------


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
        self.header = _wrap(rich=True, selectable=True)
        self.problems = _wrap(rich=True)
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
        self.people, self.people_proxy = _table(self.people_model, "Everyone on the signed roster")
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
        self.requests, self.requests_proxy = _table(
            self.requests_model, "Signed join requests waiting for the owner or an admin"
        )
        self.requests.selectionModel().selectionChanged.connect(self._update_buttons)
        self.requests_empty = _wrap("No join requests are waiting.")
        self.approve_button = QPushButton(icon("approve"), "&Approve")
        self.approve_button.setToolTip(_APPROVE_TIP)
        self.approve_button.clicked.connect(self.approve_selected)
        self.requests_note = _wrap()
        self.message = _message_line()
        req_row = QHBoxLayout()
        req_row.addWidget(self.requests_note, 1)
        req_row.addWidget(self.approve_button)
        requests_box = QGroupBox("Join requests")
        rl = QVBoxLayout(requests_box)
        rl.addWidget(self.requests)
        rl.addWidget(self.requests_empty)
        rl.addLayout(req_row)

        self.policy = _wrap(rich=True, selectable=True)
        self.policy.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        policy_box = QGroupBox("Workspace rules (signed)")
        QVBoxLayout(policy_box).addWidget(self.policy)

        self.me = _wrap(rich=True)
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
        self.me_note = _wrap()
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
                        _ROLE_WORDS.get(r.role, r.role),
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
            _ROLE_WORDS.get(p.role, p.role),
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
        _say(self.message, f"Signing: adding {req.principal} to the roster…")

        def done(_: object) -> None:
            if not isValid(self):  # closed meanwhile
                return
            _say(
                self.message,
                f"Added {req.name} <{req.principal}> as {req.role} for "
                f"{', '.join(req.models) or 'no models'}; signed with your key.",
            )

        def failed(message: str) -> None:
            if not isValid(self):
                return
            _say(self.message, f"Not approved: {message}", error=True)
            self._update_buttons()

        self.session.roster_action(
            self.session.backend.approve_join, req.principal, on_done=done, on_error=failed
        )

    def _consent_clicked(self) -> None:
        view = self.session.roster
        if view is not None and view.my_consent_models:
            self._open_consent(view.my_consent_models[0])


# -- joining -------------------------------------------------------------------------------------


class JoinDialog(QDialog):
    """Choose the models to review; writes a join request signed with this device's key."""

    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        view = session.roster
        identity = session.identity
        assert view is not None
        assert identity is not None
        self.setWindowTitle("Join this workspace")
        role = _ROLE_WORDS.get(identity.role, identity.role).lower()
        intro = _wrap(
            f"<h3>Join “{html.escape(view.name)}”</h3>"
            f"You ask to review here as <b>{html.escape(identity.display_name)}</b> "
            f"&lt;{html.escape(identity.principal)}&gt;, {html.escape(role)} (the role your key "
            "was made for). The request is signed with your key and saved in the workspace "
            f"folder; the owner, {html.escape(view.person_name(view.owner))}, approves it.",
            rich=True,
        )
        question = _wrap(
            "Which models are you a model for? Choose only yourself."
            if identity.role == "model"
            else "Which models do you review?"
        )
        self.models: dict[str, QCheckBox] = {}
        box = QVBoxLayout()
        for mid, name in sorted(view.models.items(), key=lambda kv: kv[1].lower()):
            cb = QCheckBox(f"{name} ({mid})" if name != mid else mid)
            cb.setToolTip(f"Ask to decide for model {mid}")
            self.models[mid] = cb
            box.addWidget(cb)
        if not self.models:
            box.addWidget(_wrap("This workspace has no models yet."))
        self.message = _message_line()
        buttons = QDialogButtonBox()
        self.send_button = buttons.addButton(
            "Send my request", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.send_button.setIcon(icon("identity"))
        self.send_button.setToolTip("Sign the join request with your key and save it")
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button.setToolTip("Close without asking to join (Esc)")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(question)
        layout.addLayout(box)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())

    def chosen(self) -> list[str]:
        """The ticked model ids."""
        return [mid for mid, cb in self.models.items() if cb.isChecked()]

    def send(self) -> None:
        """Write the signed request."""
        models = self.chosen()
        if not models:
            _say(self.message, "Tick at least one model.", error=True)
            return
        self.send_button.setEnabled(False)

        def done(name: object) -> None:
            if not isValid(self):  # closed meanwhile
                return
            _say(
                self.message,
                f"Your request is signed and saved (roster/requests/{name}). The owner approves "
                "it in their app; then you can approve and reject here.",
            )
            self.send_button.hide()
            self.close_button.setText("Close")

        def failed(message: str) -> None:
            if not isValid(self):
                return
            self.send_button.setEnabled(True)
            _say(self.message, f"Not sent: {message}", error=True)

        self.session.roster_action(
            self.session.backend.request_join, tuple(models), on_done=done, on_error=failed
        )


# -- a model's consent ---------------------------------------------------------------------------


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
        self.title = _wrap(rich=True)
        self.current = _wrap()
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
        wl.addWidget(_wrap("You always approve each image of you yourself. Also needed:"))
        who_row = QHBoxLayout()
        who_row.addWidget(self.need_agent)
        who_row.addSpacing(16)
        who_row.addWidget(self.need_brand)
        who_row.addStretch(1)
        wl.addLayout(who_row)

        self.message = _message_line()
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
            _say(self.message, "Tick at least one use, or choose Any use.", error=True)
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
        _say(self.message, "Signing with your key…")

        def done(_: object) -> None:
            if not isValid(self):  # closed meanwhile
                return
            self.sign_button.setEnabled(True)
            _say(self.message, "Withdrawn and signed." if withdraw else "Signed.")

        def failed(message: str) -> None:
            if not isValid(self):
                return
            self.sign_button.setEnabled(True)
            self._show_current()
            _say(self.message, f"Not signed: {message}", error=True)

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


#: Banner colours per kind: background, text, border.
_BANNER_STYLES = {
    "error": ("#fde7e9", "#5f1410", "#d9a2a2"),
    "warn": ("#fff4ce", "#4d3800", "#e3c96b"),
    "info": ("#e5f1fb", "#0b3558", "#9cc3e6"),
}


class TrustBanner(QFrame):
    """A line above the review pages about who may sign here, with the action that fixes it.

    Shown for: an owner other than the pinned one (a hard error, no action), an owner not yet
    trusted (Check and trust), no signed roster (Make me the owner), the identity not on the
    roster (Join this workspace), a model who has not consented (Give my consent).

    Signals:
        trust_requested(), owner_requested(), join_requested(), consent_requested(str).
    """

    trust_requested = Signal()
    owner_requested = Signal()
    join_requested = Signal()
    consent_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trust_banner")
        self.kind = ""
        self.label = _wrap(rich=True, selectable=True)
        self.trust_button = QPushButton(icon("approve"), "Check and &trust…")
        self.trust_button.setToolTip("See the owner's key code, check it with them, trust it")
        self.trust_button.clicked.connect(self.trust_requested.emit)
        self.owner_button = QPushButton(icon("identity"), "Make me the &owner")
        self.owner_button.setToolTip(
            "Create this workspace's signed roster with your key as its owner"
        )
        self.owner_button.clicked.connect(self.owner_requested.emit)
        self.join_button = QPushButton(icon("identity"), "&Join this workspace…")
        self.join_button.setToolTip("Ask the owner to add you (a request signed with your key)")
        self.join_button.clicked.connect(self.join_requested.emit)
        self.consent_button = QPushButton(icon("approve"), "Give my &consent…")
        self.consent_button.setToolTip("Say which uses of your images you allow, and until when")
        self._consent_model = ""
        self.consent_button.clicked.connect(
            lambda: self.consent_requested.emit(self._consent_model)
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.label, 1)
        self._buttons = (
            self.trust_button,
            self.owner_button,
            self.join_button,
            self.consent_button,
        )
        for b in self._buttons:
            layout.addWidget(b, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hide()

    def show_for(self, session: ReviewSession) -> None:
        """Show what matters for the open workspace, or hide."""
        trust, view, identity = session.trust, session.roster, session.identity
        has_key = identity is not None and session.read_only_reason is None
        shown: QPushButton | None = None
        style, text = "", ""
        if session.workspace is None or trust is None:
            pass
        elif trust.state == MISMATCH:
            style, text = "error", mismatch_text(trust)
        elif trust.state == "error":
            style, text = "error", html.escape(trust.message)
        elif trust.state == "no_roster":
            style = "warn"
            text = (
                "<b>This workspace has no signed roster yet</b>, so nobody can approve or reject "
                "here. If it is yours, make yourself its owner: your key then signs who may "
                "decide."
            )
            if has_key:
                shown = self.owner_button
            else:
                text += " (Create your identity first.)"
        elif trust.state == UNPINNED:
            style = "warn"
            text = (
                "<b>You have not trusted this workspace's owner on this device</b>, so you "
                f"cannot approve or reject here. Owner: {html.escape(trust.owner or '?')}, key "
                f"<tt>{html.escape(trust.owner_fingerprint or '?')}</tt>."
            )
            shown = self.trust_button
        elif view is not None and view.exists and not view.ok:
            style = "error"
            text = (
                "<b>The signed roster is damaged</b>: nothing can be signed here. "
                + html.escape(view.problems[0] if view.problems else "")
            )
        elif view is not None and identity is not None and view.me is None:
            style = "info"
            if view.my_request is not None:
                text = (
                    "You asked to join this workspace; your request is waiting for the owner "
                    f"({html.escape(view.person_name(view.owner))}) to approve it."
                )
            else:
                text = (
                    "You are not on this workspace's roster, so you cannot approve or reject here."
                )
                shown = self.join_button if has_key else None
        elif view is not None:
            waiting = [
                m
                for m in view.my_consent_models
                if view.consents.get(m) is None or view.consents[m].withdrawn
            ]
            if waiting:
                style = "info"
                self._consent_model = waiting[0]
                text = html.escape(
                    consent_sentence(
                        view.consents.get(waiting[0]), view.model_name(waiting[0]), you=True
                    )
                )
                shown = self.consent_button if has_key else None
        for b in self._buttons:
            b.setVisible(b is shown)
        self.kind = style
        if not style:
            self.hide()
            return
        bg, fg, border = _BANNER_STYLES[style]
        self.setStyleSheet(
            f"#trust_banner {{ background: {bg}; border: 1px solid {border}; border-radius: 4px; }}"
        )
        self.label.setStyleSheet(f"color: {fg}; background: transparent;")
        self.label.setText(text)
        self.show()
