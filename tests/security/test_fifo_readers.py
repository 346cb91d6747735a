"""A FIFO where an image or an export file should be: every reader refuses it at once.

Opening a FIFO for reading blocks until a writer appears, so a reader that opens before it
checks hangs its thread forever (in the app: an image-loading worker, then the quit). Each call
runs with a deadline (a daemon thread, or a child process for Qt), so a hang fails the test
instead of freezing the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from twinreview.services.export_check import ExportCheckError, read_export_file
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.likeness import faces_file
from twinreview.services.scan.verify import GeometryVerifier

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")

T = TypeVar("T")


def within(seconds: float, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a daemon thread; fail when it has not returned after ``seconds``."""
    out: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"{fn} still blocked after {seconds} s")
    if errors:
        raise errors[0]
    return out[0]


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "trap.jpg"
    os.mkfifo(path)
    return path


def test_the_apps_image_decoder_refuses_a_fifo(fifo: Path) -> None:
    # In a child process: Qt holds the GIL while it opens a file, so a decoder blocked on a
    # FIFO would freeze this whole process (in the app: the GUI thread too), deadline included.
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from PySide6.QtCore import QSize\n"
        "from twinreview.ui.images import decode, decode_preview\n"
        "p = Path(sys.argv[1])\n"
        "d = decode(p, QSize(200, 200))\n"
        "assert d.image.isNull(), 'decoded a FIFO'\n"
        "assert decode_preview(p, QSize(200, 200)) is None\n"
        "print(d.error)\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, str(fifo)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the image decoder blocked on a FIFO")
    assert proc.returncode == 0, proc.stderr
    assert "not an image file: a folder or a special file" in proc.stdout


def test_the_face_pass_refuses_a_fifo(fifo: Path) -> None:
    class NoEngine:
        def __getattr__(self, name: str) -> object:
            raise AssertionError("a FIFO must not reach the face engine")

    sha, scan = within(5, lambda: faces_file(NoEngine(), fifo, None, None))  # type: ignore[arg-type]
    assert sha is None
    assert scan.error is not None and "not a regular file" in scan.error


def test_on_demand_verification_refuses_a_fifo(fifo: Path, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from twinreview.core.similarity.match import SimilarityThresholds

    other = tmp_path / "other.jpg"
    other.write_bytes(b"not even an image")
    with ThreadPoolExecutor(1) as pool:
        verifier = GeometryVerifier(pool, ResultCache(tmp_path / "cache.sqlite3"))
        answer = within(5, lambda: verifier.verify_files(fifo, other, SimilarityThresholds()))
    assert answer is None


def test_an_exported_file_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    trap = tmp_path / "roster.dlog"
    os.mkfifo(trap)
    with pytest.raises(ExportCheckError, match="roster"):
        within(5, lambda: read_export_file(trap, "roster/roster.dlog"))
