"""Changes made outside the app show by themselves, without F5.

How soon is measured by tests/benchmarks/bench_scale.py (50 files added, changed, deleted), not
here: the waits below are generous so that a loaded machine never fails them (the watcher's
debounce and its sweep interval are far shorter).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import Harness, open_and_scan
from twinreview.core.approval.policy import Decision
from twinreview.ui.watcher import ASSETS, LOGS, ROSTER, WorkspaceWatcher

WAIT_MS = 10_000
"""The longest a change may take to show here (see the module docstring)."""


def test_a_deleted_and_an_added_file_show_by_itself(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    assert w.model.rowCount() == 8
    (workspace / "assets/bo/look-3.jpg").unlink()
    qtbot.waitUntil(lambda: w.model.rowCount() == 7, timeout=WAIT_MS)
    assert harness.session.item("assets/bo/look-3.jpg") is None
    shutil.copy(workspace / "assets/bo/look-2.jpg", workspace / "assets/bo/new.jpg")
    qtbot.waitUntil(lambda: harness.session.item("assets/bo/new.jpg") is not None, timeout=WAIT_MS)
    assert w.model.rowCount() == 8


@pytest.mark.parametrize("how", ["in place", "by rename"])
def test_an_asset_rewritten_outside_shows_its_new_content_by_itself(
    qtbot: Any, harness: Harness, workspace: Path, how: str
) -> None:
    open_and_scan(qtbot, harness, workspace)
    rel = "assets/ana/look-1.jpg"
    item = harness.session.item(rel)
    assert item is not None and item.result is not None
    old = item.result.sha256
    data = (workspace / "assets/bo/look-2.jpg").read_bytes()  # another picture, same name
    new = hashlib.sha256(data).hexdigest()
    assert new != old
    if how == "in place":
        (workspace / rel).write_bytes(data)
    else:  # how editors and sync tools save: a temporary file renamed over the old one
        (workspace / "assets/ana/.look-1.jpg.part").write_bytes(data)
        os.replace(workspace / "assets/ana/.look-1.jpg.part", workspace / rel)

    def shows(sha256: str) -> bool:
        now = harness.session.item(rel)
        return now is not None and now.result is not None and now.result.sha256 == sha256

    qtbot.waitUntil(lambda: shows(new), timeout=WAIT_MS)
    assert harness.window.model.rowCount() == 8
    # The file now on disk is watched too: a further edit in place shows as well.
    data = (workspace / "assets/bo/look-3.jpg").read_bytes()
    (workspace / rel).write_bytes(data)
    qtbot.waitUntil(lambda: shows(hashlib.sha256(data).hexdigest()), timeout=WAIT_MS)


def test_another_reviewers_log_entry_shows_by_itself(
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
    qtbot.waitUntil(lambda: item.latest_by("agent@example.com") == "approve", timeout=WAIT_MS)


def test_roster_changes_are_read_again(qtbot: Any, harness: Harness, workspace: Path) -> None:
    (workspace / "roster").mkdir()
    (workspace / "roster/roster.dlog").write_text("{}\n")
    open_and_scan(qtbot, harness, workspace)
    with (
        qtbot.waitSignal(harness.session.roster_changed, timeout=WAIT_MS),
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
    qtbot.waitUntil(lambda: bool(reports), timeout=WAIT_MS)
    qtbot.wait(200)
    assert reports == [{ASSETS, LOGS, ROSTER}]
    # New folders are watched too: a file in the new requests folder is a roster change.
    (root / "roster/requests/ava.req").write_text("x")
    qtbot.waitUntil(lambda: len(reports) == 2, timeout=WAIT_MS)
    assert reports[1] == {ROSTER}
    watcher.watch(None)


def test_folders_are_watched_never_files(qtbot: Any, tmp_path: Path) -> None:
    """Folders, not images: a handful of watches whatever the number of files (one per folder
    with inotify, one per tree with FSEvents and ReadDirectoryChangesW)."""
    root = tmp_path / "ws"
    for sub in ("assets/a/deep", "assets/b", "models/a/references", "logs", "roster/requests"):
        (root / sub).mkdir(parents=True)
    for i in range(200):
        (root / f"assets/a/deep/{i}.jpg").write_bytes(b"x")
        (root / f"assets/b/{i}.jpg").write_bytes(b"x")
        (root / f"assets/b/{i}.json").write_text("{}")
    (root / "models/a/references/ref.jpg").write_bytes(b"x")
    (root / "twinreview.toml").write_text("")
    (root / "logs/ana--0123456789abcdef.dlog").write_text("{}\n")
    (root / "roster/roster.dlog").write_text("{}\n")
    watcher = WorkspaceWatcher(sweep=False)
    watcher.watch(root)
    assert watcher.live
    # Linux: one inotify watch per folder (11 of them); elsewhere one for the tree.
    assert watcher.watched() in ({"directories": 11, "files": 0}, {"directories": 1, "files": 0})
    watcher.watch(None)
    assert watcher.watched() == {"directories": 0, "files": 0}


def _reports(watcher: WorkspaceWatcher) -> tuple[list[set[str]], list[Any]]:
    kinds: list[set[str]] = []
    paths: list[Any] = []
    watcher.changed.connect(kinds.append)
    watcher.paths_changed.connect(lambda _root, p: paths.append(p))
    return kinds, paths


def test_an_image_rewritten_in_place_is_reported_with_its_path(qtbot: Any, tmp_path: Path) -> None:
    """The OS reports the write into the file, although only its folder is watched; reading a
    file (as the scan does) is no change."""
    root = tmp_path / "ws"
    (root / "assets/a").mkdir(parents=True)
    image = root / "assets/a/1.jpg"
    image.write_bytes(b"first")
    other = root / "assets/a/2.jpg"
    other.write_bytes(b"second")
    watcher = WorkspaceWatcher(debounce_ms=50, sweep=False)
    kinds, paths = _reports(watcher)
    watcher.watch(root)
    with image.open("r+b") as fh:  # in place: no file appears or goes
        fh.write(b"other")
    qtbot.waitUntil(lambda: kinds == [{ASSETS}], timeout=WAIT_MS)
    assert str(image) in paths[0] and str(other) not in paths[0]
    other.read_bytes()
    (root / ".twinreview-write-check-1").write_text("")
    (root / "assets/a/.2.jpg.part").write_bytes(b"x")
    qtbot.wait(300)
    assert kinds == [{ASSETS}]
    watcher.watch(None)


def test_what_only_the_sweep_sees_asks_for_a_look_at_everything(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backstop: when the OS reports nothing (here its watch cannot start), the sweep finds
    an image rewritten in place, and the rescan is told to look at every file."""
    from twinreview.services import watch as folder_watch

    class Refused:
        def schedule(self, *_a: Any, **_k: Any) -> None:
            raise OSError("inotify watch limit reached")

    real = folder_watch.FolderWatch.__init__

    def init(self: Any, on_change: Any = None, **_k: Any) -> None:
        real(self, on_change, observer_factory=Refused)

    monkeypatch.setattr(folder_watch.FolderWatch, "__init__", init)
    root = tmp_path / "ws"
    (root / "assets/a").mkdir(parents=True)
    image = root / "assets/a/1.jpg"
    image.write_bytes(b"first")
    watcher = WorkspaceWatcher(debounce_ms=50)
    kinds, paths = _reports(watcher)
    watcher.watch(root)
    assert not watcher.live
    qtbot.waitUntil(lambda: watcher.sweeps >= 1, timeout=WAIT_MS)
    assert kinds == []  # the first sweep records the state
    with image.open("r+b") as fh:
        fh.write(b"other")
    qtbot.waitUntil(lambda: kinds == [{ASSETS}], timeout=WAIT_MS)
    assert paths == [None]
    watcher.watch(None)


def test_a_sweep_during_a_reported_burst_keeps_its_paths(qtbot: Any, tmp_path: Path) -> None:
    """The sweep sees files the OS reported and the quiet period has not passed on yet: they
    are no unreported change, and the rescan is still told their paths (not every file)."""
    root = tmp_path / "ws"
    (root / "assets/a").mkdir(parents=True)
    (root / "assets/a/1.jpg").write_bytes(b"first")
    watcher = WorkspaceWatcher(debounce_ms=3000)
    kinds, paths = _reports(watcher)
    watcher.watch(root)
    assert watcher.live
    qtbot.waitUntil(lambda: watcher.sweeps >= 1, timeout=WAIT_MS)
    added = root / "assets/a/2.jpg"
    added.write_bytes(b"second")
    qtbot.waitUntil(lambda: watcher._watch.pending, timeout=WAIT_MS)
    watcher._start_sweep()  # as its timer would, in the middle of the burst
    qtbot.waitUntil(lambda: watcher.sweeps >= 2, timeout=WAIT_MS)
    assert kinds == []  # the burst's quiet period has not passed yet
    qtbot.waitUntil(lambda: kinds == [{ASSETS}], timeout=WAIT_MS)
    assert paths[0] is not None and str(added) in paths[0]
    watcher.watch(None)
