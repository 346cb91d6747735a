"""The desktop app's composition root: builds the services once and passes them down.

Entry points (called by the CLI through importlib, so that the CLI never imports Qt):
    run_app(args) -> int: open the last workspace, or the welcome screen.
    run_demo_app(workspace, snapshot) -> int: open the demo workspace; with ``snapshot``, wait
        until the scan has finished and the first asset is painted, save a PNG, exit 0.

Errors: both entry points run the event loop inside an
:class:`~twinreview.ui.excepthook.ErrorReporter`, the ``sys.excepthook`` that logs an exception
no code handled and tells the user in one plain sentence where the details are. A background
job that fails without a handler of its own is logged by the session and said in the status
line (:func:`show_failure`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from twinreview.services.diagnostics import log_failure
from twinreview.services.keys import KeyStore
from twinreview.ui.app_errors import error_text, keyring_problem
from twinreview.ui.backend import KeyringUnavailable, ReviewBackend
from twinreview.ui.bridge import Bridge
from twinreview.ui.excepthook import ErrorReporter
from twinreview.ui.images import ImageCache
from twinreview.ui.loader import ImageLoader, ThumbnailProvider
from twinreview.ui.main_window import MainWindow
from twinreview.ui.resources import app_icon
from twinreview.ui.scan_process import ProcessScanner, ScanProcessError
from twinreview.ui.session import ReviewSession
from twinreview.ui.watcher import WorkspaceWatcher

ORG = "twinreview"
APP = "twinreview"
THUMB = QSize(56, 56)
#: The demo workspace's models (``services.demo``): the user joins for both.
DEMO_MODELS = ("milo", "nova")
# A hard stop for ``demo --screenshot``: a check must never hang.
SCREENSHOT_TIMEOUT_MS = 120_000

_log = logging.getLogger(__name__)


@dataclass
class AppParts:
    """Everything the composition root built, for shutdown and tests."""

    window: MainWindow
    session: ReviewSession
    bridge: Bridge
    executors: tuple[Executor, ...]
    scanner: ProcessScanner | None = None

    def shutdown(self) -> None:
        """Stop delivering results, the scan process and the worker threads."""
        self.session.cancel_scan()
        self.bridge.close()
        if self.scanner is not None:
            self.scanner.close()
        for ex in self.executors:
            ex.shutdown(wait=True, cancel_futures=True)


def build_window(
    backend: ReviewBackend,
    settings: QSettings,
    *,
    ui_executor: Executor,
    long_executor: Executor,
    build_demo: Callable[[], Path] | None = None,
) -> tuple[MainWindow, ReviewSession, Bridge]:
    """Wire the Qt side: bridge, loaders, session and window (no services built here)."""
    bridge = Bridge(ui_executor, long_executor, max_in_flight=3)
    loader = ImageLoader(bridge, ImageCache())
    window: MainWindow | None = None

    def dpr() -> float:
        return window.devicePixelRatioF() if window is not None else 1.0

    thumbnails = ThumbnailProvider(bridge, THUMB, dpr)
    session = ReviewSession(backend, bridge, watcher=WorkspaceWatcher())
    window = MainWindow(session, loader, thumbnails, settings, build_demo=build_demo)
    session.error_reported.connect(partial(show_failure, window, session))
    bridge.setParent(window)
    loader.setParent(window)
    thumbnails.setParent(window)
    session.setParent(window)
    if session.watcher is not None:
        session.watcher.setParent(session)
    return window, session, bridge


def show_failure(window: MainWindow, session: ReviewSession, message: str) -> None:
    """Say in the status line that background work failed, and stop looking busy.

    The progress bar and the Cancel button stay only while a scan is really running.
    """
    window.status_line.say(message)
    if not session.scan.running:
        window.status_line.idle()


def build_app(settings: QSettings | None = None, keystore: KeyStore | None = None) -> AppParts:
    """Build the services once (executor, scan cache, keys, decisions, status) and the window.

    Args:
        settings: UI state storage (default: the user's QSettings).
        keystore: Where keys live (default: the OS keyring; tests inject an in-memory one).
    """
    # Scans run in a child process: their Python work never holds the GUI thread's interpreter
    # lock. Started first, so that its imports overlap with the services' and the window's
    # construction (the first scan waits for them).
    scanner = ProcessScanner()
    try:
        scanner.start()
    except ScanProcessError as exc:
        _log.warning("scanning in the app's own process: %s", exc)
        print(f"twinreview: scanning in the app's own process ({exc})", file=sys.stderr)
    # Imported here: services are plain Python, and the window must exist before heavy imports
    # only matter for start-up time, not correctness.
    from twinreview.core.roster.people import Person
    from twinreview.services.compose import (
        default_cache_path,
        default_data_dir,
        make_executor,
        make_scan_service,
    )
    from twinreview.services.decisions import DecisionService
    from twinreview.services.demo import build_demo
    from twinreview.services.keys import IdentityStore, KeysError, KeyService, KeyStore
    from twinreview.services.roster_admin import RosterService
    from twinreview.services.scan.cache import ResultCache
    from twinreview.services.trust import TrustStore, Verifier
    from twinreview.ui.services_backend import ServicesBackend

    executor = make_executor()  # one worker per core: the scan's hashing
    # Image decodes and service calls for the UI get their own small pool: the picture the user
    # waits for must never queue behind a 200-file scan on the scan pool.
    ui_executor = ThreadPoolExecutor(max_workers=3, thread_name_prefix="twinreview-ui")
    long_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="twinreview-scan")
    cache = ResultCache(default_cache_path())
    scan_service = make_scan_service(executor, cache)
    keys: KeyService | str
    if keystore is None:
        try:
            keystore = KeyStore.from_system()
        except KeysError as exc:
            keystore = None
            # The keyring library's advice (variables, backend classes) is for the log; the
            # window says what to do in its own words.
            log_failure(_log, "no usable keyring: read-only", exc)
            keys = keyring_problem(exc)
    if keystore is not None:
        keys = KeyService(keystore, IdentityStore.default())
    trust = TrustStore.default()
    verifier = Verifier.default()
    key_service = keys if isinstance(keys, KeyService) else None
    decisions = (
        DecisionService(key_service, verifier=verifier, trust=trust)
        if key_service is not None
        else None
    )
    # The signed roster: trust on first use, join requests, approvals, a model's own consent.
    roster = RosterService(key_service, trust, verifier)
    backend = ServicesBackend(scan_service, keys, decisions, roster, verifier, scanner)
    settings = settings or QSettings(ORG, APP)

    def demo() -> Path:
        # The user joins the demo roster with their own key (as the demo's owner would approve);
        # a model cannot: each demo model already has her own person.
        identity = key_service.current() if key_service is not None else None
        reviewer = None
        if identity is not None and identity.role != "model":
            reviewer = (
                Person(identity.principal, identity.display_name, identity.role, DEMO_MODELS),
                identity.public_key,
            )
        return build_demo(default_data_dir() / "demo", reviewer, trust)

    window, session, bridge = build_window(
        backend,
        settings,
        ui_executor=ui_executor,
        long_executor=long_executor,
        build_demo=demo,
    )
    if session.watcher is not None:
        # The scan process looks only at the files the watcher saw change.
        session.watcher.paths_changed.connect(scanner.note_changes)
    return AppParts(window, session, bridge, (long_executor, ui_executor, executor), scanner)


def _qapp() -> QApplication:
    # Workers run Python too (hash matching, disclosure parsing). Every call from Qt into our
    # Python code (a paint, a model's data()) must take the GIL; at the default 5 ms switch
    # interval the GUI thread can queue behind several workers per callback, and a table repaint
    # makes hundreds of them. 1 ms keeps the GUI thread's waits short.
    sys.setswitchinterval(0.001)
    # High-DPI: Qt 6 scales by default; pass fractional factors through so 150 % stays crisp.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APP)
    app.setOrganizationName(ORG)
    app.setApplicationDisplayName("twinreview")
    app.setWindowIcon(app_icon())
    return app


def start_identity(parts: AppParts) -> None:
    """Load this device's identity in the background; ask for one on first run."""
    session, window = parts.session, parts.window

    def loaded(identity: object) -> None:
        if identity is None:
            session.set_identity(None, "No reviewer identity yet: create one to approve or reject.")
            window.dialogs.show_identity()
        else:
            session.set_identity(identity, None)  # type: ignore[arg-type]

    def failed(exc: BaseException) -> None:
        log_failure(_log, "cannot read this device's identity", exc)
        reason = (
            str(exc)
            if isinstance(exc, KeyringUnavailable)
            else f"cannot read your identity: {error_text(exc)}"
        )
        session.set_identity(None, f"Read-only: {reason}")

    parts.bridge.submit(session.backend.load_identity, on_done=loaded, on_error=failed)


def run_app(args: argparse.Namespace) -> int:
    """``twinreview`` with no subcommand: the app on the last workspace, or the welcome screen."""
    app = _qapp()
    parts = build_app()
    start_identity(parts)
    last = parts.window.settings.value("last_workspace", "")
    workspace = getattr(args, "workspace", None) or (Path(str(last)) if last else None)
    if workspace is not None and Path(workspace).is_dir():
        parts.window.open_workspace(Path(workspace))
    parts.window.show()
    try:
        with ErrorReporter(parts.window):
            return int(app.exec())
    finally:
        parts.shutdown()


def run_demo_app(workspace: Path, snapshot: Path | None = None) -> int:
    """Open ``workspace`` (the demo). With ``snapshot``: save a PNG once it is on screen, exit.

    The snapshot proves that a build can show the window (the frozen app's smoke test): it uses
    scratch window settings, asks for no identity and saves the window as it is, nothing staged.
    """
    app = _qapp()
    settings = QSettings(ORG, APP)
    if snapshot is not None:
        # It must not depend on (or change) the user's remembered window layout. Never
        # os.devnull: QSettings saves by writing a temporary file and renaming it over the
        # target, which as root replaces /dev/null with a regular file.
        scratch = Path(tempfile.mkdtemp(prefix="twinreview-shot-")) / "settings.ini"
        settings = QSettings(str(scratch), QSettings.Format.IniFormat)
    parts = build_app(settings)
    window = parts.window
    status = {"code": 0}
    reporter = ErrorReporter(window)
    if snapshot is None:
        start_identity(parts)
    else:
        _save_once_shown(parts, snapshot, status)

        # Nobody is there to read a message box, and it would cover the picture: say it on
        # stderr and fail the run.
        def tell(text: str, details: str) -> None:
            print(f"twinreview: {text} {details}", file=sys.stderr)
            status["code"] = 2

        reporter = ErrorReporter(window, tell)
    window.open_workspace(Path(workspace))
    window.show()
    try:
        with reporter:
            code = int(app.exec())
    finally:
        parts.shutdown()
    return status["code"] or code


def _save_once_shown(parts: AppParts, path: Path, status: dict[str, int]) -> None:
    """Save the window to ``path`` once the scan is done and an asset is sharp; then close."""
    window, session = parts.window, parts.session
    done: dict[str, object] = {"statuses": False, "sharp": None, "saved": False}

    def save() -> None:
        ok = window.grab().toImage().save(str(path), "PNG")  # type: ignore[call-overload]
        print(
            f"twinreview: screenshot saved to {path}" if ok else f"twinreview: cannot write {path}",
            file=sys.stderr,
        )
        status["code"] = status["code"] or (0 if ok else 2)
        window.close()

    def maybe_save() -> None:
        item = window.current_item()
        if done["saved"] or not done["statuses"] or item is None or done["sharp"] != item.rel:
            return
        done["saved"] = True
        QTimer.singleShot(300, save)  # let the last refreshes paint

    def on_sharp(rel: str) -> None:
        done["sharp"] = rel
        maybe_save()

    def on_statuses() -> None:
        if not session.scan.running:
            done["statuses"] = True
            maybe_save()

    def on_timeout() -> None:
        if not done["saved"]:
            print("twinreview: timed out waiting for the first asset to be shown", file=sys.stderr)
            status["code"] = 1
            window.close()

    def on_failed(message: str) -> None:
        print(f"twinreview: {message}", file=sys.stderr)
        status["code"] = 2
        window.close()

    path.parent.mkdir(parents=True, exist_ok=True)
    session.statuses_refreshed.connect(on_statuses)
    window.compare_flow.asset_sharp.connect(on_sharp)
    session.workspace_failed.connect(on_failed)
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, on_timeout)
