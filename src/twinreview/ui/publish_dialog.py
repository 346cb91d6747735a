"""The "Publish cleared…" dialog: where to, which certificate, the options, progress, the result.

The publishing itself (``services.publish.publisher``) runs as a long job on the bridge, off the GUI
thread; the worker returns plain data (the result and each written file's disclosure and sign-off,
read back from the files), and the dialog turns it into widgets on the GUI thread. Progress comes
through the bridge's coalescing progress sink. Closing the dialog while it runs asks the worker
to stop between files; nothing is kept then (the service writes into a staging folder).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from twinreview.core.disclosure import DisclosureReport
from twinreview.core.disclosure.c2pa_reader import make_context
from twinreview.core.workspace import Workspace
from twinreview.services.compose import make_executor
from twinreview.services.demo_brand import CHAIN_FILE, KEY_FILE
from twinreview.services.disclosure import DisclosureService
from twinreview.services.keys import IdentityStore, KeyService, KeyStore
from twinreview.services.publish.check import read_signoff
from twinreview.services.publish.publisher import PublishOptions, PublishResult, publish_workspace
from twinreview.services.publish.register import PublishRegister
from twinreview.services.publish.signer import C2paKeyStore, load_credentials
from twinreview.services.trust import Verifier
from twinreview.ui.app_errors import error_text
from twinreview.ui.bridge import Bridge, Task
from twinreview.ui.findings_panel import FindingsPanel
from twinreview.ui.message_style import error_style
from twinreview.ui.resources import icon


@dataclass(frozen=True)
class PublishRequest:
    """What the user asked for (plain data, handed to the worker)."""

    root: Path
    outdir: Path
    cert: Path
    key: Path | None
    options: PublishOptions


@dataclass(frozen=True)
class WrittenFile:
    """One published file as read back: its disclosure, and its sign-off (JSON form)."""

    output: str
    asset: str
    disclosure: DisclosureReport
    signoff: dict[str, Any] | None


@dataclass
class PublishOutcome:
    """What the worker hands back to the GUI thread."""

    result: PublishResult
    signer: str
    files: list[WrittenFile] = field(default_factory=list)


def system_register() -> PublishRegister:
    """The register on this device's reviewer key in the OS keyring (worker thread).

    Raises:
        KeysError: no usable keyring.
    """
    return PublishRegister(KeyService(KeyStore.from_system(), IdentityStore.default()))


def run_publish(
    request: PublishRequest,
    progress: Callable[[tuple[int, int, str]], None],
    cancelled: Callable[[], bool],
    keystore: Callable[[], C2paKeyStore],
    register: Callable[[], PublishRegister],
) -> PublishOutcome:
    """Publish, then read every written file back (worker thread: no Qt objects here).

    Raises:
        TwinreviewError: the workspace, certificate, key or output folder cannot be used.
    """
    ws = Workspace.open(request.root)
    store = keystore() if request.key is None else None
    credentials = load_credentials(request.cert, request.key, store)
    with make_executor() as pool:
        result = publish_workspace(
            ws,
            request.outdir,
            credentials,
            register=register(),
            options=request.options,
            verify=Verifier.default().verify,
            progress=lambda done, total, rel: progress((done, total, rel)),
            cancelled=cancelled,
            executor=pool,
        )
    outcome = PublishOutcome(result, credentials.subject)
    if result.refused:
        return outcome
    disclosure = DisclosureService.for_workspace(ws)
    context = make_context()
    for item in result.published:
        path = request.outdir / item.output
        data = path.read_bytes()
        signoff = read_signoff(data, context)
        outcome.files.append(
            WrittenFile(
                item.output,
                item.asset,
                disclosure.inspect_report(data, path),
                signoff.to_json() if signoff else None,
            )
        )
    return outcome


class PublishDialog(QDialog):
    """Publish the workspace's cleared assets with their Content Credentials and sign-off.

    Args:
        workspace: The open workspace.
        bridge: Runs the work off the GUI thread.
        cleared: How many assets are cleared now (for the heading).
        keystore: Where a signing key imported with ``keys import-c2pa`` is (default: the OS
            keyring, opened only when no key file is given).
        parent: The window.
        register: Records each published file in the publisher's signed log (default: this
            device's reviewer key in the OS keyring).
    """

    def __init__(
        self,
        workspace: Workspace,
        bridge: Bridge,
        cleared: int,
        keystore: Callable[[], C2paKeyStore] | None = None,
        parent: QWidget | None = None,
        register: Callable[[], PublishRegister] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Publish cleared assets")
        self._ws = workspace
        self._bridge = bridge
        self._keystore = keystore or C2paKeyStore.from_system
        self._register = register or system_register
        self._stop = threading.Event()
        self._running = False
        self._task: Task[PublishOutcome] | None = None
        #: The last outcome (tests and the screenshot read it).
        self.outcome: PublishOutcome | None = None
        #: The one-line error of the last run, if it failed.
        self.error_text = ""

        self.heading = QLabel(
            f"<b>{cleared} cleared asset{'s' if cleared != 1 else ''}</b>: each is copied with "
            "its AI disclosure (IPTC in XMP) and Content Credentials signed with your brand's "
            "certificate, carrying who signed it off. The workspace is not changed."
        )
        self.heading.setWordWrap(True)
        root = workspace.root
        self.outdir = self._path_field(str(root.parent / f"{root.name}-published"), folder=True)
        chain, key = root / CHAIN_FILE, root / KEY_FILE
        self.cert = self._path_field(str(chain) if chain.is_file() else "")
        self.key = self._path_field(str(key) if key.is_file() else "")
        self.key.edit.setPlaceholderText("empty: the brand's key kept in this computer's keyring")
        self.label = QCheckBox("Stamp the workspace's visible AI label in a corner")
        self.no_training = QCheckBox("Declare that AI training and data mining are not allowed")
        self.no_training.setChecked(True)
        form = QFormLayout()
        form.addRow("Publish to", self.outdir)
        form.addRow("Signing certificate", self.cert)
        form.addRow("Private key", self.key)
        form.addRow("", self.label)
        form.addRow("", self.no_training)

        self.progress = QProgressBar()
        self.progress.setRange(0, max(1, cleared))
        self.progress.setValue(0)
        self.progress.setFormat("%v of %m")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.files = QListWidget()
        self.files.setToolTip("The files written; select one to see its Content Credentials")
        self.files.setWordWrap(True)
        self.credentials = FindingsPanel()
        self.credentials.setToolTip("The published file's Content Credentials, read back from it")
        self._no_credentials()
        self.files.currentRowChanged.connect(self._show_file)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.files)
        split.addWidget(self.credentials)
        split.setSizes([220, 660])

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.publish_button = QPushButton(icon("approve"), "Publish")
        self.publish_button.setToolTip("Sign and write the copies now")
        self.buttons.addButton(self.publish_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.publish_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        self.publish_button.setEnabled(cleared > 0)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        layout.addWidget(self.buttons)
        self.resize(880, 620)

    # -- form --------------------------------------------------------------------------------

    class _PathField(QWidget):
        def __init__(self, text: str, *, folder: bool, owner: QWidget) -> None:
            super().__init__()
            self.edit = QLineEdit(text)
            browse = QPushButton("Browse…")
            row = QHBoxLayout(self)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(self.edit, 1)
            row.addWidget(browse)
            browse.clicked.connect(lambda: self._browse(folder, owner))

        def _browse(self, folder: bool, owner: QWidget) -> None:
            dialog = QFileDialog(owner)
            dialog.setFileMode(
                QFileDialog.FileMode.Directory if folder else QFileDialog.FileMode.ExistingFile
            )
            dialog.fileSelected.connect(self.edit.setText)
            dialog.open()

        def path(self) -> Path | None:
            text = self.edit.text().strip()
            return Path(text).expanduser() if text else None

    def _path_field(self, text: str, *, folder: bool = False) -> PublishDialog._PathField:
        return PublishDialog._PathField(text, folder=folder, owner=self)

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        """Check the form and start publishing in the background."""
        outdir, cert = self.outdir.path(), self.cert.path()
        if outdir is None or cert is None:
            self._fail("Choose where to publish and the signing certificate (PEM).")
            return
        request = PublishRequest(
            self._ws.root,
            outdir,
            cert,
            self.key.path(),
            PublishOptions(label=self.label.isChecked(), no_training=self.no_training.isChecked()),
        )
        self._running = True
        self._stop.clear()
        self.error_text = ""
        self.outcome = None
        # Nothing of the last run stays on screen: its files and their credentials are not
        # what this run writes (and if it fails, it writes nothing).
        self.files.clear()
        self._no_credentials()
        self.publish_button.setEnabled(False)
        self.progress.setValue(0)
        self.summary.setStyleSheet("")
        self.summary.setText("Publishing…")
        sink = self._bridge.progress_sink(self._on_progress)
        self._task = self._bridge.run_long(
            run_publish,
            request,
            sink,
            self._stop.is_set,
            self._keystore,
            self._register,
            on_done=self._on_done,
            on_error=self._on_error,
        )

    @property
    def running(self) -> bool:
        """True while the worker publishes."""
        return self._running

    def _on_progress(self, value: tuple[int, int, str]) -> None:
        done, total, rel = value
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.summary.setText(f"Signed {rel}")

    def _on_done(self, outcome: PublishOutcome) -> None:
        self._running = False
        self.outcome = outcome
        self.publish_button.setEnabled(True)
        result = outcome.result
        if result.refused:
            lines = [f"{r.asset}: {r.reason}" for r in result.refused]
            self._fail(
                f"Nothing was published: {len(result.refused)} asset(s) refused.\n"
                + "\n".join(lines)
            )
            return
        if not result.published:
            self._fail("No asset is cleared: nothing to publish.")
            return
        self.progress.setValue(self.progress.maximum())
        self.summary.setText(
            f"Wrote {len(result.published)} file(s) to {result.outdir}, signed by "
            f"{outcome.signer}. Select one to see its credentials."
        )
        for item in result.published:
            kind = item.source_type.rsplit("/", 1)[-1]
            row = QListWidgetItem(f"{item.output}\n{kind} · {', '.join(item.approvals)}")
            row.setToolTip(str(result.outdir / item.output))
            self.files.addItem(row)
        self.files.setCurrentRow(0)

    def _on_error(self, exc: BaseException) -> None:
        self._running = False
        self.publish_button.setEnabled(True)
        self._fail(f"Nothing was published: {error_text(exc)}")

    def _fail(self, text: str) -> None:
        self.error_text = text
        self.summary.setStyleSheet(error_style())
        self.summary.setText(text)

    def _no_credentials(self) -> None:
        self.credentials.setHtml('<p class="m">The credentials of a published file show here.</p>')

    def _show_file(self, row: int) -> None:
        if self.outcome is None or not 0 <= row < len(self.outcome.files):
            return
        f = self.outcome.files[row]
        self.credentials.show_credentials(f.output, f.disclosure, f.signoff)

    def done(self, result: int) -> None:
        """Closing while publishing asks the worker to stop (nothing is then kept)."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()  # the dialog is going away: its callbacks must not run
        super().done(result)
