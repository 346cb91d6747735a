"""The scan service: findings per asset, bad input, the cache fast path, progress and cancel."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from photos import load_photo
from twinreview.core.findings import Severity
from twinreview.core.workspace import Workspace, WorkspaceError
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.model import ScanProgress
from twinreview.services.scan.service import ScanResult, ScanService
from wsbuild import add_model, make_workspace, pattern, save_jpeg


def _kinds(result: ScanResult) -> dict[str, set[str]]:
    return {a.asset.rel: {f.kind for f in a.findings} for a in result.assets}


@pytest.fixture
def photo_ws(tmp_path: Path) -> Path:
    """Two models with real photos as references, and assets derived from them."""
    root = make_workspace(tmp_path / "ws")
    cat, rocket, coffee = load_photo("chelsea"), load_photo("rocket"), load_photo("coffee")
    add_model(root, "ava", {"cat.jpg": cat})
    add_model(root, "ben", {"rocket.jpg": rocket})
    a = root / "assets"
    w, h = cat.size
    save_jpeg(
        ImageOps.mirror(cat.crop((w // 12, h // 12, w - w // 12, h - h // 12))),
        a / "ava/copy.jpg",
        70,
    )
    save_jpeg(rocket.resize((rocket.width // 2, rocket.height // 2)), a / "ava/wrong.jpg", 80)
    save_jpeg(coffee, a / "ava/new.jpg")
    save_jpeg(coffee, a / "ben/sub/new-again.jpg", 60)
    save_jpeg(pattern(3), a / "ben/clean.jpg")
    return root


def scan(
    root: Path, executor: object, cache: ResultCache | None = None, **kw: object
) -> ScanResult:
    service = ScanService(executor, cache or ResultCache.in_memory())  # type: ignore[arg-type]
    return service.scan(Workspace.open(root), **kw)  # type: ignore[arg-type]


def test_similarity_findings(photo_ws: Path, sync_executor: object) -> None:
    result = scan(photo_ws, sync_executor)
    kinds = _kinds(result)
    assert kinds["assets/ava/copy.jpg"] == {"near_copy_of_reference"}
    assert kinds["assets/ava/wrong.jpg"] == {"matches_other_model"}
    assert kinds["assets/ava/new.jpg"] == {"duplicate_in_batch"}
    assert kinds["assets/ben/sub/new-again.jpg"] == {"duplicate_in_batch"}
    assert kinds["assets/ben/clean.jpg"] == set()

    by_rel = {a.asset.rel: a for a in result.assets}
    (copy,) = by_rel["assets/ava/copy.jpg"].findings
    assert copy.severity is Severity.BLOCK
    assert copy.evidence["reference"] == "models/ava/references/cat.jpg"
    assert isinstance(copy.evidence["distance"], int)
    (wrong,) = by_rel["assets/ava/wrong.jpg"].findings
    assert wrong.evidence["reference"] == "models/ben/references/rocket.jpg"
    assert "same person" not in wrong.message
    (dup,) = by_rel["assets/ava/new.jpg"].findings
    assert dup.severity is Severity.INFO
    assert dup.evidence["reference"] == "assets/ben/sub/new-again.jpg"


def test_thread_pool_gives_the_same_result(photo_ws: Path, sync_executor: object) -> None:
    with ThreadPoolExecutor(2) as pool:
        threaded = scan(photo_ws, pool)
    assert _kinds(threaded) == _kinds(scan(photo_ws, sync_executor))


class _GatedPool(ThreadPoolExecutor):
    """A thread pool whose jobs start together once released; counts the futures in flight
    during the analysis (``phase``: the scan's progress sets it)."""

    def __init__(self) -> None:
        super().__init__(2)
        self.gate = threading.Event()
        self.in_flight = self.most = 0
        self.phase = ""
        self._lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        def gated():  # type: ignore[no-untyped-def]
            self.gate.wait(10)
            return fn(*args, **kwargs)

        with self._lock:
            self.in_flight += 1
            if self.phase in ("check", "analyse"):
                self.most = max(self.most, self.in_flight)
        fut = super().submit(gated)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, _fut: object) -> None:
        with self._lock:
            self.in_flight -= 1


def test_the_analysis_keeps_few_files_in_flight(
    photo_ws: Path, sync_executor: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Waiting on every file of a campaign at once costs each wait time in proportion to the
    # campaign: the files go to the executor a few at a time, with the same results.
    from twinreview.services.scan import analyse

    monkeypatch.setattr(analyse, "IN_FLIGHT", 2)
    with _GatedPool() as pool:
        # Released after the files were looked at: handed over all at once, all would wait.
        threading.Timer(0.5, pool.gate.set).start()
        gated = scan(photo_ws, pool, progress=lambda p: setattr(pool, "phase", p.phase))
    assert 1 <= pool.most <= 2
    assert _kinds(gated) == _kinds(scan(photo_ws, sync_executor))


def test_severity_comes_from_the_workspace(photo_ws: Path, sync_executor: object) -> None:
    (photo_ws / "twinreview.toml").write_text(
        '[similarity.severity]\nduplicate_in_batch = "warn"\n'
    )
    result = scan(photo_ws, sync_executor)
    dup = [f for a in result.assets for f in a.findings if f.kind == "duplicate_in_batch"]
    assert dup
    assert {f.severity for f in dup} == {Severity.WARN}


def test_bad_severity_is_a_clear_error(photo_ws: Path, sync_executor: object) -> None:
    (photo_ws / "twinreview.toml").write_text(
        '[similarity.severity]\nduplicate_in_batch = "loud"\n'
    )
    with pytest.raises(WorkspaceError, match="duplicate_in_batch"):
        scan(photo_ws, sync_executor)


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


def test_bad_input_yields_findings_never_a_crash(tmp_path: Path, sync_executor: object) -> None:
    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"a.jpg": pattern(1)})
    (root / "models" / "empty" / "references").mkdir(parents=True)  # a model with no photos
    a = root / "assets" / "ava"
    a.mkdir(parents=True)
    good = save_jpeg(pattern(2, (1600, 1200)), a / "good.jpg").read_bytes()
    (a / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (a / "empty.jpg").write_bytes(b"")
    (a / "notes.jpg").write_text("this is a text file with a photo's name\n")
    bomb = Image.new("L", (12_000, 12_000))
    bomb.save(a / "bomb.png", optimize=False)
    outside = tmp_path / "outside.jpg"
    save_jpeg(pattern(4), outside)
    os.symlink(outside, a / "escape.jpg")
    save_jpeg(pattern(5), Path(os.fsdecode(os.fsencode(a) + b"/na\xefve.jpg")))
    save_jpeg(pattern(6), root / "assets" / "ghost" / "x.jpg")
    save_jpeg(pattern(7), root / "assets" / "empty" / "y.jpg")
    os.mkfifo(a / "pipe.jpg")
    before = _snapshot(root)

    result = scan(root, sync_executor)

    by_rel = {r.asset.rel: r for r in result.assets}
    reasons = {rel: (r.error or "") for rel, r in by_rel.items()}
    assert "truncated" in reasons["assets/ava/truncated.jpg"]
    assert "empty" in reasons["assets/ava/empty.jpg"]
    assert "text" in reasons["assets/ava/notes.jpg"]
    assert "too large to decode safely" in reasons["assets/ava/bomb.png"]
    assert "outside the workspace" in reasons["assets/ava/escape.jpg"]
    assert "regular file" in reasons["assets/ava/pipe.jpg"]
    for rel in ("truncated", "empty", "notes", "escape", "pipe"):
        (f,) = [f for f in by_rel[f"assets/ava/{rel}.jpg"].findings if f.kind == "unreadable"]
        assert f.severity is Severity.BLOCK
        assert f.message.startswith("Unreadable: ")
    assert by_rel["assets/ava/na\ufffdve.jpg"].error is None
    assert by_rel["assets/ava/good.jpg"].findings == ()
    assert {f.kind for f in by_rel["assets/ghost/x.jpg"].findings} == {"unknown_model"}
    assert {f.kind for f in by_rel["assets/empty/y.jpg"].findings} == {"no_references"}
    assert any("'empty' has no reference photos" in n for n in result.notices)
    # The escaping link was never read: no hash of the outside file.
    assert by_rel["assets/ava/escape.jpg"].sha256 is None
    assert _snapshot(root) == before


def test_rescan_uses_the_fast_path(photo_ws: Path, sync_executor: object, tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "cache.sqlite3")
    first = scan(photo_ws, sync_executor, cache)
    assert first.stats["read"] == first.stats["files"]
    second = scan(photo_ws, sync_executor, cache)
    assert second.stats["read"] == 0
    assert second.stats["cached"] == second.stats["files"]
    assert _kinds(first) == _kinds(second)

    # Touching one file's content makes exactly that file be read again.
    target = photo_ws / "assets" / "ben" / "clean.jpg"
    save_jpeg(pattern(99), target)
    third = scan(photo_ws, sync_executor, cache)
    assert third.stats["read"] == 1
    # A renamed file is read once for its sha256, but not decoded again: same bytes, same key.
    os.rename(target, photo_ws / "assets" / "ben" / "renamed.jpg")
    fourth = scan(photo_ws, sync_executor, cache)
    assert fourth.stats["read"] == 1
    assert fourth.stats["decoded"] == 0
    cache.close()


def test_progress_and_cancel(photo_ws: Path, sync_executor: object) -> None:
    seen: list[ScanProgress] = []
    result = scan(photo_ws, sync_executor, progress=seen.append)
    analyse = [p for p in seen if p.phase == "analyse"]
    assert analyse[-1].done == analyse[-1].total == 7
    assert not result.cancelled

    cancel = threading.Event()

    def stop_after_two(p: ScanProgress) -> None:
        if p.phase == "analyse" and p.done >= 2:
            cancel.set()

    with ThreadPoolExecutor(1) as pool:
        cancelled = scan(photo_ws, pool, progress=stop_after_two, cancel=cancel)
    assert cancelled.cancelled
    assert cancelled.assets == ()


def test_editing_an_xmp_sidecar_refreshes_the_disclosure(tmp_path: Path) -> None:
    from twinreview.services.compose import make_scan_service

    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"a.jpg": pattern(1)})
    asset = save_jpeg(pattern(2), root / "assets" / "ava" / "x.jpg")
    cache = ResultCache(tmp_path / "cache.sqlite3")
    with ThreadPoolExecutor(1) as pool:
        service = make_scan_service(pool, cache, faces=False)
        first = service.scan(Workspace.open(root))
        assert first.assets[0].disclosure is not None
        assert first.assets[0].disclosure.xmp.source_type is None
        asset.with_suffix(".xmp").write_text(
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
            'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
            'trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>'
        )
        second = service.scan(Workspace.open(root))
    cache.close()
    disclosure = second.assets[0].disclosure
    assert disclosure is not None
    assert disclosure.xmp.source_type is not None
    assert disclosure.xmp.source_type.endswith("trainedAlgorithmicMedia")
    assert {f.kind for f in second.assets[0].findings} == {"partial_disclosure"}


def test_a_damaged_cache_row_is_a_miss(
    photo_ws: Path, sync_executor: object, tmp_path: Path
) -> None:
    path = tmp_path / "cache.sqlite3"
    cache = ResultCache(path)
    first = scan(photo_ws, sync_executor, cache)
    cache.close()
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute('UPDATE results SET data = \'{"facts": 1, "fingerprint": "zz"}\'')
    cache = ResultCache(path)
    second = scan(photo_ws, sync_executor, cache)
    cache.close()
    assert second.stats["decoded"] == second.stats["files"]
    assert _kinds(second) == _kinds(first)


def test_verify_pair_on_demand_gives_the_homography(photo_ws: Path, sync_executor: object) -> None:
    """For the compare view: a pair verified on demand, cached, its homography included."""
    service = ScanService(sync_executor, ResultCache.in_memory())  # type: ignore[arg-type]
    copy = photo_ws / "assets/ava/copy.jpg"
    ref = photo_ws / "models/ava/references/cat.jpg"
    v = service.verify_pair(copy, ref)
    assert v is not None and v.mirrored and v.homography is not None
    region = v.asset_region()
    assert region is not None
    # A mirrored crop of 1/12 per side: the copy's top-left corner lands near the top right.
    assert region[0][0] > 0.85 and region[0][1] < 0.15
    assert service.verify_pair(copy, ref) == v
    assert service.verify_pair(copy, photo_ws / "missing.jpg") is None


def test_clear_cut_copies_carry_geometric_evidence(tmp_path: Path, sync_executor: object) -> None:
    """An exact and a mirrored copy are clear-cut by hash, yet their evidence maps them.

    The duplicate between the two is mirrored: it is verified (the same picture by hashes
    alone needs both whole-frame hashes, and no whole-frame dHash of a mirrored frame is
    kept). A clear-cut duplicate as is (:func:`test_a_clear_cut_duplicate_is_said_by_its_hashes`)
    is left to the compare view.
    """
    root = make_workspace(tmp_path / "ws")
    cat = load_photo("chelsea")
    add_model(root, "ava", {"cat.jpg": cat})
    a = root / "assets" / "ava"
    save_jpeg(cat, a / "exact.jpg", 95)
    save_jpeg(ImageOps.mirror(cat), a / "mirror.jpg", 95)
    cache = ResultCache(tmp_path / "cache.sqlite3")
    seen: list[ScanProgress] = []
    result = scan(root, sync_executor, cache, progress=seen.append)
    by_rel = {r.asset.rel: r for r in result.assets}
    for rel, mirrored in (("assets/ava/exact.jpg", False), ("assets/ava/mirror.jpg", True)):
        copies = [f for f in by_rel[rel].findings if f.kind == "near_copy_of_reference"]
        dups = [f for f in by_rel[rel].findings if f.kind == "duplicate_in_batch"]
        assert len(copies) == 1 and len(dups) == 1, by_rel[rel].findings
        ev = copies[0].evidence
        assert ev["clear_cut"] is True, ev
        assert ev["verification"] == "geometry", ev
        assert ev["inliers"] >= ev["min_inliers"]
        assert len(ev["homography"]) == 3 and len(ev["asset_region"]) == 4
        dup = dups[0].evidence
        assert dup["verification"] == "geometry" and dup["mirrored"] is True, dup
        assert dup["inliers"] >= dup["min_inliers"], dup
        assert copies[0].evidence["mirrored"] is mirrored
        # Mirrored copy: the asset's top-left corner lands at the reference's top right.
        corner = copies[0].evidence["asset_region"][0]
        assert (corner[0] > 0.9) is mirrored and corner[1] < 0.1
    assert any(p.phase == "verify" and p.total > 0 for p in seen)
    # The rescan takes the verdicts from the cache: nothing is decoded or verified again.
    again: list[ScanProgress] = []
    second = scan(root, sync_executor, cache, progress=again.append)
    cache.close()
    assert second.stats["decoded"] == 0
    assert all(p.total == 0 for p in again if p.phase == "verify")
    assert [a.findings for a in second.assets] == [a.findings for a in result.assets]


def test_a_clear_cut_duplicate_is_said_by_its_hashes(tmp_path: Path, sync_executor: object) -> None:
    """The same picture twice as is (re-encoded): both whole-frame hashes agree, so the pair
    is the same picture by its hashes alone; the compare view verifies it when shown."""
    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"cat.jpg": load_photo("chelsea")})
    a = root / "assets" / "ava"
    save_jpeg(load_photo("coffee"), a / "one.jpg", 95)
    save_jpeg(load_photo("coffee"), a / "two.jpg", 70)
    result = scan(root, sync_executor)
    for r in result.assets:
        (dup,) = [f.evidence for f in r.findings if f.kind == "duplicate_in_batch"]
        assert dup["clear_cut"] is True, dup
        assert dup["verification"] == "clear-cut hash match; geometry computed when compared"
        assert not {"inliers", "homography", "asset_region"} & dup.keys(), dup
        assert None not in dup.values(), dup


def test_each_side_of_a_duplicate_pair_has_its_own_evidence(
    tmp_path: Path, sync_executor: object
) -> None:
    """A crop of another asset: each side's evidence maps that side onto the other, with its
    own keypoint counts (swapped) and the hash alignment seen from its side."""
    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"ref.jpg": load_photo("rocket")})
    coffee = load_photo("coffee")
    w, h = coffee.size
    save_jpeg(coffee, root / "assets/ava/whole.jpg")
    crop = coffee.crop((w // 10, h // 12, w - w // 14, h - h // 10))
    part_image = ImageOps.autocontrast(crop.rotate(2, Image.Resampling.BICUBIC), cutoff=2)
    save_jpeg(part_image, root / "assets/ava/part.jpg", 75)
    by_rel = {a.asset.rel: a for a in scan(root, sync_executor).assets}
    dup = "duplicate_in_batch"
    (whole,) = [f for f in by_rel["assets/ava/whole.jpg"].findings if f.kind == dup]
    (part,) = [f for f in by_rel["assets/ava/part.jpg"].findings if f.kind == dup]
    ew, ep = whole.evidence, part.evidence
    assert ew["verification"] == ep["verification"] == "geometry", (ew, ep)
    assert ew["keypoints"] == ep["keypoints"][::-1]
    hw, hp = np.array(ew["homography"]), np.array(ep["homography"])
    product = hw @ hp
    np.testing.assert_allclose(product / product[2, 2], np.eye(3), atol=1e-3)
    # The part lies inside the whole; the whole reaches beyond the part's frame.
    inside = np.array(ep["asset_region"])
    assert inside.min() >= -0.02 and inside.max() <= 1.02
    beyond = np.array(ew["asset_region"])
    assert beyond.min() < -0.05 and beyond.max() > 1.05
    # The hash alignment of each side is its own: where its probe lands in the other.
    assert ew["reference_region"] != ep["reference_region"] or ew["distance"] != ep["distance"]


# --- What could not be checked, and what is done again ------------------------------------------


def test_a_pair_that_cannot_be_verified_is_never_worded_as_a_fact(
    photo_ws: Path, sync_executor: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every pair goes to verification (no clear-cut band) and none can be verified (as for
    plain pictures with too few keypoints): the duplicates in the batch are dropped, and the
    copy of a reference says it is similar by its hashes and could not be checked."""
    from twinreview.core.similarity import geometry

    (photo_ws / "twinreview.toml").write_text("[similarity]\nclear_cut = -1\n")
    plain = geometry.Verification(0, 0, False, keypoints=(400, geometry.MIN_KEYPOINTS - 1))
    monkeypatch.setattr(geometry, "verify", lambda *_a, **_k: plain)
    result = scan(photo_ws, sync_executor)
    kinds = _kinds(result)
    assert kinds["assets/ava/new.jpg"] == set()  # was "the same picture as" new-again.jpg
    assert kinds["assets/ben/sub/new-again.jpg"] == set()
    assert result.stats["batch_pairs_unchecked"] >= 1
    by_rel = {a.asset.rel: a for a in result.assets}
    (copy,) = by_rel["assets/ava/copy.jpg"].findings
    assert copy.evidence["verification"] == "not possible: too few keypoints to verify"
    assert "similar by their hashes" in copy.message and "could not be checked" in copy.message
    for a in result.assets:
        for f in a.findings:
            if str(f.evidence.get("verification", "")).startswith("not possible"):
                assert "looks like a copy" not in f.message
                assert "is the same picture" not in f.message


def test_a_rescan_analyses_only_the_changed_files_and_verifies_only_their_pairs(
    photo_ws: Path, sync_executor: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted: files decoded, and the images of every pair verified geometrically."""
    import hashlib

    from twinreview.core.similarity import geometry

    calls: list[tuple[str, str]] = []
    real = geometry.verify

    def counting(q: geometry.Prepared, r: geometry.Prepared, **kw: object) -> object:
        calls.append(tuple(hashlib.sha1(p.grey.tobytes()).hexdigest() for p in (q, r)))  # type: ignore[arg-type]
        return real(q, r, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(geometry, "verify", counting)
    cache = ResultCache(tmp_path / "cache.sqlite3")
    first = scan(photo_ws, sync_executor, cache)
    assert first.stats["decoded"] == len(first.assets) + 2  # and the two references
    seen = {side for pair in calls for side in pair}
    assert calls
    calls.clear()
    again = scan(photo_ws, sync_executor, cache)
    assert (again.stats["read"], again.stats["decoded"], calls) == (0, 0, [])

    a = photo_ws / "assets"
    save_jpeg(load_photo("rocket"), a / "ben/clean.jpg", 85)  # rewritten in place
    save_jpeg(ImageOps.mirror(load_photo("coffee")), a / "ben/added.jpg")
    (a / "ava/wrong.jpg").unlink()
    changed = scan(photo_ws, sync_executor, cache)
    assert (changed.stats["read"], changed.stats["decoded"]) == (2, 2)
    assert calls  # the new pictures' pairs were verified ...
    assert all(q not in seen or r not in seen for q, r in calls)  # ... and no pair of old ones
    kinds = _kinds(changed)
    assert "assets/ava/wrong.jpg" not in kinds
    assert kinds["assets/ben/clean.jpg"] == {"near_copy_of_reference"}  # ben's own photo
    cache.close()


def test_a_rescan_in_one_process_reads_the_cache_for_the_changed_files_only(
    photo_ws: Path, sync_executor: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's scan process keeps the last scan's analyses; an asset's keypoints are read
    from the cache only when the crop stage needs them."""
    from twinreview.services.scan.analyse import Analyser

    cache = ResultCache(tmp_path / "cache.sqlite3")
    service = ScanService(sync_executor, cache)  # type: ignore[arg-type]
    first = service.scan(Workspace.open(photo_ws))
    looked_up: list[str] = []
    real_lookup = cache.lookup_shas

    def lookup(files: list[tuple[Path, os.stat_result]]) -> list[str | None]:
        looked_up.extend(path.name for path, _st in files)
        return real_lookup(files)

    loaded: list[str] = []
    real_load = Analyser._load_keypoints

    def load(self: Analyser, sha: str) -> object:
        loaded.append(sha)
        return real_load(self, sha)

    monkeypatch.setattr(cache, "lookup_shas", lookup)
    monkeypatch.setattr(Analyser, "_load_keypoints", load)
    again = service.scan(Workspace.open(photo_ws))
    assert (looked_up, loaded, again.stats["read"]) == ([], [], 0)
    assert _kinds(again) == _kinds(first)
    # A fresh process: every file's row is read, still no asset's keypoints.
    fresh = ScanService(sync_executor, cache).scan(Workspace.open(photo_ws))  # type: ignore[arg-type]
    assert len(looked_up) == fresh.stats["files"] and loaded == []
    assert fresh.assets == first.assets
    looked_up.clear()

    save_jpeg(load_photo("rocket"), photo_ws / "assets/ben/clean.jpg", 85)  # rewritten in place
    changed = service.scan(Workspace.open(photo_ws))
    assert looked_up == ["clean.jpg"]
    assert loaded  # the crop stage looked for the new picture among the others
    assert "near_copy_of_reference" in _kinds(changed)["assets/ben/clean.jpg"]
    looked_up.clear()
    (photo_ws / "assets/ava/wrong.jpg").unlink()
    gone = service.scan(Workspace.open(photo_ws))
    assert looked_up == [] and "assets/ava/wrong.jpg" not in _kinds(gone)
    # The same results as a process that kept nothing.
    other = ScanService(sync_executor, ResultCache(tmp_path / "cache.sqlite3"))  # type: ignore[arg-type]
    assert other.scan(Workspace.open(photo_ws)).assets == gone.assets
    cache.close()


def test_a_duplicate_says_when_its_asset_had_more_candidates_than_are_verified(
    tmp_path: Path, sync_executor: object
) -> None:
    """One picture and three mirrored versions of it: the picture's three mirrored pairs
    compete for the two verified per asset; its findings say one pair was left out, and the
    pair left out is not called a duplicate by anyone."""
    root = make_workspace(tmp_path / "ws")
    cat = load_photo("chelsea")
    add_model(root, "ava", {"rocket.jpg": load_photo("rocket")})
    a = root / "assets" / "ava"
    save_jpeg(cat, a / "cat.jpg", 95)
    for q in (95, 85, 75):
        save_jpeg(ImageOps.mirror(cat), a / f"mirror{q}.jpg", q)
    result = scan(root, sync_executor, ResultCache(tmp_path / "cache.sqlite3"))
    dups = {
        r.asset.rel: [f.evidence for f in r.findings if f.kind == "duplicate_in_batch"]
        for r in result.assets
    }
    mine = dups["assets/ava/cat.jpg"]
    assert len(mine) == 2, mine
    for ev in mine:
        assert ev["candidates_left_out"] == 1 and ev["candidates_verified"] == 2, ev
        assert ev["verification"] == "geometry", ev
    paired = {ev["asset"] for ev in mine}
    (left,) = {f"assets/ava/mirror{q}.jpg" for q in (95, 85, 75)} - paired
    assert "assets/ava/cat.jpg" not in {ev["asset"] for ev in dups[left]}
    assert result.stats["batch_candidates_cut"] == 1
