"""Changes made outside the app show within a second, without F5."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from conftest import Harness, open_and_scan
from twinreview.core.policy import Decision
from twinreview.ui.watcher import ASSETS, LOGS, ROSTER, WorkspaceWatcher


def test_a_deleted_and_an_added_file_show_within_a_second(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    assert w.model.rowCount() == 8
    (workspace / "assets/bo/look-3.jpg").unlink()
    qtbot.waitUntil(lambda: w.model.rowCount() == 7, timeout=1000)
    assert harness.session.item("assets/bo/look-3.jpg") is None
    shutil.copy(workspace / "assets/bo/look-2.jpg", workspace / "assets/bo/new.jpg")
    qtbot.waitUntil(lambda: harness.session.item("assets/bo/new.jpg") is not None, timeout=1000)
    assert w.model.rowCount() == 8


def test_another_reviewers_log_entry_shows_within_a_second(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    item = harness.session.item("assets/ana/look-1.jpg")
    assert item is not None and item.result is not None
    # Another reviewer's log arrives through a shared drive.
    harness.backend.decisions.append(
        Decision(
            "agent@example.com",
            "agent",
            dt.datetime.now(dt.UTC),
            item.rel,
            item.result.sha256 or "",
            "ana",
            "approve",
            log="agent-log",
        )
    )
    (workspace / "logs").mkdir(exist_ok=True)
    (workspace / "logs/agent@example.com--0123456789abcdef.dlog").write_text("{}\n")
    qtbot.waitUntil(lambda: item.latest_by("agent@example.com") == "approve", timeout=1000)


def test_roster_changes_are_read_again(qtbot: Any, harness: Harness, workspace: Path) -> None:
    (workspace / "roster").mkdir()
    (workspace / "roster/roster.dlog").write_text("{}\n")
    open_and_scan(qtbot, harness, workspace)
    with (
        qtbot.waitSignal(harness.session.roster_changed, timeout=1000),
        (workspace / "roster/roster.dlog").open("a") as f,
    ):
        f.write("{}\n")


def test_bursts_are_folded_into_one_report(qtbot: Any, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    for sub in ("assets/a", "logs", "roster"):
        (root / sub).mkdir(parents=True)
    watcher = WorkspaceWatcher(debounce_ms=100)
    watcher.watch(root)
    reports: list[set[str]] = []
    watcher.changed.connect(reports.append)
    for i in range(20):
        (root / f"assets/a/{i}.jpg").write_bytes(b"x")
    (root / "logs/x.dlog").write_text("{}")
    (root / "roster/requests").mkdir()
    (root / ".twinreview-write-check-1").write_text("")
    qtbot.waitUntil(lambda: bool(reports), timeout=1000)
    qtbot.wait(200)
    assert reports == [{ASSETS, LOGS, ROSTER}]
    # New folders are watched too: a file in the new requests folder is a roster change.
    (root / "roster/requests/ava.req").write_text("x")
    qtbot.waitUntil(lambda: len(reports) == 2, timeout=1000)
    assert reports[1] == {ROSTER}
    watcher.watch(None)
