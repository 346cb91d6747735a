"""What a running scan is doing and how long it has left: the app's and the command line's line."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

from photos import load_photo
from twinreview.cli.progress import ProgressBar
from twinreview.core.workspace import Workspace
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.clock import FACES_PER_FILE, ScanClock
from twinreview.services.scan.model import ScanProgress
from twinreview.services.scan.service import ScanResult, ScanService
from wsbuild import add_model, make_workspace, pattern, save_jpeg


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_time_left_counts_the_face_pass_before_it_starts() -> None:
    now = Clock()
    clock = ScanClock(faces=True, now=now)
    clock.update(ScanProgress(0, 100, "analyse"))
    assert clock.text() == "Reading images 0 of 100"  # nothing measured yet
    now.t = 10.0
    clock.update(ScanProgress(50, 100, "analyse"))
    # 50 files left at 0.2 s, then the face pass: 100 files at 1.5 x 0.2 s.
    assert FACES_PER_FILE == 1.5
    assert clock.seconds_left() == 50 * 0.2 + 100 * 0.2 * 1.5
    assert clock.text() == "Reading images 50 of 100, about 40 s left"
    without = ScanClock(faces=False, now=now)
    now.t = 0.0
    without.update(ScanProgress(0, 100, "analyse"))
    now.t = 10.0
    without.update(ScanProgress(50, 100, "analyse"))
    assert without.text(counts=False) == "Reading images, about 10 s left"


def test_the_face_pass_is_timed_by_its_own_rate() -> None:
    now = Clock()
    clock = ScanClock(faces=True, now=now)
    clock.update(ScanProgress(100, 100, "analyse"))
    now.t = 5.0
    clock.update(ScanProgress(0, 100, "faces"))
    assert clock.text() == "Checking faces 0 of 100"
    now.t = 35.0
    clock.update(ScanProgress(20, 100, "faces"))
    assert clock.seconds_left() == 80 * 1.5
    assert clock.text() == "Checking faces 20 of 100, about 2 min left"
    now.t = 150.0
    clock.update(ScanProgress(98, 100, "faces"))
    assert clock.text().endswith("a few seconds left")


def test_the_command_line_bar_says_what_and_how_long(monkeypatch: Any) -> None:
    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    bar = ProgressBar(stream, faces=False)
    bar(ScanProgress(0, 10, "analyse"))
    bar(ScanProgress(10, 10, "verify"))
    bar.close()
    text = stream.getvalue()
    assert "Reading images 0 of 10" in text and "Checking possible copies 10 of 10" in text


class NoFaces:
    """A face engine that finds no face (the face pass runs, quickly)."""

    problem: str | None = None
    version = "none/1"

    def quick(self, image: Any, grey: Any = None, *, side: int = 0) -> tuple[None, int]:
        """No quick pass: every file goes through :meth:`scan_bytes`."""
        return None, 0

    def scan_bytes(self, data: bytes, **_kw: Any) -> Any:
        from twinreview.core.likeness.model import FaceScan

        return FaceScan()


def test_copies_are_known_before_the_face_pass_ends(tmp_path: Path, sync_executor: Any) -> None:
    root = make_workspace(tmp_path / "ws")
    photo = load_photo("astronaut")
    add_model(root, "ava", {"ref.jpg": photo})
    save_jpeg(photo.crop((40, 30, 480, 500)), root / "assets/ava/copy.jpg")
    save_jpeg(pattern(4), root / "assets/ava/new.jpg")
    seen: list[ScanProgress] = []
    service = ScanService(sync_executor, ResultCache.in_memory(), face_engine=NoFaces())  # type: ignore[arg-type]
    final = service.scan(Workspace.open(root), progress=seen.append, cancel=threading.Event())
    faces = [p for p in seen if p.phase == "faces"]
    assert faces and all(isinstance(p.known, ScanResult) for p in faces)
    known = faces[0].known
    kinds = {a.asset.rel: {f.kind for f in a.findings} for a in known.assets}
    assert "near_copy_of_reference" in kinds["assets/ava/copy.jpg"]
    assert all(a.likeness is None for a in known.assets)
    assert all(a.likeness is not None for a in final.assets)
    assert [p for p in seen if p.phase != "faces" and p.known is not None] == []
