"""Calibration of the similarity engine on scikit-image's bundled photos.

Positives: every real photo in :data:`photos.PHOTO_NAMES` (21, documents, textures and
micrographs included) under each single edit (crops up to 10 % per side, 1/2
downscale, JPEG q55, brightness +-20 %, saturation 0 and 1.6, mirror, corner label of
15-20 % width, 2° rotation with black or cropped corners), three fixed combinations
(crop+label+jpeg55, mirror+brightness+downscale, rotate2+crop) and RANDOM_PER_PHOTO random
combinations (fixed seed). Negatives: every pair of distinct images (the 4 synthetic images
included), and every edited copy against every other image. motorcycle_left/right are one
stereo pair of the same scene and are neither positives nor negatives for each other (a
second exposure from 5 cm away is not a derived copy, yet a match there is not wrong).

Measured (algorithm version 2, default thresholds, bucket-join candidate stage), 567
positives, 14,152 negative pairs: recall 0.972 (551 found; 0.963 with the dense candidate
stage before it), 0 false positives. Worst negatives:
best-aligned pHash 12 bits (threshold for pHash alone: 8, margin 4) and, among negatives
within 14 pHash bits, dHash >= 20 bits (threshold 16, margin 4); these margins are taken
over all pairs, whatever the candidate stage passes. Misses: brick (5: a texture, whose
hashes are unstable under crop and rotation), the 102 px microaneurysms image (5), rocket
(4) and page, mostly under a corner label, where the label covers a large part of the frame.

Runs in ~15 s on an idle 2-core machine, ~60 s under load (fingerprints of ~600 edited
images). The exact figures of a run are printed (pytest -s).

The scan no longer decides by the hashes alone: every candidate pair is verified
geometrically (core/similarity/geometry.py; tests/copies.py runs it the way the scan does).
:func:`test_geometric_verification_keeps_the_recall` measures that pipeline on the same set:
recall 0.991 (562 of 567, the crop stage's local features included), 0 false positives;
pictures with too few keypoints to verify (microaneurysms, 102 px) are left
to the hashes.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

import copies
import photos as P
from twinreview.core.similarity import hashing
from twinreview.core.similarity import join as hashjoin
from twinreview.core.similarity import match as similarity

RANDOM_PER_PHOTO = 10
SEED = 7

Edit = Callable[[Image.Image], Image.Image]

SINGLE_EDITS: dict[str, Edit] = {
    "crop10_all": lambda im: P.crop(im, 0.1, 0.1, 0.1, 0.1),
    "crop10_left_bottom": lambda im: P.crop(im, 0.1, 0, 0, 0.1),
    "crop10_top_right": lambda im: P.crop(im, 0, 0.1, 0.1, 0),
    "downscale_half": P.downscale,
    "jpeg55": lambda im: P.jpeg(im, 55),
    "brightness+20": lambda im: P.brightness(im, 1.2),
    "brightness-20": lambda im: P.brightness(im, 0.8),
    "saturation0": lambda im: P.saturation(im, 0.0),
    "saturation1.6": lambda im: P.saturation(im, 1.6),
    "mirror": P.mirror,
    "label_br": lambda im: P.label(im, corner="br", width_fraction=0.18),
    "label_tl": lambda im: P.label(im, corner="tl", width_fraction=0.2),
    "rotate2": lambda im: P.rotate(im, 2),
    "rotate-2_cropped": lambda im: P.rotate(im, -2, fill_corners=False),
    "crop+label+jpeg55": lambda im: P.jpeg(P.label(P.crop(im, 0.08, 0.1, 0.02, 0.05)), 55),
    "mirror+brightness+downscale": lambda im: P.downscale(P.brightness(P.mirror(im), 1.2)),
    "rotate2+crop": lambda im: P.crop(P.rotate(im, 2), 0.1, 0.1, 0, 0.05),
}


def random_edit(rng: random.Random) -> tuple[str, Edit]:
    """A random combination of the edits, each with random strength, in a fixed order."""
    steps: list[tuple[str, Edit]] = []
    if rng.random() < 0.6:
        sides = [round(rng.uniform(0, 0.1), 3) for _ in range(4)]
        steps.append((f"crop{sides}", lambda im, s=sides: P.crop(im, *s)))
    if rng.random() < 0.3:
        deg, fill = rng.choice([-2, 2]), rng.random() < 0.5
        steps.append((f"rotate{deg}", lambda im, d=deg, f=fill: P.rotate(im, d, f)))
    if rng.random() < 0.3:
        steps.append(("mirror", P.mirror))
    if rng.random() < 0.5:
        b = round(rng.uniform(0.8, 1.2), 2)
        steps.append((f"brightness{b}", lambda im, b=b: P.brightness(im, b)))
    if rng.random() < 0.4:
        c = round(rng.uniform(0, 1.6), 2)
        steps.append((f"saturation{c}", lambda im, c=c: P.saturation(im, c)))
    if rng.random() < 0.3:
        steps.append(("downscale", P.downscale))
    if rng.random() < 0.4:
        corner, w = rng.choice(["tl", "tr", "bl", "br"]), round(rng.uniform(0.15, 0.2), 2)
        steps.append(
            (
                f"label_{corner}{w}",
                lambda im, c=corner, w=w: P.label(im, corner=c, width_fraction=w),
            )
        )
    if rng.random() < 0.5:
        q = rng.randint(55, 95)
        steps.append((f"jpeg{q}", lambda im, q=q: P.jpeg(im, q)))

    def apply(im: Image.Image) -> Image.Image:
        for _, step in steps:
            im = step(im)
        return im

    return "+".join(name for name, _ in steps) or "identity", apply


def _stack(fingerprints: list[hashing.Fingerprint], name: str) -> np.ndarray:
    """One array field of every fingerprint, as rows."""
    return np.stack([getattr(fp, name) for fp in fingerprints])


class Calibration:
    """Everything the calibration measures, computed once per test module."""

    def __init__(self) -> None:
        # The edited photos (queries), then every image unedited: negatives against the others.
        self.copyset = copies.calibration_set()
        cs = self.copyset
        self.ref_names = cs.refs
        self.query_names = [q.source for q in cs.queries]
        self.edit_names = [q.edit for q in cs.queries]
        self.n_positive_queries = sum(q.edit != "original" for q in cs.queries)
        assert all(q.edit == "original" for q in cs.queries[self.n_positive_queries :])
        self.queries, self.refs = copies.fingerprints(cs)
        self.thresholds = similarity.SimilarityThresholds()
        self.matches = similarity.match(self.queries, self.refs, self.thresholds).matches
        self.matched = {(m.query, m.ref) for m in self.matches}

    def is_positive(self, q: int, r: int) -> bool:
        return q < self.n_positive_queries and self.query_names[q] == self.ref_names[r]

    def is_negative(self, q: int, r: int) -> bool:
        return not P.related(self.query_names[q], self.ref_names[r])


@pytest.fixture(scope="module")
def calibration() -> Calibration:
    return Calibration()


@pytest.mark.slow
def test_recall_and_zero_false_positives(calibration: Calibration) -> None:
    cal = calibration
    positives = [
        (q, cal.ref_names.index(cal.query_names[q])) for q in range(cal.n_positive_queries)
    ]
    found = [pair in cal.matched for pair in positives]
    recall = sum(found) / len(found)
    false_positives = sorted(
        (cal.query_names[q], cal.edit_names[q], cal.ref_names[r])
        for q, r in cal.matched
        if cal.is_negative(q, r)
    )
    n_negative = sum(
        cal.is_negative(q, r) for q in range(len(cal.queries)) for r in range(len(cal.refs))
    )
    missed = [
        (cal.query_names[q], cal.edit_names[q])
        for (q, _), ok in zip(positives, found, strict=True)
        if not ok
    ]
    print(
        f"\nsimilarity calibration: {len(positives)} positives, {n_negative} negative pairs, "
        f"recall {recall:.4f}, false positives {len(false_positives)}"
    )
    for name, edit in missed:
        print(f"  missed: {name} {edit}")
    assert not false_positives, f"false positives: {false_positives}"
    assert recall >= 0.95, f"recall {recall:.3f} < 0.95; missed: {missed}"


@pytest.mark.slow
def test_every_single_edit_is_found_on_most_photos(calibration: Calibration) -> None:
    """No single edit may be systematically missed."""
    cal = calibration
    for edit_name in SINGLE_EDITS:
        qs = [q for q in range(cal.n_positive_queries) if cal.edit_names[q] == edit_name]
        hits = sum((q, cal.ref_names.index(cal.query_names[q])) in cal.matched for q in qs)
        assert hits / len(qs) >= 0.85, f"{edit_name}: found on {hits} of {len(qs)} photos"


@pytest.mark.slow
def test_margins_to_the_closest_negatives(calibration: Calibration) -> None:
    """Record how far the closest unrelated pairs stay from the match thresholds."""
    cal = calibration
    th = cal.thresholds
    pairs = [
        (q, r)
        for q in range(len(cal.queries))
        for r in range(len(cal.refs))
        if cal.is_negative(q, r)
    ]
    q_idx = np.array([q for q, _ in pairs], dtype=np.intp)
    r_idx = np.array([r for _, r in pairs], dtype=np.intp)
    aligned = hashjoin.align(
        q_idx,
        r_idx,
        _stack(cal.queries, "probes"),
        _stack(cal.queries, "probe_dhashes"),
        _stack(cal.refs, "grid"),
        _stack(cal.refs, "grid_dhash"),
    )
    worst_phash = int(aligned.phash.min())
    close = aligned.phash <= th.match
    worst_dhash = int(aligned.dhash[close].min()) if close.any() else 64
    print(
        f"\nclosest negative: pHash {worst_phash} bits (strong threshold {th.strong}); "
        f"within {th.match} pHash bits, closest dHash {worst_dhash} (threshold {th.match_dhash})"
    )
    assert worst_phash > th.strong + 2
    assert worst_dhash > th.match_dhash + 2


@pytest.mark.slow
def test_stereo_pair_is_reported_as_related(calibration: Calibration) -> None:
    """The two frames of the stereo pair are close: the engine calls them copies. Documented."""
    cal = calibration
    left = cal.query_names.index("motorcycle_left", cal.n_positive_queries)
    right = cal.ref_names.index("motorcycle_right")
    print(f"\nmotorcycle_left vs motorcycle_right matched: {(left, right) in cal.matched}")
    assert P.related("motorcycle_left", "motorcycle_right")


@pytest.mark.slow
def test_geometric_verification_keeps_the_recall(calibration: Calibration) -> None:
    """Hash candidates confirmed geometrically, as the scan decides: the recall is kept."""
    cs = calibration.copyset
    out = copies.run(cs, hashed=(calibration.queries, calibration.refs))
    positives = [
        (q, r) for q in range(len(cs.queries)) for r in range(len(cs.refs)) if cs.is_copy(q, r)
    ]
    found = sum(p in out.matches for p in positives)
    recall = found / len(positives)
    false_positives = sorted(
        (cs.queries[q].source, cs.queries[q].edit, cs.refs[r])
        for q, r in out.matches
        if cs.is_different(q, r) and not cs.sitting(q, r)
    )
    how = Counter(m.evidence.verification for m in out.matches.values())
    print(
        f"\ngeometric verification: {len(positives)} positives, {found} found (recall "
        f"{recall:.4f}), false positives {len(false_positives)}; decisions: {dict(how)}"
    )
    assert not false_positives, false_positives
    assert recall >= 0.97
