"""The scan process sends what it knows before the face pass ends, and the app can use it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from photos import load_photo
from twinreview.core.workspace import Workspace
from twinreview.services.scan.model import ScanProgress
from twinreview.ui.scan_process import ProcessScanner
from wsbuild import add_model, make_workspace, pattern, save_jpeg


@pytest.mark.slow
def test_copies_arrive_with_the_face_pass_progress(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    photo = load_photo("astronaut")
    add_model(root, "ava", {"ref.jpg": photo})
    save_jpeg(photo.crop((40, 30, 480, 500)), root / "assets/ava/copy.jpg")
    save_jpeg(pattern(4), root / "assets/ava/new.jpg")
    ws = Workspace.open(root)
    seen: list[Any] = []
    scanner = ProcessScanner()
    try:
        result = scanner.scan(ws, seen.append, threading.Event())
    finally:
        scanner.close()
    faces = [p for p in seen if isinstance(p, ScanProgress) and p.phase == "faces"]
    assert faces, [getattr(p, "phase", p) for p in seen]
    known = faces[-1].known
    assert known is not None and known.workspace is ws
    kinds = {a.asset.rel: {f.kind for f in a.findings} for a in known.assets}
    assert "near_copy_of_reference" in kinds["assets/ava/copy.jpg"]
    assert {a.asset.rel for a in known.assets} == {a.asset.rel for a in result.assets}
    assert all(a.likeness is None for a in known.assets)
    assert any(a.likeness is not None for a in result.assets)
