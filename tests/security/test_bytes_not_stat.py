"""Attack: swap an approved file's bytes for other bytes of the same size, then put the mtime back.

``(path, size, mtime_ns)`` is all a user controls with ``os.utime``; the scan cache's fast path
must not take it as proof that the bytes are the ones hashed before. Its key also holds the
change time (``st_ctime_ns``: any write or ``utime`` moves it to "now", and it cannot be set
back without changing the system clock) and the file's identity (``st_ino``, ``st_dev``), so the
swap is seen by every user of the cache: the cache itself, ``status``, ``scan`` and ``report``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from decision_helpers import T0, build_workspace, decider, enroll, reviewer
from twinreview.cli.main import main
from twinreview.core.workspace import Workspace
from twinreview.services.compose import default_cache_path
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.service import ScanService
from twinreview.services.status import cached_sha256
from wsbuild import add_model, jpeg_bytes, make_workspace, pattern, save_jpeg

# Faces are not under test here (tests/test_faces*.py are about them).
pytestmark = pytest.mark.usefixtures("no_faces")

LOOK1 = "assets/ava/look1.jpg"

# On Windows st_ctime is the creation time, which a same-file write does not move: the key can
# only rely on what the platform reports (see services/scan/cache.py).
needs_change_time = pytest.mark.skipif(
    sys.platform == "win32", reason="st_ctime is the creation time on Windows"
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jpeg_of_size(img: Image.Image, size: int) -> bytes:
    """``img`` as a JPEG of exactly ``size`` bytes (comment segments pad it after SOI)."""
    for quality in range(90, 10, -5):
        data = jpeg_bytes(img, quality)
        if len(data) <= size - 4:
            break
    else:
        raise AssertionError("cannot make the replacement small enough")
    pad = b""
    missing = size - len(data)
    while missing:
        # A COM segment: FF FE, a length that counts itself, then the payload (at most 65533).
        payload = min(missing - 4, 65533)
        if 0 < missing - (payload + 4) < 4:
            payload -= 4  # leave room for one more whole segment
        pad += b"\xff\xfe" + (payload + 2).to_bytes(2, "big") + b"\x00" * payload
        missing -= payload + 4
    out = data[:2] + pad + data[2:]
    assert len(out) == size
    return out


def swap_keeping_stat(path: Path, new: bytes, *, in_place: bool = True) -> None:
    """Replace the bytes of ``path`` with ``new`` (same size) and restore its mtime and atime."""
    before = path.stat()
    assert len(new) == before.st_size, "the attack needs a same-size replacement"
    # Let the clock move past the tick the file was last changed in: the attacker swaps later,
    # not within the same few milliseconds as the scan (that race is in the report, not here).
    time.sleep(0.05)
    if in_place:
        with path.open("r+b") as fh:
            fh.write(new)
    else:
        tmp = path.with_name(path.name + ".swap")
        tmp.write_bytes(new)
        os.replace(tmp, path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    # What a (path, size, mtime) key sees: nothing changed.
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert path.read_bytes() == new


# --- the cache -------------------------------------------------------------------------------


@needs_change_time
@pytest.mark.parametrize("in_place", [True, False], ids=["write-in-place", "rename-over"])
def test_cache_misses_after_a_same_size_swap_with_mtime_put_back(
    tmp_path: Path, in_place: bool
) -> None:
    path = tmp_path / "a.jpg"
    old = jpeg_bytes(pattern(1))
    path.write_bytes(old)
    long_ago = 1_600_000_000_000_000_000  # "approved long ago"
    os.utime(path, ns=(long_ago, long_ago))
    cache = ResultCache(tmp_path / "cache.sqlite3")
    try:
        cache.record_sha(path, path.stat(), sha(old))
        assert cache.lookup_sha(path, path.stat()) == sha(old)  # the fast path works

        new = bytes(b ^ 0xFF if i == len(old) // 2 else b for i, b in enumerate(old))
        swap_keeping_stat(path, new, in_place=in_place)

        assert cache.lookup_sha(path, path.stat()) is None
    finally:
        cache.close()


@needs_change_time
def test_status_helper_hashes_the_new_bytes(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "ws")
    asset = next(a for a in Workspace.open(root).iter_assets() if a.rel == LOOK1)
    old = asset.path.read_bytes()
    cache = ResultCache(tmp_path / "cache.sqlite3")
    try:
        assert cached_sha256(cache, asset) == sha(old)
        new = jpeg_of_size(pattern(99), len(old))
        swap_keeping_stat(asset.path, new)
        assert cached_sha256(cache, asset) == sha(new)
    finally:
        cache.close()


def test_an_old_cache_database_is_upgraded_not_trusted(tmp_path: Path) -> None:
    """A cache written by the (path, size, mtime) version holds nothing the new key trusts."""
    import sqlite3

    path = tmp_path / "a.jpg"
    path.write_bytes(b"x" * 100)
    st = path.stat()
    db_path = tmp_path / "cache.sqlite3"
    with sqlite3.connect(db_path) as db:
        db.execute(
            "CREATE TABLE files (path BLOB PRIMARY KEY, size INTEGER NOT NULL, "
            "mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL)"
        )
        db.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?)",
            (os.fsencode(path), st.st_size, st.st_mtime_ns, "0" * 64),
        )
    db.close()
    cache = ResultCache(db_path)
    try:
        assert cache.lookup_sha(path, st) is None
        cache.record_sha(path, st, sha(b"x" * 100))
        assert cache.lookup_sha(path, st) == sha(b"x" * 100)
    finally:
        cache.close()
    # Reopening keeps the new rows (the upgrade runs once, not on every start).
    cache = ResultCache(db_path)
    try:
        assert cache.lookup_sha(path, st) == sha(b"x" * 100)
    finally:
        cache.close()


# --- scan: the findings are those of the new bytes -------------------------------------------


@needs_change_time
def test_rescan_sees_the_swapped_bytes_and_their_findings(
    tmp_path: Path, sync_executor: object
) -> None:
    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"ref.jpg": pattern(1)})
    target = save_jpeg(pattern(11), root / "assets" / "ava" / "look.jpg")
    old = target.read_bytes()
    cache = ResultCache(tmp_path / "cache.sqlite3")
    service = ScanService(sync_executor, cache)  # type: ignore[arg-type]
    try:
        first = service.scan(Workspace.open(root))
        (a,) = first.assets
        assert a.sha256 == sha(old)
        assert a.findings == ()

        # The swapped-in picture is a re-encode of the model's own reference photo.
        new = jpeg_of_size(pattern(1), len(old))
        swap_keeping_stat(target, new)

        second = service.scan(Workspace.open(root))
    finally:
        cache.close()
    (b,) = second.assets
    assert b.sha256 == sha(new)
    assert "near_copy_of_reference" in {f.kind for f in b.findings}
    assert second.stats["read"] >= 1


# --- status and report: an approval is not carried over to bytes nobody saw -------------------


@pytest.fixture
def cleared(tmp_path: Path) -> Path:
    """A workspace whose LOOK1 the model and the agent both approved."""
    root = build_workspace(tmp_path / "ws")
    home = tmp_path / "devices"
    ava = reviewer(home, "ava@example.com", "model", "Ava Stone")
    agent = reviewer(home, "kim@agency.example", "agent", "Kim Agent")
    enroll(root, ava, ("ava",))
    enroll(root, agent, ("ava", "ben"))
    for i, keys in enumerate((ava, agent)):
        decider(keys, T0 + dt.timedelta(hours=i)).decide(Workspace.open(root), LOOK1, "approve")
    return root


def _status(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, str]:
    assert main(["status", str(root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    return {a["path"]: a for a in doc["assets"]}


@needs_change_time
def test_status_does_not_carry_an_approval_over_to_swapped_bytes(
    cleared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = cleared / LOOK1
    old = path.read_bytes()
    before = _status(capsys, cleared)[LOOK1]
    assert (before["state"], before["sha256"]) == ("cleared", sha(old))
    assert default_cache_path().is_file()  # the fast path was written

    new = jpeg_of_size(pattern(99), len(old))
    swap_keeping_stat(path, new)

    after = _status(capsys, cleared)[LOOK1]
    assert after["sha256"] == sha(new)
    assert after["state"] == "pending"


@needs_change_time
def test_report_does_not_carry_an_approval_over_to_swapped_bytes(
    cleared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"

    def look1() -> dict[str, object]:
        assert main(["report", str(cleared), "--json", str(out)]) == 0
        capsys.readouterr()
        doc = json.loads(out.read_text("utf-8"))
        return next(a for a in doc["assets"] if a["path"] == LOOK1)  # type: ignore[no-any-return]

    path = cleared / LOOK1
    old = path.read_bytes()
    before = look1()
    assert before["sha256"] == sha(old)
    assert before["status"]["state"] == "cleared"  # type: ignore[index]

    new = jpeg_of_size(pattern(99), len(old))
    swap_keeping_stat(path, new)

    after = look1()
    assert after["sha256"] == sha(new)
    assert after["status"]["state"] == "pending"  # type: ignore[index]


def test_replacement_helper_is_a_decodable_jpeg_of_the_exact_size() -> None:
    for size in (30_000, 30_001, 30_002, 30_003, 200_000):
        data = jpeg_of_size(pattern(5, (120, 90)), size)
        assert len(data) == size
        Image.open(io.BytesIO(data)).load()
