"""A workspace cannot plant a native library that twinreview would load.

c2pa-python looks for ``libc2pa_c`` in the current working directory before its own package. A
reviewer often runs twinreview from inside a workspace someone sent them; a library planted
there would run with their rights. ``twinreview.core.disclosure.c2pa_loader`` prevents that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PLANTED_C = r"""
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void planted(void) {
    int fd = open("PLANTED-LIBRARY-RAN", O_CREAT | O_WRONLY, 0644);
    if (fd >= 0) close(fd);
}
"""


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A folder holding a libc2pa_c that leaves a marker file when it is loaded."""
    if sys.platform != "linux":
        pytest.skip("the planted library is built for Linux")
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: a C compiler is required to build the planted library")
        pytest.skip("no C compiler to build the planted library")
    (tmp_path / "planted.c").write_text(PLANTED_C)
    subprocess.run(
        [cc, "-shared", "-fPIC", "-o", str(tmp_path / "libc2pa_c.so"), str(tmp_path / "planted.c")],
        check=True,
    )
    return tmp_path


def _run(code: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, timeout=120)


def test_plain_import_would_load_the_planted_library(planted: Path) -> None:
    """The control: without the loader, the planted library runs."""
    _run("import c2pa", planted)
    assert (planted / "PLANTED-LIBRARY-RAN").exists()


def test_twinreview_never_loads_it(planted: Path, corpus_dir: Path) -> None:
    sample = corpus_dir / "disclosure" / "ai_firefly-sundae_c2pa+xmp.png"
    _run(
        "from twinreview.cli.main import main; "
        f"raise SystemExit(main(['inspect', {str(sample)!r}, '--json']))",
        planted,
    )
    assert not (planted / "PLANTED-LIBRARY-RAN").exists()
    # And c2pa still works when started from there.
    proc = subprocess.run(
        [sys.executable, "-m", "twinreview", "inspect", str(sample), "--json"],
        cwd=planted,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert '"verdict": "disclosed"' in proc.stdout
    assert not (planted / "PLANTED-LIBRARY-RAN").exists()
