"""The app on a "device" with real roster, trust, decision and status services, for the owner's
screens: each reviewer has an in-memory keyring, their own pins and rollback record.

Only the scan is swapped: the fake one (no image work), or with ``real_scan`` the real scan
service without the face pass (the report needs real findings and file facts).
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from conftest import FakeBackend, SyncExecutor
from twinreview.core.workspace import Workspace
from twinreview.services.compose import make_scan_service
from twinreview.services.decisions import DecisionService
from twinreview.services.keys import KeyService
from twinreview.services.roster_admin import RosterService
from twinreview.services.scan.cache import ResultCache
from twinreview.services.trust import SeenStore, TrustStore, Verifier
from twinreview.ui.services_backend import ServicesBackend


class FakeScan:
    """The scan service the backend falls back to: the fake one (fast, no image work)."""

    def scan(self, ws: Workspace, progress: Any = None, cancel: Any = None) -> Any:
        return FakeBackend().scan(ws, progress, cancel or threading.Event())


@dataclass
class App:
    """One device: its window, session and services."""

    window: Any
    session: Any
    keys: KeyService | str
    trust: TrustStore
    roster: RosterService
    backend: ServicesBackend
    pools: list[Executor] = field(default_factory=list)

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown(wait=True, cancel_futures=True)


def make_device(
    qtbot: Any,
    home: Path,
    keys: KeyService | str,
    config: Path | None = None,
    *,
    threads: bool = False,
    real_scan: bool = False,
) -> App:
    """Build and show the app of one device.

    Args:
        qtbot: pytest-qt's bot.
        home: This device's own folder (pins, rollback record, UI settings).
        keys: Its key service, or why it has none (no usable keyring).
        config: Its pin folder (default: a fresh one under ``home``: nothing pinned).
        threads: Run the workers on real threads (else synchronously, results still queued).
        real_scan: Scan with the real scan service (no faces) instead of the fake one.
    """
    from twinreview.ui.app import build_window

    trust = TrustStore(config or home / "config")
    verifier = Verifier(SeenStore(home / "data"), trust)
    key_service = keys if isinstance(keys, KeyService) else None
    roster = RosterService(key_service, trust, verifier)
    pools: list[Executor] = []
    scan: Any = FakeScan()
    if real_scan:
        scan_pool = ThreadPoolExecutor(max_workers=2)
        pools.append(scan_pool)
        scan = make_scan_service(scan_pool, ResultCache.in_memory(), faces=False)
    decisions = (
        DecisionService(key_service, verifier=verifier, trust=trust) if key_service else None
    )
    backend = ServicesBackend(scan, keys, decisions, roster, verifier)
    ui: Executor
    long: Executor
    if threads:
        ui, long = ThreadPoolExecutor(max_workers=2), ThreadPoolExecutor(max_workers=1)
        pools += [ui, long]
    else:
        ui = long = SyncExecutor()
    settings = QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat)
    window, session, _ = build_window(backend, settings, ui_executor=ui, long_executor=long)
    qtbot.addWidget(window)
    if key_service is not None:
        session.set_identity(backend.load_identity(), None)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return App(window, session, keys, trust, roster, backend, pools)


def open_workspace(qtbot: Any, app: App, root: Path) -> None:
    """Open ``root`` and wait until its scan, statuses and roster are in."""
    with qtbot.waitSignal(app.session.statuses_refreshed, timeout=60_000):
        app.window.open_workspace(root)
    qtbot.waitUntil(lambda: app.session.roster is not None, timeout=10_000)
    qtbot.waitUntil(lambda: not app.session.scan.running, timeout=60_000)
