"""Workspace › Export report…: the sign-off report of the open workspace.

As ``twinreview report`` writes it (``services.report.write``), from the scan the app already
made.

The report is built and written off the GUI thread; the result says where it is and what it
counts, with buttons to open it or its folder.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QDialogButtonBox, QFormLayout, QVBoxLayout, QWidget

from twinreview.services.report.write import ReportFiles
from twinreview.ui.backend import ReportOutcome
from twinreview.ui.owner.job_dialog import (
    FOLDER,
    SAVE_FILE,
    JobDialog,
    PathField,
    open_path,
    workspace_name,
)
from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import wrap
from twinreview.ui.session import ReviewSession


class ReportDialog(JobDialog):
    """Write the sign-off report: an HTML page, and a CSV and JSON beside it if asked.

    Args:
        session: The review session (its workspace and finished scan).
        parent: The window.
    """

    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(session.bridge, parent)
        self.session = session
        ws = session.workspace
        assert ws is not None
        self.setWindowTitle("Export the sign-off report")
        heading = wrap(
            f"<h3>Sign-off report of “{html.escape(workspace_name(session))}”</h3>Every image "
            "with its "
            "thumbnail, findings, AI disclosure and each signed decision, its status under the "
            "model's own consent, and who set the workspace's rules. One page, to print or to "
            "send; nothing in the workspace changes.",
            rich=True,
        )
        self.html = PathField(
            str(ws.root.parent / f"{ws.root.name}-report.html"),
            mode=SAVE_FILE,
            tip="Where to write the report (a web page that works offline)",
            filters="Web page (*.html)",
        )
        self.csv = QCheckBox("A spreadsheet (CSV) beside it, one row per image")
        self.csv.setToolTip("Written next to the page, with the same name and .csv")
        self.json = QCheckBox("The whole report as data (JSON) beside it")
        self.json.setToolTip("Written next to the page, with the same name and .json")
        self.export = PathField(
            mode=FOLDER,
            tip="Optional: an export of the signed logs made earlier; the report checks its "
            "signatures and whether any log went back since",
        )
        self.export.edit.setPlaceholderText("optional: an earlier export of the logs, to compare")
        form = QFormLayout()
        form.addRow("Report", self.html)
        form.addRow("", self.csv)
        form.addRow("", self.json)
        form.addRow("Compare with", self.export)
        self.export_button = self.buttons.addButton(
            "&Export report", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.export_button.setIcon(icon("approve"))
        self.export_button.setToolTip("Write the report now (in the background)")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.open_button = self.buttons.addButton(
            "&Open the report", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.open_button.setToolTip("Open it in your web browser")
        self.open_button.hide()
        self.written: tuple[Path, ...] = ()
        self.open_button.clicked.connect(self._open_report)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary, 1)
        layout.addWidget(self.buttons)
        self.resize(720, self.sizeHint().height() + 40)

    def _open_report(self) -> None:
        if self.written:
            open_path(self.written[0])

    def files(self) -> ReportFiles | None:
        """The forms asked for (None: no report path)."""
        page = self.html.path()
        if page is None:
            return None
        if page.suffix.lower() not in (".html", ".htm"):
            page = page.with_name(page.name + ".html")
        return ReportFiles(
            page,
            page.with_suffix(".csv") if self.csv.isChecked() else None,
            page.with_suffix(".json") if self.json.isChecked() else None,
        )

    def start(self) -> None:
        """Check what is needed, then write the report in the background."""
        ws, scan = self.session.workspace, self.session.scan_result
        files = self.files()
        if files is None:
            self.fail("Not written: choose where to write the report.")
            return
        if ws is None or scan is None or scan.cancelled or self.session.scan.running:
            self.fail(
                "Not written: the scan of this workspace has not finished. Wait for it (or "
                "rescan), then export the report."
            )
            return
        export = self.export.path()
        self.open_button.hide()
        self.run(
            self.export_button,
            "Writing the report…",
            self.session.backend.export_report,
            ws,
            scan,
            files,
            (export,) if export is not None else (),
            on_done=self._written,
            what_failed="Not written",
        )

    def _written(self, outcome: ReportOutcome) -> None:
        self.written = outcome.written
        counts = ", ".join(f"{n} {state}" for state, n in outcome.counts.items() if n)
        lines = [
            f"Written: {', '.join(str(p) for p in outcome.written)}",
            f"{outcome.assets} images: {counts or 'none'}.",
        ]
        warn = False
        if outcome.log_problems:
            warn = True
            lines.append(
                f"{outcome.log_problems} problem(s) in the decision logs: the report lists "
                "them, and the images they touch are blocked."
            )
        if outcome.bad_exports:
            warn = True
            lines.append(
                f"{outcome.bad_exports} file(s) of the export are not validly signed or no "
                "longer match the workspace: see the report."
            )
        self.say("\n".join(lines), warn=warn)
        self.open_button.setVisible(bool(outcome.written))
