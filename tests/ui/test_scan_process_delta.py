"""A rescan in the scan process sends only the assets whose results changed."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from photos import load_photo
from twinreview.core.workspace import Workspace
from twinreview.ui.scan_process import ProcessScanner
from wsbuild import add_model, make_workspace, pattern, save_jpeg


@pytest.mark.slow
def test_a_rescan_hands_back_the_unchanged_results_as_they_were(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    photo = load_photo("astronaut")
    add_model(root, "ava", {"ref.jpg": photo})
    a = root / "assets/ava"
    for i in range(4):
        save_jpeg(pattern(10 + i), a / f"p{i}.jpg")
    ws = Workspace.open(root)
    scanner = ProcessScanner()
    try:
        first = scanner.scan(ws, None, threading.Event())
        save_jpeg(photo.crop((40, 30, 480, 500)), a / "p1.jpg")  # now a copy of the reference
        (a / "p2.jpg").unlink()
        save_jpeg(pattern(20), a / "p9.jpg")
        second = scanner.scan(ws, None, threading.Event())
        third = scanner.scan(ws, None, threading.Event())
    finally:
        scanner.close()
    before = {r.asset.rel: r for r in first.assets}
    after = {r.asset.rel: r for r in second.assets}
    assert list(after) == ["assets/ava/p0.jpg", "assets/ava/p1.jpg", "assets/ava/p3.jpg",
                           "assets/ava/p9.jpg"]  # fmt: skip
    # The unchanged ones are the very objects the app holds; the others are new.
    assert after["assets/ava/p0.jpg"] is before["assets/ava/p0.jpg"]
    assert after["assets/ava/p3.jpg"] is before["assets/ava/p3.jpg"]
    assert after["assets/ava/p1.jpg"] is not before["assets/ava/p1.jpg"]
    assert (
        after["assets/ava/p1.jpg"].sha256 == hashlib.sha256((a / "p1.jpg").read_bytes()).hexdigest()
    )
    assert "near_copy_of_reference" in {f.kind for f in after["assets/ava/p1.jpg"].findings}
    assert all(x is y for x, y in zip(third.assets, second.assets, strict=True))


@pytest.mark.slow
def test_a_rescan_told_what_changed_looks_at_that_only(tmp_path: Path) -> None:
    """The app's watcher notes the paths it saw change; the scan process looks at those only,
    and at every file when nothing was noted (a scan the reviewer asked for)."""
    root = make_workspace(tmp_path / "ws")
    photo = load_photo("astronaut")
    add_model(root, "ava", {"ref.jpg": photo})
    a = root / "assets/ava"
    for i in range(4):
        save_jpeg(pattern(10 + i), a / f"p{i}.jpg")
    ws = Workspace.open(root)
    scanner = ProcessScanner()
    try:
        first = scanner.scan(ws, None, threading.Event())
        save_jpeg(photo.crop((40, 30, 480, 500)), a / "p1.jpg")  # rewritten: a copy now
        scanner.note_changes(ws.root, [str(a / "p1.jpg")])
        scanner.note_changes(ws.root, [str(a)])
        told = scanner.scan(ws, None, threading.Event())
        untold = scanner.scan(ws, None, threading.Event())
    finally:
        scanner.close()
    assert first.stats["assets_looked_at"] == 4
    assert told.stats["assets_looked_at"] == 1
    p1 = next(r for r in told.assets if r.asset.rel == "assets/ava/p1.jpg")
    assert "near_copy_of_reference" in {f.kind for f in p1.findings}
    assert untold.stats["assets_looked_at"] == 4
    assert all(x is y for x, y in zip(untold.assets, told.assets, strict=True))
