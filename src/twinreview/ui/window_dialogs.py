"""The window's dialogs: workspace folders, identity, trust, owner, roster, consent, publish, keys.

One object per window. Each dialog opens window-modal with ``open()`` (never a nested event loop);
a dialog opened from the roster screen opens over it. :attr:`WindowDialogs.current` is the dialog
open now (the trust prompt waits while one is). To add a dialog: a method here that builds it
and hands it to :meth:`WindowDialogs.open`, an entry in the action table (:mod:`.actions`) and
its slot in the window's ``_slots``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from twinreview.core.approval.policy import State
from twinreview.ui.app_errors import app_message
from twinreview.ui.dialogs import IdentityDialog, ShortcutSheet
from twinreview.ui.roster import ConsentDialog, JoinDialog, RosterDialog, TrustDialog
from twinreview.ui.roster_view import UNPINNED
from twinreview.ui.session import ReviewSession


class WindowDialogs(QObject):
    """Opens the window's dialogs and remembers which one is open."""

    def __init__(
        self,
        session: ReviewSession,
        window: QWidget,
        say: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._window = window
        self._say = say
        self._current: QWidget | None = None
        #: Workspaces whose owner this window already asked about: (root, owner fingerprint).
        self._asked_trust: set[tuple[str, str]] = set()
        #: Called after the identity dialog closed (the window refreshes what depends on it).
        self.identity_closed: Callable[[], None] = lambda: None

    @property
    def current(self) -> QWidget | None:
        """The dialog open now, if any."""
        return self._current

    def set_current(self, dialog: QWidget | None) -> None:
        """Remember the dialog open now (the decide flow opens its own)."""
        self._current = dialog

    def visible(self) -> bool:
        """True while a dialog is on screen."""
        try:
            return self._current is not None and self._current.isVisible()
        except RuntimeError:  # already deleted by Qt
            return False

    def open(self, dialog: QWidget, on_finished: Callable[[int], None]) -> None:
        """Open ``dialog`` (window-modal) over the roster screen if that is open."""
        below = self._current

        def finished(result: int) -> None:
            self._current = below if below is not None and below.isVisible() else None
            on_finished(result)
            dialog.deleteLater()

        dialog.finished.connect(finished)  # type: ignore[attr-defined]
        self._current = dialog
        dialog.open()  # type: ignore[attr-defined]

    def _parent(self) -> QWidget:
        below = self._current
        return below if isinstance(below, RosterDialog) and below.isVisible() else self._window

    def error(self, what: str, message: str) -> None:
        """Say that ``what`` failed, in the app's words, in the status line and a message box."""
        message = app_message(message)
        self._say(f"{what}: {message}")
        box = QMessageBox(
            QMessageBox.Icon.Critical, what, message, QMessageBox.StandardButton.Ok, self._window
        )
        self.open(box, lambda _: None)

    # -- folders --------------------------------------------------------------------------------

    def choose_folder(
        self, title: str, on_chosen: Callable[[Path], None], accept: str = ""
    ) -> None:
        """Ask for a folder; ``on_chosen`` gets it."""
        dialog = QFileDialog(self._window, title)
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        if accept:
            dialog.setLabelText(QFileDialog.DialogLabel.Accept, accept)
        dialog.fileSelected.connect(lambda p: on_chosen(Path(p)))
        self._current = dialog
        dialog.open()

    # -- identity and trust ---------------------------------------------------------------------

    def show_identity(self) -> None:
        """Create an identity (first run), or show the current one and its key line again."""
        session = self._session
        dialog = IdentityDialog(session.bridge, session.backend.create_identity, self._window)
        if session.identity is not None:
            dialog.show_existing(session.identity)
        elif session.read_only_reason and "keyring" in session.read_only_reason.lower():
            dialog.show_no_keyring(session.read_only_reason)

        def finished(_: int) -> None:
            self._current = None
            if dialog.done_identity is not None:
                session.set_identity(dialog.done_identity, None)
            elif session.identity is None:
                session.set_identity(None, dialog.read_only_reason)
            dialog.deleteLater()
            # A workspace opened meanwhile may still need its owner confirmed.
            self.identity_closed()

        dialog.finished.connect(finished)
        self._current = dialog
        dialog.open()

    def trust_changed(self) -> None:
        """Trust on first use: ask once per workspace and owner key, never over another dialog."""
        trust, ws = self._session.trust, self._session.workspace
        if trust is None or ws is None or trust.state != UNPINNED:
            return
        key = (str(ws.root), trust.owner_fingerprint or "")
        if key in self._asked_trust or self.visible():
            return
        self._asked_trust.add(key)
        self.ask_trust()

    def ask_trust(self) -> None:
        """Show the owner's key code; Trust pins it on this device, Not now changes nothing."""
        session = self._session
        trust = session.trust
        if trust is None or trust.state != UNPINNED or session.workspace is None:
            return
        dialog = TrustDialog(trust, self._parent())

        def finished(result: int) -> None:
            if result != TrustDialog.DialogCode.Accepted:
                self._say("Not trusted: you can look, but not approve or reject in this workspace.")
                return
            fingerprint = dialog.info.owner_fingerprint or ""
            self._say("Trusting the owner on this device…")
            session.roster_action(
                session.backend.trust_workspace,
                fingerprint,
                on_done=lambda _: self._say(
                    f"Trusted: this device now knows the owner's key {fingerprint}."
                ),
                on_error=lambda msg: self.error("Not trusted", msg),
            )

        self.open(dialog, finished)

    def make_owner(self) -> None:
        """Create the workspace's signed roster with this device's key as the owner."""
        session = self._session
        ws, identity = session.workspace, session.identity
        if ws is None or identity is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Make yourself the owner?",
            f"You become the owner of “{ws.name}”: your key signs who may approve here, and "
            "the workspace's rules. Everyone else checks your key's code with you once, the "
            "first time they open it.",
            QMessageBox.StandardButton.Cancel,
            self._window,
        )
        ok = box.addButton("Make me the &owner", QMessageBox.ButtonRole.AcceptRole)
        ok.setToolTip("Sign the first roster entry with your key")

        def finished(_: int) -> None:
            if box.clickedButton() is not ok:
                return
            self._say("Signing the roster…")
            session.roster_action(
                session.backend.make_owner,
                on_done=lambda _: self._say(
                    "You are the owner: add people from the Roster, or approve their join "
                    "requests there."
                ),
                on_error=lambda msg: self.error("Not created", msg),
            )

        self.open(box, finished)

    # -- the roster, consent, publishing --------------------------------------------------------

    def show_roster(self) -> None:
        """Open the roster screen of the open workspace."""
        if self._session.workspace is None:
            return
        self._session.refresh_roster()
        dialog = RosterDialog(
            self._session,
            open_join=self.show_join,
            open_consent=self.show_consent,
            open_trust=self.ask_trust,
            parent=self._window,
        )
        self.open(dialog, lambda _: None)

    def show_join(self) -> None:
        """Choose models and write a signed join request."""
        if self._session.roster is None or self._session.identity is None:
            return
        self.open(JoinDialog(self._session, self._parent()), lambda _: None)

    def show_consent(self, model_id: str = "") -> None:
        """As a model: give, narrow or withdraw consent for ``model_id`` (default: the first)."""
        roster = self._session.roster
        if roster is None or not roster.my_consent_models:
            self._say("Only a model on this workspace's roster gives consent here.")
            return
        if model_id not in roster.my_consent_models:
            model_id = roster.my_consent_models[0]
        self.open(ConsentDialog(self._session, model_id, self._parent()), lambda _: None)

    def show_publish(self) -> None:
        """Open the "Publish cleared…" dialog for the open workspace."""
        ws = self._session.workspace
        if ws is None:
            self._say("Open a workspace to publish its cleared assets.")
            return
        from twinreview.ui.publish_dialog import PublishDialog

        cleared = sum(
            1
            for i in self._session.items
            if i.status is not None and i.status.evaluation.state is State.CLEARED
        )
        dialog = PublishDialog(ws, self._session.bridge, cleared, parent=self._window)
        self.open(dialog, lambda _: None)

    def show_published(self, *, simple: bool = False) -> None:
        """Every published file and where it stands; in simple mode, where her images went."""
        session = self._session
        ws = session.workspace
        if ws is None:
            self._say("Open a workspace to see what was published from it.")
            return
        from twinreview.ui.published_view import PublishedDialog, WhereWentDialog

        def load(on_done: Callable[..., None], on_error: Callable[[str], None]) -> None:
            session.bridge.submit(
                session.backend.published,
                ws,
                on_done=on_done,
                on_error=lambda exc: on_error(str(exc)),
            )

        roster = session.roster
        if simple and roster is not None and roster.my_models:
            dialog: QWidget = WhereWentDialog(roster.my_models, load, self._window)
        else:
            dialog = PublishedDialog(load, self._window)
        self.open(dialog, lambda _: None)

    # -- keys -----------------------------------------------------------------------------------

    def show_shortcuts(self, actions: Sequence[QAction], extra: Sequence[tuple[str, str]]) -> None:
        """Show the shortcut sheet: every action, then ``extra`` (what, keys) rows."""
        sheet = ShortcutSheet(list(actions), self._window, extra=extra)

        def finished(_: int) -> None:
            self._current = None
            sheet.deleteLater()

        sheet.finished.connect(finished)
        self._current = sheet
        sheet.open()
