"""Workspace › Check a published file…: was this published image really approved, by whom?

The auditor's question, as ``twinreview check-published`` answers it: each file's sign-off is
read from its Content Credentials and every decision it names is looked up in an export of the
signed logs. The open workspace, if any, is where the approved files are: with it the pixels
outside a stamped label are compared with the approved file (``--workspace``); a trust anchor
file may name the brand's certificate authority when the export carries none
(``--trust-anchor``), and the owner's key fingerprint as checked with the brand
(``--owner``). The first answer names the export's workspace and owner key, and whether this
device trusts that owner: anyone can make an export of a workspace of their own. The check runs
off the GUI thread through
:meth:`~twinreview.ui.backend.ReviewBackend.check_published`; each file's answer is one line,
confirmed or not, with the reasons in words.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from twinreview.services.publish.check import PublishedCheck
from twinreview.ui.app_errors import app_message
from twinreview.ui.message_style import error_colour, ok_colour
from twinreview.ui.owner.job_dialog import FOLDER, OPEN_FILE, JobDialog, PathField
from twinreview.ui.resources import icon
from twinreview.ui.roster.widgets import wrap
from twinreview.ui.session import ReviewSession

_ROLE_WORDS = {"model": "model", "agent": "agent", "brand": "brand"}


def owner_line(checks: Sequence[PublishedCheck]) -> tuple[bool, str] | None:
    """Whose export the answers are checked against: (owner known here, text), or None."""
    owner = checks[0].owner if checks else None
    if owner is None:
        return None
    text = app_message(owner.summary())
    return owner.known, f"{text[:1].upper()}{text[1:]}."


def check_lines(checks: Sequence[PublishedCheck]) -> list[tuple[bool, str]]:
    """Each file's answer in one sentence: (confirmed, text)."""
    out: list[tuple[bool, str]] = []
    for c in checks:
        name = Path(c.path).name
        if c.ok and c.signoff is not None:
            who = ", ".join(
                f"{d.principal} ({_ROLE_WORDS.get(d.role, d.role)})" for d in c.signoff.decisions
            )
            signer = (
                f" Published with Content Credentials signed by {c.signer}." if c.signer else ""
            )
            # The notes say how the pixels were checked (a stamped label) and her consent now.
            notes = "".join(f" {n[:1].upper()}{n[1:]}." for n in map(app_message, c.notes))
            out.append(
                (
                    True,
                    f"{name}: Approved by {who}: {len(c.signoff.decisions)} signed decision(s) "
                    f"found in the export and still standing, for the image data this file holds "
                    f"({c.signoff.asset}).{signer}{notes}",
                )
            )
        else:
            reasons = "; ".join(app_message(p) for p in c.problems) or "no sign-off found"
            out.append((False, f"{name}: Not confirmed: {reasons}."))
    return out


class CheckPublishedDialog(JobDialog):
    """Check published images against an export of the signed logs.

    Args:
        session: The review session (its backend and bridge; no workspace needed).
        parent: The window.
    """

    def __init__(self, session: ReviewSession, parent: QWidget | None = None) -> None:
        super().__init__(session.bridge, parent)
        self.session = session
        self.setWindowTitle("Check a published file")
        heading = wrap(
            "<h3>Was this published image really approved?</h3>Its Content Credentials must be "
            "signed by a certificate the workspace's owner trusts, and name the signed decisions "
            "that cleared it. Each is looked up in an export of the signed logs: it must be "
            "there, verify, have approved the image data this file holds, and still stand (not "
            "withdrawn or rejected since). The image must be cleared there (no standing reject "
            "by the model, every role her consent requires approved), show her and name her "
            "consent, and her consent must still cover it.",
            rich=True,
        )
        self.files = QListWidget()
        self.files.setToolTip("The published images to check")
        self.files.setFixedHeight(self.files.fontMetrics().lineSpacing() * 5 + 8)
        self.add_button = QPushButton("&Add images…")
        self.add_button.setToolTip("Choose published images")
        self.add_button.clicked.connect(self._choose_files)
        self.clear_button = QPushButton("C&lear")
        self.clear_button.setToolTip("Start again with no image")
        self.clear_button.clicked.connect(lambda: self.set_files([]))
        file_buttons = QVBoxLayout()
        file_buttons.addWidget(self.add_button)
        file_buttons.addWidget(self.clear_button)
        file_buttons.addStretch(1)
        file_row = QHBoxLayout()
        file_row.addWidget(self.files, 1)
        file_row.addLayout(file_buttons)
        ws = session.workspace
        self.export = PathField(
            mode=FOLDER, tip="A folder written by Export logs… (or 'twinreview export')"
        )
        self.export.edit.setPlaceholderText("the export of the signed logs")
        if ws is not None:
            guess = sorted(ws.root.parent.glob(f"{ws.root.name}-export*"))
            if guess:
                self.export.edit.setText(str(guess[-1]))
        #: Where the approved files are: the open workspace, unless the auditor clears it.
        self.workspace = PathField(
            str(ws.root) if ws is not None else "",
            mode=FOLDER,
            tip="The workspace the images were approved in: for an image with a stamped AI "
            "label, every pixel outside the label is compared with the approved file",
        )
        self.workspace.edit.setPlaceholderText(
            "optional: the workspace, to compare the pixels outside a stamped label"
        )
        #: A PEM file of certificate authorities trusted besides those the export carries.
        self.anchor = PathField(
            mode=OPEN_FILE,
            tip="The brand's certificate authority (PEM), when the export's signed rules name "
            "none: the Content Credentials' signer must chain to it",
            filters="Certificates (*.pem *.crt *.cer);;All files (*)",
        )
        self.anchor.edit.setPlaceholderText(
            "optional: the brand's certificate authority (PEM file)"
        )
        #: The owner's key fingerprint as checked with the brand, when this device pinned none.
        self.owner = QLineEdit()
        self.owner.setToolTip(
            "The workspace owner's key fingerprint (SHA256:…), as the brand told you: anyone can "
            "make an export of a workspace of their own, so only this key ties it to the brand. "
            "Not needed when this device trusts the workspace."
        )
        self.owner.setPlaceholderText(
            "optional: the owner's key fingerprint, checked with the brand"
        )
        form = QFormLayout()
        form.addRow("Images", file_row)
        form.addRow("Export", self.export)
        form.addRow("Workspace", self.workspace)
        form.addRow("Trust anchor", self.anchor)
        form.addRow("Owner key", self.owner)
        self.answers = QTextBrowser()
        self.answers.setOpenLinks(False)
        self.answers.setToolTip("What the check found, one line per image")
        self.answers.setPlaceholderText("The answer for each image shows here.")
        self.check_button = self.buttons.addButton("C&heck", QDialogButtonBox.ButtonRole.ActionRole)
        self.check_button.setIcon(icon("approve"))
        self.check_button.setToolTip("Check the images now (in the background)")
        self.check_button.setDefault(True)
        self.check_button.clicked.connect(self.start)
        self._files: list[Path] = []
        self._lines: list[tuple[bool, str]] = []
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(self.answers, 1)
        layout.addWidget(self.buttons)
        self.resize(760, 600)

    def set_files(self, paths: Sequence[Path]) -> None:
        """The images to check."""
        self._files = list(dict.fromkeys(paths))
        self.files.clear()
        for p in self._files:
            self.files.addItem(str(p))
        self._show([])

    def _choose_files(self) -> None:
        dialog = QFileDialog(self, "Published images to check")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter("Images (*.jpg *.jpeg *.png *.webp);;All files (*)")
        dialog.filesSelected.connect(
            lambda names: self.set_files([*self._files, *(Path(n) for n in names)])
        )
        dialog.open()

    def start(self) -> None:
        """Check in the background."""
        export = self.export.path()
        if not self._files or export is None:
            self.fail("Not checked: choose the images and the export to check them against.")
            return
        self._show([])
        self.run(
            self.check_button,
            "Checking…",
            partial(
                self.session.backend.check_published,
                workspace=self.workspace.path(),
                trust_anchor=self.anchor.path(),
                owner=self.owner.text().strip() or None,
            ),
            tuple(self._files),
            export,
            on_done=self._checked,
            what_failed="Not checked",
        )

    def _checked(self, checks: list[PublishedCheck]) -> None:
        lines = check_lines(checks)
        owner = owner_line(checks)
        self._show(lines, owner)
        good = sum(1 for ok, _ in lines if ok)
        if good == len(lines) and (owner is None or owner[0]):
            self.say(f"Confirmed: {good} of {len(lines)} image(s).")
        elif good == len(lines):
            self.say(
                f"Confirmed against this export: {good} of {len(lines)} image(s), but its owner "
                "is not trusted on this device: check the owner's key with the brand.",
                warn=True,
            )
        else:
            self.fail(f"Not confirmed: {len(lines) - good} of {len(lines)} image(s).")

    def _show(self, lines: list[tuple[bool, str]], owner: tuple[bool, str] | None = None) -> None:
        self._lines = [owner, *lines] if owner is not None else lines
        # Whose export is a fact about every answer, not an answer: no tick or cross.
        head = (
            f"<p style='color:{ok_colour() if owner[0] else error_colour()}'>"
            f"{'✔' if owner[0] else '⚠'} {html.escape(owner[1])}</p>"
            if owner is not None
            else ""
        )
        self.answers.setHtml(
            head
            + "".join(
                f"<p style='color:{ok_colour() if ok else error_colour()}'>"
                f"{'✔' if ok else '✘'} {html.escape(text)}</p>"
                for ok, text in lines
            )
        )

    def result_text(self) -> str:
        """The answers as plain text: whose export, then one line per image."""
        return "\n".join(text for _, text in self._lines)
