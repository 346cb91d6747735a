"""Shared fixtures: the real-file corpus, a synchronous executor, workspace builders."""

from __future__ import annotations

import os
import sys

# As the twinreview command does (cli/main.py): one BLAS thread, the scan has its own workers.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import ParamSpec, TypeVar

import pytest

# Bytecode is written whatever PYTHONDONTWRITEBYTECODE says (as .ci/run does): each
# pytest-xdist worker imports the package and every test file, and without cached bytecode each
# one compiles them and rewrites the test files' asserts again on every run (about 6 s of CPU
# per worker). The __pycache__ folders are git-ignored.
sys.dont_write_bytecode = False

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"

P = ParamSpec("P")
T = TypeVar("T")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (the default addopts): no workers for one named file, else one per core.

    Starting workers costs each of them the imports of a whole test run: for one file that is
    more than the file's tests take.
    """
    files = {arg.split("::")[0] for arg in config.args}
    if len(files) == 1 and next(iter(files)).endswith(".py"):
        return 0
    return None  # pytest-xdist's own answer: one worker per core


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, the files with corpus or calibration tests go out first.

    Each file runs whole on one worker, and a worker takes the next file when it is done: the
    few files that take tens of seconds each, started last, would leave the other worker idle
    while they run (pytest-xdist's own order, most tests first, puts them last). The other
    files follow in that order (``--no-loadscope-reorder`` in the addopts hands the order
    given here to the scheduler). A single process keeps the order of the files.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    heavy: set[str] = set()
    count: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::")[0]
        count[path] = count.get(path, 0) + 1
        if item.get_closest_marker("slow") or item.get_closest_marker("corpus"):
            heavy.add(path)
    order = {
        path: rank
        for rank, path in enumerate(sorted(count, key=lambda p: (p not in heavy, -count[p])))
    }
    items.sort(key=lambda item: order[item.nodeid.split("::")[0]])


def _fsync_checked(fd: int) -> None:
    """``os.fsync`` in the test process: the descriptor is checked, the disk is not waited for.

    What fsync adds, the bytes on the disk before a power cut, no test can observe; waiting
    for it on every signed append, pin, export and published file was seconds of each run on a
    shared machine's disk (thousands of calls). The writers still call it, and a descriptor
    that is not open still raises as fsync would. The writers that tests kill in the middle of
    an append (tests/test_declog.py) run in processes of their own, with the real fsync.
    """
    os.fstat(fd)


@pytest.fixture(scope="session", autouse=True)
def _no_waiting_for_the_disk() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "fsync", _fsync_checked)
        yield


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test's cache and data out of the real user directories."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("TWINREVIEW_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("TWINREVIEW_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("TWINREVIEW_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("TWINREVIEW_LOG_DIR", str(base / "log"))


@pytest.fixture(scope="module", autouse=True)
def _forget_copy_sets() -> Iterator[None]:
    """What tests/copies.py keeps of a module's images lives as long as the module's tests."""
    yield
    copies = sys.modules.get("copies")
    if copies is not None:
        copies.forget()


@pytest.fixture
def corpus_dir() -> Path:
    """``../shared/corpus``: skipped with a message when absent, a failure when CI=true."""
    if not CORPUS.is_dir():
        msg = f"shared corpus not found at {CORPUS}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{msg} (CI=true: the corpus is required)")
        pytest.skip(msg)
    return CORPUS


@pytest.fixture
def no_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans built by the command line in this process leave the likeness check out.

    For tests whose subject is not faces: the face pass on synthetic images finds nothing and
    costs most of such a scan. ``make_scan_service(faces=False)`` says the same where a test
    builds the scan service itself.
    """
    from twinreview.services import compose

    monkeypatch.setattr(compose, "FaceEngine", lambda: None)


class SyncExecutor(Executor):
    """Runs each submitted call at once on the calling thread (Picard-style fake pool).

    Makes scan tests deterministic and their tracebacks direct.
    """

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        fut: Future[T] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


@pytest.fixture
def sync_executor() -> SyncExecutor:
    return SyncExecutor()
