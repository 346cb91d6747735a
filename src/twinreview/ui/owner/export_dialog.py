"""Workspace › Export logs…: the signed roster and every decision log, signed.

Signed with this device's key, as ``twinreview export`` writes them
(``services.export.export_signed``).

An auditor checks the export with stock ``ssh-keygen`` (its README says how); a later report or
``verify --against`` compares the workspace with it to find a log that went back.
"""

from __future__ import annotations

import datetime as dt
import html

from PySide6.QtWidgets import QDialogButtonBox, QFormLayout, QVBoxLayout, QWidget

from twinreview.ui.backend import ExportOutcome
from twinreview.ui.owner.job_dialog import FOLDER, JobDialog, PathField, open_path, workspace_name
from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import wrap
from twinreview.ui.session import ReviewSession


class ExportLogsDialog(JobDialog):
    """Export and sign the roster and logs into a new (or empty) folder.

    Args:
        session: The review session (its workspace and signing key).
        parent: The window.
    """

    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(session.bridge, parent)
        self.session = session
        ws = session.workspace
        assert ws is not None
        self.setWindowTitle("Export the signed logs")
        heading = wrap(
            f"<h3>Export the signed logs of “{html.escape(workspace_name(session))}”</h3>The "
            "signed roster, "
            "every reviewer's decision log and the last entry of each, signed with your key. "
            "An auditor checks it without twinreview, with the ssh-keygen tool that comes with "
            "OpenSSH; later, a report compared with it shows any log that went back.",
            rich=True,
        )
        stamp = dt.date.today().isoformat()
        self.folder = PathField(
            str(ws.root.parent / f"{ws.root.name}-export-{stamp}"),
            mode=FOLDER,
            tip="A new or empty folder for the export",
        )
        form = QFormLayout()
        form.addRow("Export to", self.folder)
        self.export_button = self.buttons.addButton(
            "&Export and sign", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.export_button.setIcon(icon("approve"))
        self.export_button.setToolTip("Copy and sign the logs now (in the background)")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.open_button = self.buttons.addButton(
            "&Show the folder", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.open_button.setToolTip("Open the export folder")
        self.open_button.hide()
        self.outcome: ExportOutcome | None = None
        self.open_button.clicked.connect(
            lambda: open_path(self.outcome.outdir) if self.outcome is not None else None
        )
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary, 1)
        layout.addWidget(self.buttons)
        self.resize(720, self.sizeHint().height() + 40)

    def start(self) -> None:
        """Export in the background."""
        ws, outdir = self.session.workspace, self.folder.path()
        if ws is None or outdir is None:
            self.fail("Not exported: choose a new or empty folder to export to.")
            return
        why = self.session.why_not_decide
        if self.session.identity is None:
            self.fail(f"Not exported: the export is signed with your key. {why or ''}".strip())
            return
        self.open_button.hide()
        self.run(
            self.export_button,
            "Copying and signing the logs…",
            self.session.backend.export_logs,
            ws,
            outdir,
            on_done=self._exported,
            what_failed="Not exported",
        )

    def _exported(self, outcome: ExportOutcome) -> None:
        self.outcome = outcome
        roster = (
            f" (up to its entry {outcome.roster_seq})" if outcome.roster_seq is not None else ""
        )
        lines = [
            f"Exported {outcome.logs} decision log(s) and the signed roster{roster} to "
            f"{outcome.outdir}; the last entry of each is signed with your key.",
            f"Anyone can check them with ssh-keygen: the steps are in {outcome.readme}.",
        ]
        if outcome.problems:
            shown = "; ".join(outcome.problems[:3])
            more = f" (and {len(outcome.problems) - 3} more)" if len(outcome.problems) > 3 else ""
            lines.append(
                f"Verification found {len(outcome.problems)} problem(s), listed in that README: "
                f"{shown}{more}"
            )
        self.say("\n".join(lines), warn=bool(outcome.problems))
        self.open_button.show()
