"""What the window's owner actions open: one method per action, so the window only names them.

The window passes its way of opening dialogs (window-modal, over the roster screen when that is
open, remembered as the open dialog) and its status line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QWidget

from twinreview.ui.session import ReviewSession

#: ``open_dialog(dialog, on_finished)``: the window opens a dialog and is told when it closed.
OpenDialog = Callable[[QWidget, Callable[[int], None]], None]


class OwnerScreens:
    """Opens the owner's screens for the window.

    Args:
        session: The review session.
        parent: The window (the dialogs' parent).
        open_dialog: How the window opens a dialog.
        status: Shows one line in the window's status bar.
    """

    def __init__(
        self,
        session: ReviewSession,
        parent: QWidget,
        open_dialog: OpenDialog,
        status: Callable[[str], None],
    ) -> None:
        self._session = session
        self._parent = parent
        self._open = open_dialog
        self._status = status

    def _need_workspace(self, what: str) -> bool:
        if self._session.workspace is None:
            self._status(f"Open a workspace first to {what}.")
            return False
        return True

    def export_report(self) -> None:
        """Workspace › Export report… (the sign-off report)."""
        if not self._need_workspace("export its report"):
            return
        from twinreview.ui.owner.report_dialog import ReportDialog

        self._open(ReportDialog(self._session, self._parent), lambda _: None)

    def export_logs(self) -> None:
        """Workspace › Export logs… (signed, for an auditor)."""
        if not self._need_workspace("export its signed logs"):
            return
        from twinreview.ui.owner.export_dialog import ExportLogsDialog

        self._open(ExportLogsDialog(self._session, self._parent), lambda _: None)

    def check_published(self) -> None:
        """Workspace › Check a published file… (no workspace needed: an export is enough)."""
        from twinreview.ui.owner.check_dialog import CheckPublishedDialog

        self._open(CheckPublishedDialog(self._session, self._parent), lambda _: None)

    def edit_rules(self) -> None:
        """Workspace › Workspace rules… (each rule in words, signed)."""
        if not self._need_workspace("see its rules"):
            return
        if self._session.roster is None:
            self._session.refresh_roster()
        from twinreview.ui.owner.policy_editor import PolicyEditor

        self._open(PolicyEditor(self._session, self._parent), lambda _: None)

    def create_workspace(self, create: Callable[[Path, str], None]) -> None:
        """File › Create workspace…: ask for the folder and the name, then ``create`` it."""
        from twinreview.ui.owner.create_dialog import CreateWorkspaceDialog

        identity = self._session.identity
        owner = f"{identity.display_name} <{identity.principal}>" if identity else "you"
        self._open(CreateWorkspaceDialog(create, owner, self._parent), lambda _: None)
