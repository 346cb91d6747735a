"""Crops, outpaintings and their mixes are found as copies of the photo they come from.

The crop stage (local-feature candidates, :mod:`twinreview.core.similarity.featureindex`, each
verified against the reference's fine image,
:meth:`twinreview.core.similarity.geometry.Prepared.fine`) was tuned on the face corpus: the vote
rule (:data:`featureindex.MIN_VOTES`, ratio test, bucket cap), the fine image's size and keypoints,
and when a candidate is verified again from a fine image of the asset
(:func:`similarity.worth_a_fine_look`), using exploratory crops of all 19 photos and the set
:func:`crops.face_crops` (seed 17). :func:`test_held_out_crops_are_found` asserts on photos never
used while tuning (:data:`crops.HELD_OUT_PHOTOS`, scikit-image) with a draw of transforms (seed
2027) first run after the last setting was chosen. An earlier draw of the same photos (seed 2026)
was looked at during tuning: 0.963 before the last two settings (the vote threshold and the second,
fine look), 0.979 after; its misses are the clock and the horse silhouette, plain pictures with few
keypoints.

Measured (pytest -s prints the figures of a run): held-out 0.984 (198 of 201 queries, seed
2027; missed: the horse silhouette twice and the clock, plain pictures), face set 0.981 (302 of
308; missed: crops outpainted again with a caption or label, agreement 0.84-0.87 where 0.88 is
needed, and two crops of the 320 px obama_4_small.jpg), 0 false copies on both, 0 false
duplicates in a batch of each. In a batch of each photo, its 40 % crop and its outpainting, 44
of the 56 pairs of one picture are found: the photo and its crop 17 times of 19, the photo and
its outpainting 19 of 19; the crop and the outpainting (a 40 % crop against the whole photo at
about half the scale, both at working size) are the ones missed. Ground truth
counts two photos that share a region pixel for pixel (:data:`copies.SAME_SITTING`, the stereo
pair) as neither copies nor different photos.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import copies
import crops
from conftest import CORPUS
from twinreview.core.imageio import load_image
from twinreview.core.similarity import geometry, hashing
from twinreview.core.similarity.match import SimilarityThresholds
from twinreview.core.workspace import Workspace
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.service import ScanService
from wsbuild import add_model, make_workspace, save_jpeg

RECALL = 0.98


def _recall(cs: copies.CopySet, out: copies.Outcome) -> tuple[float, list[tuple[str, str]]]:
    """Share of edited queries matched to (a reference showing) the photo they come from."""
    found: dict[int, bool] = {}
    for q in range(len(cs.queries)):
        for r in range(len(cs.refs)):
            if cs.is_copy(q, r):
                found[q] = found.get(q, False) or (q, r) in out.matches
    missed = [(cs.queries[q].source, cs.queries[q].edit) for q, ok in found.items() if not ok]
    return sum(found.values()) / len(found), missed


def _false(cs: copies.CopySet, out: copies.Outcome) -> list[tuple[str, str, str]]:
    return sorted(
        (cs.queries[q].source, cs.queries[q].edit, cs.refs[r])
        for q, r in out.matches
        if cs.is_different(q, r) and not cs.sitting(q, r)
    )


def _false_batch(cs: copies.CopySet, batch: copies.Outcome) -> list[tuple[str, ...]]:
    return sorted(
        (cs.queries[a].source, cs.queries[a].edit, cs.queries[b].source, cs.queries[b].edit)
        for a, b in batch.matches
        if not cs.same_picture(a, b) and not cs.shares_pixels(a, b)
    )


@pytest.mark.slow
def test_held_out_crops_are_found() -> None:
    cs = crops.held_out_crops(seed=2027)
    out = copies.run(cs)
    recall, missed = _recall(cs, out)
    false = _false(cs, out)
    batch = copies.run_batch(cs)
    false_batch = _false_batch(cs, batch)
    how = Counter(m.evidence.candidate for m in out.matches.values())
    print(
        f"\nheld-out crops: {len(cs.queries)} queries, recall {recall:.3f}, false copies "
        f"{len(false)}, false duplicates {len(false_batch)}; found by {dict(how)}; "
        f"missed {missed}"
    )
    assert not false
    assert not false_batch
    assert recall >= RECALL, missed


@pytest.mark.slow
@pytest.mark.corpus
def test_crops_of_portraits_are_found_and_nothing_else(corpus_dir: Path) -> None:
    """The set the crop stage was tuned on: its figures, and no false copy or duplicate."""
    cs = crops.face_crops(corpus_dir)
    out = copies.run(cs)
    recall, missed = _recall(cs, out)
    false = _false(cs, out)
    batch = copies.run_batch(cs)
    false_batch = _false_batch(cs, batch)
    # Copies of one photo in one batch are duplicates of each other: a batch of each photo,
    # its 40 % crop and its outpainting (the crop and the outpainting are the farthest apart).
    three = [q for q in cs.queries if q.edit in ("original", "crop40", "outpaint")]
    pairs_set = copies.CopySet(cs.refs, cs.originals, three, cs.derived, cs.same_sitting)
    paired = copies.run_batch(pairs_set)
    expected = {
        (a, b)
        for a in range(len(three))
        for b in range(a + 1, len(three))
        if pairs_set.same_picture(a, b) and three[a].edit != three[b].edit
    }
    both = len(expected & {(min(a, b), max(a, b)) for a, b in paired.matches})
    assert not _false_batch(pairs_set, paired)
    print(
        f"\nportrait crops: {len(cs.queries)} queries, recall {recall:.3f}, false copies "
        f"{len(false)}, false duplicates {len(false_batch)}; a photo, its 40 % crop and its "
        f"outpainting paired in a batch: {both} of {len(expected)}; missed {missed}"
    )
    assert not false
    assert not false_batch
    assert recall >= 0.97, missed
    assert both >= 0.75 * len(expected)


# --- One transform at a time ------------------------------------------------------------------

PORTRAITS = ("alex_3.jpg", "obama_3.jpg", "rose_1.jpg", "kit_1.jpg")
OTHERS = ("alex_2.jpg", "obama_2.jpg", "rose_2.jpg", "biden_2.jpg")


@pytest.fixture(scope="module")
def portraits(corpus_dir_module: Path) -> dict[str, Image.Image]:
    folder = corpus_dir_module / "faces"
    return {
        n: load_image((folder / n).read_bytes(), min_side=hashing.MIN_SIDE).image
        for n in PORTRAITS + OTHERS
    }


@pytest.fixture(scope="module")
def corpus_dir_module() -> Path:
    """``corpus_dir`` for a module-wide fixture: skipped when absent, a failure when CI=true."""
    if not CORPUS.is_dir():
        msg = f"shared corpus not found at {CORPUS}"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return CORPUS


@pytest.mark.corpus
@pytest.mark.parametrize("transform", sorted(crops.TRANSFORMS))
def test_each_transform_alone_is_a_copy_of_its_photo(
    transform: str, portraits: dict[str, Image.Image]
) -> None:
    """Every reference is a photo of the same people as another (other photos of them)."""
    rng = random.Random(transform)
    originals = dict(portraits)
    queries = [
        copies.Query(n, transform, copies.as_file(crops.TRANSFORMS[transform](originals[n], rng)))
        for n in PORTRAITS
    ]
    cs = copies.CopySet(sorted(originals), originals, queries)
    out = copies.run(cs)
    th = SimilarityThresholds()
    for q, query in enumerate(queries):
        r = cs.refs.index(query.source)
        match = out.matches.get((q, r))
        assert match is not None, (query.source, transform)
        ev = match.evidence.to_json()
        if ev["verification"] == "geometry":
            assert ev["inliers"] >= th.min_inliers
            assert len(ev["homography"]) == 3 and len(ev["asset_region"]) == 4
        else:
            assert ev["verification"] == "not needed: clear-cut hash match"
    assert not _false(cs, out)


# --- The scan -----------------------------------------------------------------------------------


def test_the_scan_finds_crops_with_their_evidence(tmp_path: Path) -> None:
    """A 40 % crop, an outpainting and a mirrored, rotated, labelled crop of the references,
    and a crop of another asset: found, with the verified evidence; a rescan reads nothing."""
    import photos as P

    root = make_workspace(tmp_path / "ws")
    astronaut, coffee = P.load_photo("astronaut"), P.load_photo("coffee")
    add_model(root, "ava", {"ava.jpg": astronaut})
    add_model(root, "ben", {"ben.jpg": coffee})
    rng = random.Random(5)
    a = root / "assets"
    save_jpeg(crops.crop_area(astronaut, rng, 0.4), a / "ava/crop40.jpg", 80)
    save_jpeg(crops.outpaint(astronaut, rng, 0.25), a / "ava/outpaint.jpg", 85)
    mixed = crops.label(P.rotate(P.mirror(crops.crop_area(coffee, rng, 0.5)), 3), rng)
    save_jpeg(mixed, a / "ava/wrong.jpg", 70)
    scene = P.load_photo("rocket")
    save_jpeg(scene, a / "ben/scene.jpg")
    save_jpeg(crops.crop_area(scene, rng, 0.45), a / "ben/scene-part.jpg", 75)
    cache = ResultCache(tmp_path / "cache.sqlite3")
    with ThreadPoolExecutor(2) as pool:
        service = ScanService(pool, cache)
        first = service.scan(Workspace.open(root))
        second = service.scan(Workspace.open(root))
    by_rel = {r.asset.rel: r for r in first.assets}

    def kinds(rel: str) -> set[str]:
        return {f.kind for f in by_rel[rel].findings}

    # The crop and the outpainting of one photo are also the same picture as each other.
    both = {"near_copy_of_reference", "duplicate_in_batch"}
    assert kinds("assets/ava/crop40.jpg") == both
    assert kinds("assets/ava/outpaint.jpg") == both
    assert kinds("assets/ava/wrong.jpg") == {"matches_other_model"}
    assert kinds("assets/ben/scene.jpg") == {"duplicate_in_batch"}
    assert kinds("assets/ben/scene-part.jpg") == {"duplicate_in_batch"}
    (crop,) = [
        f
        for f in by_rel["assets/ava/crop40.jpg"].findings
        if f.kind in both - {"duplicate_in_batch"}
    ]
    ev = crop.evidence
    assert ev["reference"] == "models/ava/references/ava.jpg"
    assert ev["verification"] == "geometry" and ev["candidate"] == "local features"
    assert ev["inliers"] >= ev["min_inliers"]
    region = np.array(ev["asset_region"])
    # A 40 % crop lies inside the reference and covers about 40 % of it.
    assert region.min() >= -0.02 and region.max() <= 1.02
    width, height = np.ptp(region[:, 0]), np.ptp(region[:, 1])
    assert 0.3 <= width * height <= 0.5
    (out,) = [
        f for f in by_rel["assets/ava/outpaint.jpg"].findings if f.kind != "duplicate_in_batch"
    ]
    outer = np.array(out.evidence["asset_region"])
    assert outer.min() < -0.1 and outer.max() > 1.1  # the asset reaches beyond the photo
    (wrong,) = by_rel["assets/ava/wrong.jpg"].findings
    assert wrong.evidence["model"] == "ben" and wrong.evidence["mirrored"] is True
    assert {r.asset.rel: {f.kind for f in r.findings} for r in second.assets} == {
        r.asset.rel: {f.kind for f in r.findings} for r in first.assets
    }
    assert second.stats["decoded"] == 0
    assert (first.stats["crop_candidates_cached"], second.stats["crop_candidates_cached"]) == (0, 1)


def test_a_rescan_looks_for_crops_around_the_new_files_only(tmp_path: Path) -> None:
    """The crop stage is cached per asset and per batch: a new crop of an asset is found as
    its duplicate, and only the new file is looked up (the others come from the cache)."""
    import photos as P

    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"ava.jpg": P.load_photo("astronaut")})
    rng = random.Random(7)
    scene, other = P.load_photo("rocket"), P.load_photo("coffee")
    a = root / "assets"
    save_jpeg(scene, a / "ava/scene.jpg")
    save_jpeg(other, a / "ava/other.jpg")
    save_jpeg(P.load_photo("chelsea"), a / "ava/cat.jpg")
    cache = ResultCache(tmp_path / "cache.sqlite3")
    with ThreadPoolExecutor(2) as pool:
        service = ScanService(pool, cache)
        first = service.scan(Workspace.open(root))
        save_jpeg(crops.crop_area(scene, rng, 0.45), a / "ava/scene-part.jpg", 75)
        second = service.scan(Workspace.open(root))
    assert first.stats["crop_lookups"] == 2 * 3  # each asset: references, then the batch
    assert second.stats["crop_lookups"] == 2  # the new file, against both
    kinds = {r.asset.rel: {f.kind for f in r.findings} for r in second.assets}
    assert kinds["assets/ava/scene-part.jpg"] == {"duplicate_in_batch"}
    assert kinds["assets/ava/scene.jpg"] == {"duplicate_in_batch"}
    assert kinds["assets/ava/other.jpg"] == kinds["assets/ava/cat.jpg"] == set()


@pytest.mark.corpus
def test_a_fine_image_keeps_a_crops_keypoints(portraits: dict[str, Image.Image]) -> None:
    """Why crops are verified against a fine image: from the working image, a 40 % crop keeps
    too few matching keypoints to place it; from the fine image it keeps plenty."""
    rng = random.Random(3)
    th = SimilarityThresholds()
    coarse_inliers, fine_inliers = [], []
    for name in PORTRAITS:
        crop = copies.as_file(crops.crop_area(portraits[name], rng, 0.4))
        query = geometry.Prepared(geometry.working_image(crop))
        for ref, store in (
            (geometry.Prepared(geometry.working_image(portraits[name])), coarse_inliers),
            (geometry.Prepared.fine(portraits[name]), fine_inliers),
        ):
            v = geometry.verify(query, ref, min_inliers=th.min_inliers, min_agreement=0.88)
            store.append(v.inliers)
    assert min(fine_inliers) >= 2 * th.min_inliers, fine_inliers
    assert sum(fine_inliers) > 2 * sum(coarse_inliers), (coarse_inliers, fine_inliers)
