"""A scan on a warm cache in a fresh process: the cache read in batches, identical rows once."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import photos as P
from twinreview.core.workspace import Workspace
from twinreview.services.disclosure import DisclosureService
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.service import ScanResult, ScanService
from wsbuild import add_model, make_workspace, pattern, save_jpeg


def _workspace(root: Path, assets: int) -> Path:
    make_workspace(root)
    add_model(root, "ava", {"ref.jpg": pattern(1)})
    for i in range(assets):
        save_jpeg(pattern(100 + i, (160, 120)), root / f"assets/ava/a{i:03d}.jpg")
    return root


def _scan(root: Path, executor: object, cache: ResultCache) -> ScanResult:
    service = ScanService(
        executor,  # type: ignore[arg-type]
        cache,
        inspector_factory=DisclosureService.for_workspace,
    )
    return service.scan(Workspace.open(root))


def test_lookup_shas_agrees_with_lookup_sha_file_by_file(tmp_path: Path) -> None:
    """Over more files than one query takes: recorded, changed since, never recorded."""
    cache = ResultCache(tmp_path / "cache.sqlite3")
    files = []
    for i in range(1203):
        path = tmp_path / "f" / f"{i}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x%d" % i)
        if i % 3:
            cache.record_sha(path, path.stat(), f"{i:064x}")
        files.append(path)
    for path in files[::7]:
        os.utime(path, ns=(1, 1))  # the change time moves: not the bytes recorded
    stats = [(path, path.stat()) for path in files]
    expected = [cache.lookup_sha(path, st) for path, st in stats]
    assert cache.lookup_shas(stats) == expected
    assert expected[1] == f"{1:064x}" and expected[0] is None and expected[7] is None
    assert cache.lookup_shas([]) == []
    cache.close()


def test_a_fresh_process_reads_the_warm_cache_as_the_scan_that_wrote_it(
    tmp_path: Path, sync_executor: object
) -> None:
    """Every file from the cache, equal results; identical disclosure rows parsed once."""
    root = _workspace(tmp_path / "ws", 300)
    cache = ResultCache(tmp_path / "cache.sqlite3")
    first = _scan(root, sync_executor, cache)
    again = _scan(root, sync_executor, cache)  # another service: nothing kept in memory
    assert again.stats["read"] == 0 and again.stats["cached"] == again.stats["files"]
    assert again.assets == first.assets
    # None of these images declares anything: one report, shared (it is immutable).
    reports = {id(a.disclosure) for a in again.assets}
    assert len(reports) == 1 and again.assets[0].disclosure is not None
    cache.close()


def test_a_damaged_row_among_the_batch_is_read_again_alone(
    tmp_path: Path, sync_executor: object
) -> None:
    root = _workspace(tmp_path / "ws", 40)
    path = tmp_path / "cache.sqlite3"
    cache = ResultCache(path)
    first = _scan(root, sync_executor, cache)
    cache.close()
    shas = sorted(a.sha256 or "" for a in first.assets)
    with sqlite3.connect(path) as db:
        db.execute(
            'UPDATE results SET data = \'{"verdict": "??"}\' '
            "WHERE kind = 'disclosure' AND sha256 = ?",
            (shas[0],),
        )
        db.execute(
            "UPDATE results SET data = '{\"facts\": 1}' WHERE kind = 'analysis' AND sha256 = ?",
            (shas[1],),
        )
    cache = ResultCache(path)
    again = _scan(root, sync_executor, cache)
    cache.close()
    assert again.stats["read"] == 2
    assert again.assets == first.assets


def test_files_that_share_a_disclosure_report_share_its_findings(
    tmp_path: Path, sync_executor: object
) -> None:
    """The same findings as each file's own (the scan's first, from the files themselves)."""
    root = _workspace(tmp_path / "ws", 30)
    cache = ResultCache(tmp_path / "cache.sqlite3")
    first = _scan(root, sync_executor, cache)
    again = _scan(root, sync_executor, cache)
    cache.close()
    assert [a.findings for a in again.assets] == [a.findings for a in first.assets]
    said = {id(f) for a in again.assets for f in a.findings if f.kind == "missing_disclosure"}
    assert len(said) == 1


def _same(incremental: ScanResult, cold: ScanResult) -> None:
    assert [a.asset.rel for a in incremental.assets] == [a.asset.rel for a in cold.assets]
    for mine, theirs in zip(incremental.assets, cold.assets, strict=True):
        assert mine == theirs, mine.asset.rel


def test_the_stored_batch_pairs_serve_a_fresh_process_and_its_rescans(
    tmp_path: Path, sync_executor: object
) -> None:
    """A process that starts on the pairs another stored (a table, not objects) finds what a
    cold scan finds, then and after files are added, changed and deleted."""
    root = make_workspace(tmp_path / "ws")
    coffee, rocket = P.load_photo("coffee"), P.load_photo("rocket")
    add_model(root, "ava", {"cat.jpg": P.load_photo("chelsea")})
    a = root / "assets"
    save_jpeg(coffee, a / "ava/b-coffee.jpg")
    save_jpeg(coffee, a / "ava/d-coffee-again.jpg", 60)
    save_jpeg(rocket, a / "ava/f-rocket.jpg")
    save_jpeg(P.downscale(rocket), a / "ava/h-rocket-small.jpg", 70)
    for i in range(6):
        save_jpeg(pattern(20 + i), a / f"ava/p{i}.jpg")
    cache = ResultCache(tmp_path / "cache.sqlite3")
    first = ScanService(sync_executor, cache).scan(Workspace.open(root))  # type: ignore[arg-type]
    assert any(f.kind == "duplicate_in_batch" for r in first.assets for f in r.findings)

    def cold() -> ScanResult:
        service = ScanService(sync_executor, ResultCache.in_memory())  # type: ignore[arg-type]
        return service.scan(Workspace.open(root))

    def told(*paths: Path) -> ScanResult:
        return service.scan(Workspace.open(root), changed=[str(p) for p in paths])

    service = ScanService(sync_executor, cache)  # type: ignore[arg-type]
    warm = service.scan(Workspace.open(root))
    assert warm.stats["read"] == 0
    _same(warm, first)
    # Added before and among the others (every position moves), one a duplicate.
    save_jpeg(coffee, a / "ava/a-coffee-third.jpg", 75)
    save_jpeg(P.load_photo("moon"), a / "ava/e-moon.jpg")
    _same(told(a / "ava/a-coffee-third.jpg", a / "ava/e-moon.jpg"), cold())
    # Changed in place: no longer a duplicate of the coffee.
    save_jpeg(P.load_photo("coins"), a / "ava/d-coffee-again.jpg")
    _same(told(a / "ava/d-coffee-again.jpg"), cold())
    # Deleted: a partner of a duplicate pair.
    (a / "ava/h-rocket-small.jpg").unlink()
    _same(told(a / "ava/h-rocket-small.jpg"), cold())
    cache.close()
