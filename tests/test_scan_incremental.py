"""A rescan in one process (the app's scan process) redoes only what changed, and finds what a
scan from nothing finds on the same folder.

Each step changes the workspace, rescans with the same service, and compares every asset's
result with a cold scan (a new service, an empty cache) of the folder as it is then.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

import photos as P
from conftest import SyncExecutor
from twinreview.core.similarity import join as hashjoin
from twinreview.core.workspace import Workspace
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.history import RejectedAsset
from twinreview.services.scan.service import ScanResult, ScanService
from wsbuild import add_model, make_workspace, pattern, save_jpeg


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """Two models, copies of their references, duplicates within the batch, distinct images."""
    root = make_workspace(tmp_path / "ws")
    cat, rocket, coffee = P.load_photo("chelsea"), P.load_photo("rocket"), P.load_photo("coffee")
    add_model(root, "ava", {"cat.jpg": cat, "camera.jpg": P.load_photo("camera")})
    add_model(root, "ben", {"rocket.jpg": rocket})
    a = root / "assets"
    save_jpeg(ImageOps.mirror(P.crop(cat, 0.08, 0.08, 0.08, 0.08)), a / "ava/copy.jpg", 70)
    save_jpeg(P.downscale(rocket), a / "ava/wrong.jpg", 80)
    save_jpeg(coffee, a / "ava/coffee.jpg")
    save_jpeg(coffee, a / "ben/sub/coffee-again.jpg", 60)
    save_jpeg(P.load_photo("astronaut"), a / "ben/astronaut.jpg")
    save_jpeg(P.crop(P.load_photo("astronaut"), 0.0, 0.0, 0.1, 0.1), a / "ben/astronaut-crop.jpg")
    for i in range(4):
        save_jpeg(pattern(10 + i), a / f"ava/plain{i}.jpg")
    save_jpeg(P.load_photo("coins"), a / "ben/coins.jpg")
    return root


def _service(cache: ResultCache, rejected: list[RejectedAsset] | None = None) -> ScanService:
    return ScanService(
        SyncExecutor(),  # type: ignore[arg-type]
        cache,
        rejected_provider=(lambda _ws: list(rejected)) if rejected is not None else None,
    )


def _cold(root: Path, rejected: list[RejectedAsset] | None = None) -> ScanResult:
    return _service(ResultCache.in_memory(), rejected).scan(Workspace.open(root))


def _same(incremental: ScanResult, cold: ScanResult) -> None:
    assert [a.asset.rel for a in incremental.assets] == [a.asset.rel for a in cold.assets]
    for mine, theirs in zip(incremental.assets, cold.assets, strict=True):
        assert mine == theirs, mine.asset.rel


def _votes_aside(result: ScanResult) -> list[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """Each asset's findings, without the vote counts of the batch's local-feature candidates.

    A rescan joins a new file with the files it shares local features with, not with the whole
    batch (:mod:`twinreview.services.scan.crops`): the votes a pair gets in the ratio test may
    then differ from a whole join's by a few; the pair, its verification and the finding do not.
    """
    out = []
    for a in result.assets:
        found = []
        for f in a.findings:
            ev = dict(f.evidence)
            if f.kind == "duplicate_in_batch" and ev.get("candidate") == "local features":
                ev.pop("votes", None)
                ev.pop("support", None)
            found.append((f.message, ev))
        out.append((a.asset.rel, found))
    return out


class _Joins:
    """Counts the images each hash join of the batch had on either side."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[int, int]] = []
        real = hashjoin.align_candidates

        def counting(queries: Any, refs: Any, *args: Any, **kw: Any) -> Any:
            self.calls.append((len(queries), len(refs)))
            return real(queries, refs, *args, **kw)

        monkeypatch.setattr(hashjoin, "align_candidates", counting)

    def take(self) -> list[tuple[int, int]]:
        out, self.calls = self.calls, []
        return out

    def scan(self, service: ScanService, root: Path) -> ScanResult:
        """``service``'s scan of ``root``, counting its joins only."""
        self.calls = []
        return service.scan(Workspace.open(root))


def _kinds(result: ScanResult) -> dict[str, set[str]]:
    return {a.asset.rel: {f.kind for f in a.findings} for a in result.assets}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def joins(monkeypatch: pytest.MonkeyPatch) -> _Joins:
    return _Joins(monkeypatch)


def test_each_change_is_matched_alone_and_finds_what_a_cold_scan_finds(
    ws: Path, tmp_path: Path, joins: _Joins
) -> None:
    cache = ResultCache(tmp_path / "cache.sqlite3")
    service = _service(cache)
    first = service.scan(Workspace.open(ws))
    n = len(first.assets)
    assert _kinds(first)["assets/ava/coffee.jpg"] == {"duplicate_in_batch"}
    assert _kinds(first)["assets/ben/coins.jpg"] == set()
    assert first.stats["matched_fresh"] == n
    joins.take()

    # Nothing changed: nothing is read, nothing joined.
    again = joins.scan(service, ws)
    assert (again.stats["read"], again.stats["matched_fresh"], joins.take()) == (0, 0, [])
    assert again.assets == first.assets

    a = ws / "assets"
    # Added: a duplicate of an existing asset, a copy of another model's reference, a new one.
    save_jpeg(P.load_photo("coffee"), a / "ben/coffee-third.jpg", 75)
    save_jpeg(P.load_photo("camera"), a / "ben/camera.jpg", 85)
    save_jpeg(P.load_photo("moon"), a / "ava/moon.jpg")
    added = joins.scan(service, ws)
    assert (added.stats["read"], added.stats["matched_fresh"]) == (3, 3)
    # Every hash join had only the three new files on one side (against the references, and
    # both ways against the batch).
    calls = joins.take()
    assert calls and all(min(q, r) <= 3 for q, r in calls), calls
    assert "matches_other_model" in _kinds(added)["assets/ben/camera.jpg"]
    assert "duplicate_in_batch" in _kinds(added)["assets/ben/coffee-third.jpg"]
    _same(added, _cold(ws))

    # Changed in place: the coins becomes the rocket (a copy of ben's own reference).
    save_jpeg(P.load_photo("rocket"), a / "ben/coins.jpg", 88)
    changed = joins.scan(service, ws)
    assert (changed.stats["read"], changed.stats["matched_fresh"]) == (1, 1)
    calls = joins.take()
    assert all(min(q, r) <= 1 for q, r in calls), calls
    assert "near_copy_of_reference" in _kinds(changed)["assets/ben/coins.jpg"]
    _same(changed, _cold(ws))

    # Deleted: the partner of a duplicate pair; its partner's finding goes with it.
    (a / "ben/sub/coffee-again.jpg").unlink()
    (a / "ben/coffee-third.jpg").unlink()
    deleted = joins.scan(service, ws)
    assert (deleted.stats["read"], deleted.stats["matched_fresh"], joins.take()) == (0, 0, [])
    assert "duplicate_in_batch" not in _kinds(deleted)["assets/ava/coffee.jpg"]
    _same(deleted, _cold(ws))

    # A file replaced by another's bytes (a rename over it).
    (a / "ava/plain0.jpg").write_bytes((a / "ava/coffee.jpg").read_bytes())
    swapped = joins.scan(service, ws)
    assert swapped.stats["matched_fresh"] == 1
    assert "duplicate_in_batch" in _kinds(swapped)["assets/ava/plain0.jpg"]
    _same(swapped, _cold(ws))
    cache.close()


def test_a_changed_reference_matches_every_asset_against_the_references_only(
    ws: Path, tmp_path: Path, joins: _Joins
) -> None:
    cache = ResultCache(tmp_path / "cache.sqlite3")
    service = _service(cache)
    first = service.scan(Workspace.open(ws))
    assert "near_copy_of_reference" in _kinds(first)["assets/ava/copy.jpg"]
    joins.take()
    refs = ws / "models/ava/references"
    # ava's cat photo is replaced by the coins; the copy of the cat is no copy any more.
    save_jpeg(P.load_photo("coins"), refs / "cat.jpg")
    changed = joins.scan(service, ws)
    assert changed.stats["matched_fresh"] == 0
    assert changed.stats["matched_against_references"] == len(changed.assets)
    # The batch is not joined again: one join, the assets against the references.
    assert joins.take() == [(len(changed.assets), 3)]
    assert "near_copy_of_reference" not in _kinds(changed)["assets/ava/copy.jpg"]
    assert "matches_other_model" in _kinds(changed)["assets/ben/coins.jpg"]
    _same(changed, _cold(ws))

    # A reference added to ben: the cat again.
    save_jpeg(P.load_photo("chelsea"), ws / "models/ben/references/cat2.jpg", 80)
    more = joins.scan(service, ws)
    assert "matches_other_model" in _kinds(more)["assets/ava/copy.jpg"]
    _same(more, _cold(ws))
    cache.close()


def test_a_resubmission_is_found_in_a_rescan_as_in_a_cold_scan(
    ws: Path, tmp_path: Path, joins: _Joins
) -> None:
    coffee = ws / "assets/ava/coffee.jpg"
    rejected = [
        RejectedAsset(
            "assets/ava/coffee.jpg", _sha(coffee), None, "ann", "agent", "2026-01-01T00:00:00Z"
        )
    ]
    cache = ResultCache(tmp_path / "cache.sqlite3")
    service = _service(cache, rejected)
    first = service.scan(Workspace.open(ws))
    assert "resubmitted_rejected" in _kinds(first)["assets/ben/sub/coffee-again.jpg"]
    _same(first, _cold(ws, rejected))
    Image.open(coffee).save(ws / "assets/ben/coffee-copy.png")
    added = joins.scan(service, ws)
    assert added.stats["matched_fresh"] == 1
    assert "resubmitted_rejected" in _kinds(added)["assets/ben/coffee-copy.png"]
    _same(added, _cold(ws, rejected))
    # Another rejection: every asset is matched against the rejected images again.
    rejected.append(
        RejectedAsset(
            "assets/ben/coins.jpg", _sha(ws / "assets/ben/coins.jpg"), None, "ann", "agent", "t"
        )
    )
    save_jpeg(P.load_photo("coins"), ws / "assets/ava/coins-again.jpg", 70)
    more = joins.scan(service, ws)
    assert "resubmitted_rejected" in _kinds(more)["assets/ava/coins-again.jpg"]
    _same(more, _cold(ws, rejected))
    cache.close()


def test_other_settings_decide_every_pair_again(ws: Path, tmp_path: Path, joins: _Joins) -> None:
    cache = ResultCache(tmp_path / "cache.sqlite3")
    service = _service(cache)
    service.scan(Workspace.open(ws))
    (ws / "twinreview.toml").write_text('[similarity.severity]\nduplicate_in_batch = "warn"\n')
    again = joins.scan(service, ws)
    assert again.stats["matched_fresh"] == len(again.assets)
    _same(again, _cold(ws))


def test_a_rescan_reads_the_keypoints_of_the_files_it_joins_only(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crop stage finds the files a new one shares local features with from sketches kept
    in the process or cached, not from every file's keypoints."""
    from twinreview.services.scan.analyse import Analyser

    cache = ResultCache(tmp_path / "cache.sqlite3")
    first = _service(cache).scan(Workspace.open(ws))
    loaded: list[str] = []
    real = Analyser._load_keypoints

    def load(self: Analyser, sha: str) -> object:
        loaded.append(sha)
        return real(self, sha)

    monkeypatch.setattr(Analyser, "_load_keypoints", load)
    astronaut = ws / "assets/ben/astronaut.jpg"
    service = _service(cache)  # a fresh process: the sketches come from the cache
    for name, area in (("part", 0.5), ("part2", 0.6)):
        loaded.clear()
        img = P.load_photo("astronaut")
        w, h = img.size
        side = area**0.5
        save_jpeg(img.crop((0, 0, int(w * side), int(h * side))), ws / f"assets/ava/{name}.jpg")
        result = service.scan(Workspace.open(ws))
        assert "duplicate_in_batch" in _kinds(result)[f"assets/ava/{name}.jpg"]
        assert _sha(astronaut) in loaded  # the picture it was cut from was joined with it
        assert len(set(loaded)) < len(first.assets) // 2, len(set(loaded))
        assert _votes_aside(result) == _votes_aside(_cold(ws))
    cache.close()


def test_a_new_process_joins_only_what_changed_since_the_pairs_were_stored(
    ws: Path, tmp_path: Path, joins: _Joins
) -> None:
    """The batch's hash candidates are cached per workspace: a warm scan in a fresh process
    (the app's first scan after a restart) joins only the files that changed meanwhile."""
    cache = ResultCache(tmp_path / "cache.sqlite3")
    first = joins.scan(_service(cache), ws)
    assert first.stats["batch_joined"] == len(first.assets)
    warm = joins.scan(_service(cache), ws)
    assert warm.stats["batch_joined"] == 0
    # Against the references only: nothing of the batch is joined again.
    assert joins.take() == [(len(warm.assets), 3)]
    assert warm.assets == first.assets
    save_jpeg(P.load_photo("coffee"), ws / "assets/ben/coffee-third.jpg", 75)
    (ws / "assets/ava/plain1.jpg").unlink()
    later = joins.scan(_service(cache), ws)
    assert later.stats["batch_joined"] == 1
    assert "duplicate_in_batch" in _kinds(later)["assets/ben/coffee-third.jpg"]
    _same(later, _cold(ws))
    cache.close()


def _hinted(service: ScanService, root: Path, *changed: Path) -> ScanResult:
    return service.scan(Workspace.open(root), changed=[str(p) for p in changed])


def test_a_rescan_told_what_changed_looks_at_those_files_only(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The OS names the changed paths: only those are listed, stat-ed and read; the result is
    a cold scan's all the same."""
    cache = ResultCache(tmp_path / "cache.sqlite3")
    service = _service(cache)
    first = service.scan(Workspace.open(ws))
    n = len(first.assets)
    a = ws / "assets"
    stats: list[str] = []
    real_stat = Path.stat

    def counting_stat(self: Path, *args: Any, **kw: Any) -> Any:
        if "assets" in self.parts and self.suffix == ".jpg":
            stats.append(self.name)
        return real_stat(self, *args, **kw)

    monkeypatch.setattr(Path, "stat", counting_stat)
    # Added: a new folder with a duplicate of an existing asset, and a copy of a reference.
    (a / "ben/new").mkdir()
    save_jpeg(P.load_photo("coffee"), a / "ben/new/coffee-third.jpg", 75)
    save_jpeg(P.load_photo("camera"), a / "ben/camera.jpg", 85)
    added = _hinted(
        service, ws, a / "ben/new", a / "ben/new/coffee-third.jpg", a / "ben/camera.jpg"
    )
    assert (added.stats["read"], added.stats["assets_looked_at"]) == (2, 2)
    assert set(stats) == {"camera.jpg", "coffee-third.jpg"}  # no other image is stat-ed
    assert "duplicate_in_batch" in _kinds(added)["assets/ben/new/coffee-third.jpg"]
    _same(added, _cold(ws))
    # The results of the assets nothing touched are the very objects of the last scan.
    before = {r.asset.rel: r for r in first.assets}
    kept = [r for r in added.assets if before.get(r.asset.rel) is r]
    assert len(kept) >= n - 3, len(kept)

    # Changed in place: only the OS's report says so (a folder event would not).
    stats.clear()
    save_jpeg(P.load_photo("rocket"), a / "ben/coins.jpg", 88)
    changed = _hinted(service, ws, a / "ben/coins.jpg")
    assert (changed.stats["read"], changed.stats["assets_looked_at"]) == (1, 1)
    assert set(stats) == {"coins.jpg"}
    assert "near_copy_of_reference" in _kinds(changed)["assets/ben/coins.jpg"]
    _same(changed, _cold(ws))

    # A sidecar written beside an asset: that asset is looked at again.
    (a / "ava/coffee.json").write_text('{"generator": "x"}')
    sidecar = _hinted(service, ws, a / "ava/coffee.json")
    assert sidecar.stats["assets_looked_at"] == 1
    assert next(r for r in sidecar.assets if r.asset.rel == "assets/ava/coffee.jpg").sidecar
    _same(sidecar, _cold(ws))

    # Deleted: a file and a whole folder.
    shutil.rmtree(a / "ben/new")
    (a / "ben/camera.jpg").unlink()
    deleted = _hinted(service, ws, a / "ben/new", a / "ben/camera.jpg")
    assert (deleted.stats["read"], deleted.stats["assets_looked_at"]) == (0, 0)
    _same(deleted, _cold(ws))
    cache.close()


def test_a_change_the_hint_missed_is_found_by_the_next_whole_look(ws: Path, tmp_path: Path) -> None:
    """A rescan trusts the paths it is told; what they miss (an event the OS lost) waits for
    the next scan told nothing (the app's backstop sweep), which looks at every file."""
    service = _service(ResultCache(tmp_path / "cache.sqlite3"))
    service.scan(Workspace.open(ws))
    a = ws / "assets"
    save_jpeg(P.load_photo("rocket"), a / "ben/coins.jpg", 88)
    save_jpeg(P.load_photo("moon"), a / "ava/moon.jpg")
    told = _hinted(service, ws, a / "ava/moon.jpg")
    assert "near_copy_of_reference" not in _kinds(told)["assets/ben/coins.jpg"]
    whole = service.scan(Workspace.open(ws))
    assert "near_copy_of_reference" in _kinds(whole)["assets/ben/coins.jpg"]
    _same(whole, _cold(ws))


def test_what_a_cancelled_rescan_was_told_is_looked_at_by_the_next(
    ws: Path, tmp_path: Path
) -> None:
    import threading

    service = _service(ResultCache(tmp_path / "cache.sqlite3"))
    service.scan(Workspace.open(ws))
    a = ws / "assets"
    save_jpeg(P.load_photo("rocket"), a / "ben/coins.jpg", 88)
    stop = threading.Event()
    stop.set()
    cancelled = service.scan(Workspace.open(ws), cancel=stop, changed=[str(a / "ben/coins.jpg")])
    assert cancelled.cancelled
    save_jpeg(P.load_photo("moon"), a / "ava/moon.jpg")
    later = _hinted(service, ws, a / "ava/moon.jpg")
    assert later.stats["assets_looked_at"] == 2
    _same(later, _cold(ws))


def test_names_a_laptop_cannot_keep_are_found_in_a_rescan_told_what_changed(
    ws: Path, tmp_path: Path
) -> None:
    service = _service(ResultCache(tmp_path / "cache.sqlite3"))
    service.scan(Workspace.open(ws))
    a = ws / "assets"
    save_jpeg(P.load_photo("moon"), a / "ava/aux.jpg")  # a device name on Windows
    save_jpeg(P.load_photo("moon"), a / "ava/Coffee.jpg")  # coffee.jpg in another case
    added = _hinted(service, ws, a / "ava/aux.jpg", a / "ava/Coffee.jpg")
    assert "path_not_portable" in _kinds(added)["assets/ava/aux.jpg"]
    assert "path_not_portable" in _kinds(added)["assets/ava/coffee.jpg"]
    _same(added, _cold(ws))
    # Only a content changed: the names found stand.
    save_jpeg(P.load_photo("rocket"), a / "ava/aux.jpg", 80)
    changed = _hinted(service, ws, a / "ava/aux.jpg")
    assert "path_not_portable" in _kinds(changed)["assets/ava/aux.jpg"]
    _same(changed, _cold(ws))
    (a / "ava/Coffee.jpg").unlink()
    gone = _hinted(service, ws, a / "ava/Coffee.jpg")
    assert "path_not_portable" not in _kinds(gone)["assets/ava/coffee.jpg"]
    _same(gone, _cold(ws))


def _prepared(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files prepared for geometric verification (not kept from their analysis)."""
    from twinreview.services.scan import verify

    paths: list[Path] = []
    prepare = verify.prepare_analysed

    def counting(path: Path, *args: Any, **kw: Any) -> Any:
        paths.append(path)
        return prepare(path, *args, **kw)

    monkeypatch.setattr(verify, "prepare_analysed", counting)
    return paths


def test_a_models_photos_added_replaced_and_deleted_each_told_give_a_cold_scans_result(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each change of ava's photos is told to a rescan: its result is a cold scan's, also for
    ben's assets that are copies of her photos, and the only pairs verified are those with her
    new photo (every other pair keeps its verdict, whatever reference it is with: no other
    photo is prepared for verification)."""
    a = ws / "assets"
    coins = P.load_photo("coins")
    save_jpeg(P.crop(coins, 0.15, 0.12, 0.15, 0.18), a / "ben/coins-part.jpg", 85)
    save_jpeg(P.crop(P.load_photo("astronaut"), 0.2, 0.1, 0.1, 0.2), a / "ben/astro-part.jpg")
    prepared = _prepared(monkeypatch)
    service = _service(ResultCache(tmp_path / "cache.sqlite3"))
    first = service.scan(Workspace.open(ws))
    _same(first, _cold(ws))
    refs = ws / "models/ava/references"

    def photos() -> set[str]:
        return {p.name for p in prepared if p.is_relative_to(ws / "models")}

    # Added: the coins, of which ben has an asset and a crop.
    prepared.clear()
    save_jpeg(coins, refs / "coins.jpg", 90)
    added = _hinted(service, ws, refs / "coins.jpg")
    assert photos() <= {"coins.jpg"}
    kinds = _kinds(added)
    assert "matches_other_model" in kinds["assets/ben/coins.jpg"]
    assert "matches_other_model" in kinds["assets/ben/coins-part.jpg"]
    _same(added, _cold(ws))

    # Replaced in place: ava's cat becomes the astronaut; the copy of the cat is no copy now,
    # ben's crop of the astronaut is a copy of ava's photo.
    prepared.clear()
    save_jpeg(P.load_photo("astronaut"), refs / "cat.jpg", 90)
    replaced = _hinted(service, ws, refs / "cat.jpg")
    assert photos() <= {"cat.jpg"}
    kinds = _kinds(replaced)
    assert "near_copy_of_reference" not in kinds["assets/ava/copy.jpg"]
    assert "matches_other_model" in kinds["assets/ben/astro-part.jpg"]
    _same(replaced, _cold(ws))

    # Deleted: the coins again; nothing is verified.
    prepared.clear()
    (refs / "coins.jpg").unlink()
    deleted = _hinted(service, ws, refs / "coins.jpg")
    assert prepared == []
    assert "matches_other_model" not in _kinds(deleted)["assets/ben/coins-part.jpg"]
    _same(deleted, _cold(ws))


def test_a_touched_file_keeps_its_keypoints_for_a_later_reference_change(
    ws: Path, tmp_path: Path
) -> None:
    """Files written again with the same bytes (a sync tool, a checkout) are known by content:
    their cached analysis keeps the keypoints, so that a reference added later still finds the
    crops among them."""
    a = ws / "assets"
    save_jpeg(P.crop(P.load_photo("coins"), 0.15, 0.12, 0.15, 0.18), a / "ben/coins-part.jpg", 85)
    cache = ResultCache(tmp_path / "cache.sqlite3")
    _service(cache).scan(Workspace.open(ws))
    for path in sorted(a.rglob("*.jpg")):
        copy = path.with_name(path.name + ".part")
        copy.write_bytes(path.read_bytes())
        copy.replace(path)
    service = _service(cache)
    service.scan(Workspace.open(ws))
    refs = ws / "models/ava/references"
    save_jpeg(P.load_photo("coins"), refs / "coins.jpg", 90)
    added = _hinted(service, ws, refs / "coins.jpg")
    assert "matches_other_model" in _kinds(added)["assets/ben/coins-part.jpg"]
    _same(added, _cold(ws))


def test_a_rescan_decides_the_batch_pairs_of_the_changed_files_only(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pair of unchanged files keeps its decision: a rescan's decisions follow the change,
    not the batch's pairs (thousands at 10,000 assets)."""
    from twinreview.core.similarity import match as similarity

    cache = ResultCache(tmp_path / "cache.sqlite3")
    service = _service(cache)
    decided: list[tuple[int, int]] = []
    real = similarity.decide

    def counting(c: similarity.Candidate, *args: Any, **kw: Any) -> Any:
        decided.append((c.query, c.ref))
        return real(c, *args, **kw)

    monkeypatch.setattr(similarity, "decide", counting)
    first = service.scan(Workspace.open(ws))
    assert decided, "the batch has pairs to decide"
    whole = len(decided)

    decided.clear()
    again = _hinted(service, ws)
    assert decided == []
    assert again.assets == first.assets

    a = ws / "assets"
    save_jpeg(P.load_photo("coffee"), a / "ben/coffee-third.jpg", 75)
    decided.clear()
    added = _hinted(service, ws, a / "ben/coffee-third.jpg")
    assert 0 < len(decided) < whole
    assert "duplicate_in_batch" in _kinds(added)["assets/ben/coffee-third.jpg"]
    _same(added, _cold(ws))

    (a / "ben/sub/coffee-again.jpg").unlink()
    decided.clear()
    deleted = _hinted(service, ws, a / "ben/sub/coffee-again.jpg")
    assert decided == []
    _same(deleted, _cold(ws))
    cache.close()


def test_a_scan_process_stores_the_batch_pairs_once_its_result_is_out(
    ws: Path, tmp_path: Path
) -> None:
    """With ``defer_saves`` the batch's pairs (megabytes at 10,000 assets) are written by
    ``settle()``, after the result went out, or by the next scan before it starts."""
    from twinreview.core.similarity.match import SimilarityThresholds
    from twinreview.services.scan.model import BATCH_PAIRS_VERSION, batch_pairs_key

    cache = ResultCache(tmp_path / "cache.sqlite3")
    root = Workspace.open(ws).root
    key = batch_pairs_key(str(root), SimilarityThresholds())

    def stored() -> list[str] | None:
        row = cache.get(key, "batch-pairs", BATCH_PAIRS_VERSION)
        return None if row is None else list(row["rels"])

    service = ScanService(SyncExecutor(), cache, defer_saves=True)  # type: ignore[arg-type]
    first = service.scan(Workspace.open(ws))
    assert stored() is None
    service.settle()
    assert stored() == [a.asset.rel for a in first.assets]

    save_jpeg(P.load_photo("coffee"), ws / "assets/ben/coffee-third.jpg", 75)
    added = service.scan(Workspace.open(ws))
    assert added.stats["batch_joined"] == 1
    assert stored() == [a.asset.rel for a in first.assets]
    service.scan(Workspace.open(ws))  # the next scan writes what the last one left first
    assert stored() == [a.asset.rel for a in added.assets]
    # Another process starts from them: it joins nothing again.
    later = _service(cache).scan(Workspace.open(ws))
    assert later.stats["batch_joined"] == 0
    _same(later, _cold(ws))
    cache.close()


def test_a_scan_process_reads_the_batch_sketches_before_its_first_rescan(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The crop stage's sketches of every file are read when the scan process is idle, not
    by the first rescan while its reviewer waits for a change to show."""
    cache = ResultCache(tmp_path / "cache.sqlite3")
    _service(cache).scan(Workspace.open(ws))  # an earlier process cached them
    asked: list[int] = []
    real = ResultCache.get_many

    def counting(self: ResultCache, shas: Any, kind: str, version: str) -> Any:
        shas = list(shas)
        if kind == "touch":
            asked.append(len(shas))
        return real(self, shas, kind, version)

    monkeypatch.setattr(ResultCache, "get_many", counting)
    service = ScanService(SyncExecutor(), cache, defer_saves=True)  # type: ignore[arg-type]
    first = service.scan(Workspace.open(ws))
    assert asked == []
    service.settle()
    assert sum(asked) == len({a.sha256 for a in first.assets})
    asked.clear()
    img = P.load_photo("astronaut")
    save_jpeg(img.crop((0, 0, img.width // 2, img.height // 2)), ws / "assets/ava/part.jpg")
    added = _hinted(service, ws, ws / "assets/ava/part.jpg")
    assert sum(asked) == 0
    assert "duplicate_in_batch" in _kinds(added)["assets/ava/part.jpg"]
    assert _votes_aside(added) == _votes_aside(_cold(ws))
    cache.close()
