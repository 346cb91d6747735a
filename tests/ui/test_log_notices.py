"""The app on separate laptops: lines her laptop signed put back with one button, a model's key
reset shown to everyone, and a policy the owner tightened judged by at once.

Real services (keys, signed logs, roster, verification, status, scan without faces) on each
laptop's own folders and keyring (:mod:`laptops`); jobs run synchronously.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from conftest import SyncExecutor
from decision_helpers import build_workspace
from laptops import AVA, Laptop, Studio, studio_once
from twinreview.core.approval.policy import APPROVE, State
from twinreview.core.findings import Severity
from twinreview.services.compose import make_scan_service
from twinreview.services.decisions import DecisionService
from twinreview.services.roster_admin import RosterService
from twinreview.services.scan.cache import ResultCache
from twinreview.services.trust import TrustStore, Verifier
from twinreview.ui.app import build_window
from twinreview.ui.services_backend import ServicesBackend

LOOK1 = "assets/ava/look1.jpg"
LENIENT = """[disclosure]
approvable = ["disclosed", "partial", "missing"]
[disclosure.severity]
missing_disclosure = "warn"
"""


def _build(folder: Path) -> Studio:
    root = build_workspace(folder / "ws")
    (root / "twinreview.toml").write_text(LENIENT)
    return Studio(folder / "laptops", root)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Studio:
    return studio_once(tmp_path_factory, "log-notices", _build)


@pytest.fixture
def studio(tmp_path: Path, built: Studio) -> Studio:
    return built.copy(tmp_path / "laptops", tmp_path / "ws")


@contextlib.contextmanager
def app_on(qtbot: Any, laptop: Laptop, root: Path, tmp_path: Path) -> Iterator[Any]:
    """The app as ``laptop`` runs it, with the workspace open and its statuses in."""
    with laptop.on():
        keys = laptop.keys()
        trust, verifier = TrustStore.default(), Verifier.default()
        sync = SyncExecutor()
        backend = ServicesBackend(
            make_scan_service(sync, ResultCache.in_memory(), faces=False),
            keys,
            DecisionService(keys, verifier=verifier, trust=trust),
            RosterService(keys, trust, verifier),
            verifier,
        )
        settings = QSettings(str(tmp_path / f"{laptop.name}.ini"), QSettings.Format.IniFormat)
        window, session, _ = build_window(backend, settings, ui_executor=sync, long_executor=sync)
        qtbot.addWidget(window)
        session.set_identity(session.backend.load_identity(), None)
        window.resize(1200, 800)
        window.show()
        qtbot.waitExposed(window)
        with qtbot.waitSignal(session.statuses_refreshed, timeout=20_000):
            window.open_workspace(root)
        qtbot.waitUntil(lambda: not session.busy, timeout=10_000)
        yield window


def test_her_laptop_puts_back_the_reject_someone_cut(
    qtbot: Any, studio: Studio, tmp_path: Path
) -> None:
    root = studio.root
    studio.kim.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK1, "reject", reasons=["likeness_wrong"])
    (log,) = (root / "logs").glob("ava@example.com--*.dlog")
    whole = log.read_bytes()
    log.write_bytes(b"".join(whole.splitlines(keepends=True)[:-1]))
    with app_on(qtbot, studio.ava, root, tmp_path) as window:
        session, notices = window.session, window.log_notices
        assert notices.isVisible() and notices.restore_button.isVisible()
        assert "Decisions you signed are missing" in notices.label.text()
        assert session.item(LOOK1).state is State.BLOCKED
        window.grab().save("/tmp/twinreview-restore-banner.png")
        with qtbot.waitSignal(session.restored, timeout=10_000):
            notices.restore_button.click()
        qtbot.waitUntil(lambda: not notices.isVisible(), timeout=10_000)
        assert log.read_bytes() == whole
        assert "Put back what you signed" in window.status_line.text()
        qtbot.waitUntil(lambda: session.item(LOOK1).state is State.REJECTED, timeout=10_000)


def test_a_reset_of_her_key_is_shown_to_everyone(
    qtbot: Any, studio: Studio, tmp_path: Path
) -> None:
    new = Laptop(tmp_path / "laptops", "ava-new")
    new.ok("keys", "init", "--principal", AVA, "--name", "Ava", "--role", "model")
    studio.owner.ok("roster", "reset", studio.root, AVA, "--key", new.key_line)
    with app_on(qtbot, studio.kim, studio.root, tmp_path) as window:
        notices = window.log_notices
        assert notices.isVisible() and not notices.restore_button.isVisible()
        text = notices.label.text()
        assert "Ava&#x27;s key was reset by the owner" in text or "Ava's key was reset" in text
        assert new.fingerprint in text
        window.grab().save("/tmp/twinreview-reset-banner.png")


def test_a_sync_copy_of_a_log_is_shown_and_merged(
    qtbot: Any, studio: Studio, tmp_path: Path
) -> None:
    root = studio.root
    studio.kim.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK1, "reject", reasons=["likeness_wrong"])
    (log,) = (root / "logs").glob("ava@example.com--*.dlog")
    copy = root / "logs" / "Ava laptop" / f"{log.stem} (1).DLOG"
    copy.parent.mkdir()
    shutil.copy(log, copy)
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-1]))
    with app_on(qtbot, studio.kim, root, tmp_path) as window:
        notices = window.log_notices
        assert notices.isVisible() and not notices.restore_button.isVisible()
        text = notices.label.text()
        assert "Sync copy." in text and "Ava laptop" in text and "merged" in text
        assert window.session.item(LOOK1).state is State.REJECTED
        window.grab().save("/tmp/twinreview-sync-copy-banner.png")


def test_an_open_window_judges_by_the_policy_the_owner_signs_later(
    qtbot: Any, studio: Studio, tmp_path: Path
) -> None:
    root = studio.root
    with app_on(qtbot, studio.kim, root, tmp_path) as window:
        session = window.session
        item = session.item(LOOK1)
        kinds = {(f.kind, f.severity) for f in item.findings}
        assert ("missing_disclosure", Severity.WARN) in kinds
        assert not item.blocking
        # The owner tightens the policy; the window hears of the roster change (as its folder
        # watcher would tell it) and judges by the new policy at once.
        (root / "twinreview.toml").write_text(
            LENIENT.replace('missing_disclosure = "warn"', 'missing_disclosure = "block"')
        )
        studio.owner.ok("roster", "policy", root)
        session.refresh_roster()
        qtbot.waitUntil(lambda: bool(session.item(LOOK1).blocking), timeout=20_000)
        assert [f.kind for f in session.item(LOOK1).blocking] == ["missing_disclosure"]
        # Approving without the override is refused by the signing service too.
        with qtbot.waitSignal(session.decision_failed, timeout=10_000) as failed:
            session.decide(LOOK1, APPROVE)
        assert "override" in failed.args[1]
