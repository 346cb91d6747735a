"""The scan of a workspace just opened starts in the scan process ahead of the app's ask."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import Harness, open_and_scan
from twinreview.core.workspace import Workspace
from twinreview.ui.scan_process import ProcessScanner
from wsbuild import add_model, make_workspace, pattern, save_jpeg


def _ws(root: Path, seed: int, n: int) -> Workspace:
    make_workspace(root)
    add_model(root, "ava", {"ref.jpg": pattern(seed)})
    for i in range(n):
        save_jpeg(pattern(seed + 1 + i), root / f"assets/ava/p{i}.jpg")
    return Workspace.open(root)


def _rels(result: Any) -> list[str]:
    return [a.asset.rel for a in result.assets]


@pytest.mark.slow
def test_a_scan_begun_ahead_is_the_one_received(tmp_path: Path) -> None:
    """Begun for one folder: the scan of it receives that scan; of another, its own."""
    a, b = _ws(tmp_path / "a", 10, 3), _ws(tmp_path / "b", 40, 2)
    scanner = ProcessScanner()
    try:
        scanner.begin(a)
        scanner.begin(a)  # one scan ahead at a time: the second is not sent
        first = scanner.scan(a, None, threading.Event())
        plain = scanner.scan(a, None, threading.Event())
        scanner.begin(a)
        other = scanner.scan(b, None, threading.Event())  # the scan of a is let go
        again = scanner.scan(a, None, threading.Event())
    finally:
        scanner.close()
    assert _rels(first) == ["assets/ava/p0.jpg", "assets/ava/p1.jpg", "assets/ava/p2.jpg"]
    assert first.workspace is a and not first.cancelled
    assert plain.assets == first.assets
    assert _rels(other) == ["assets/ava/p0.jpg", "assets/ava/p1.jpg"]
    assert other.workspace is b and other.assets[0].sha256 != first.assets[0].sha256
    assert again.assets == first.assets


def test_begin_never_waits_for_a_scan_that_runs(tmp_path: Path) -> None:
    scanner = ProcessScanner()
    try:
        with scanner._lock:  # as while a scan runs on a worker thread
            t0 = time.monotonic()
            scanner.begin(_ws(tmp_path / "a", 10, 1))
            assert time.monotonic() - t0 < 1.0
    finally:
        scanner.close()


def test_opening_a_workspace_begins_its_scan_then_asks_for_it_once(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    assert harness.backend.begun == [workspace]
    assert harness.backend.scan_calls == 1
