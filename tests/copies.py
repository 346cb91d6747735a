"""Derived copies of real photos, and the copy detector run on them the way the scan runs it.

Two sets, each a list of reference photos and a list of queries (edited copies of the
references, and every reference unedited):

- :func:`face_set`: the real portraits of ``../shared/corpus/faces`` (7 people, 19 photos, one of
  them ``obama_5_letterboxed.jpg``, a derived copy of ``obama_1.jpg``). Each photo is edited the
  ways a "generated" image may really be a real photo (crop, mirror, re-encode, brightness,
  saturation, small rotation, letterbox, a corner label, combinations) and saved as JPEG.
  Different photos are never copies of each other, also when they show the same person in the
  same sitting (:data:`SAME_SITTING`).
- :func:`calibration_set`: scikit-image's bundled photos with the edits of
  tests/test_similarity_calibration.py (the set the hash thresholds were calibrated on).

:func:`run` decides every candidate pair as :class:`twinreview.services.scan.service.ScanService`
does: hash candidates (:func:`similarity.candidates`), geometric verification of each
(:func:`geometry.verify` on :func:`geometry.working_image` of each image) and
:func:`similarity.decide`. :func:`run_batch` does the same for duplicates within one batch.
Used by tests/test_similarity_corpus.py, tests/test_similarity_calibration.py and
tests/benchmarks/bench_geometry.py.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from PIL import Image

import photos as P
from twinreview.core.imageio import load_image
from twinreview.core.similarity import geometry, hashing
from twinreview.core.similarity import match as similarity

Edit = Callable[[Image.Image], Image.Image]
T = TypeVar("T")

FACE_EDITS: dict[str, Edit] = {
    "crop10_all": lambda im: P.crop(im, 0.1, 0.1, 0.1, 0.1),
    "crop_face_side": lambda im: P.crop(im, 0.08, 0.02, 0.0, 0.1),
    "mirror": P.mirror,
    "jpeg55": lambda im: P.jpeg(im, 55),
    "downscale_half": P.downscale,
    "brightness+20": lambda im: P.brightness(im, 1.2),
    "brightness-20": lambda im: P.brightness(im, 0.8),
    "saturation0": lambda im: P.saturation(im, 0.0),
    "rotate2": lambda im: P.rotate(im, 2),
    "rotate-2_cropped": lambda im: P.rotate(im, -2, fill_corners=False),
    "letterbox16:9": lambda im: P.letterbox(P.downscale(im)),
    "letterbox_square_white": lambda im: P.letterbox(im, 1.0, (255, 255, 255)),
    "label_br": lambda im: P.label(im, corner="br", width_fraction=0.18),
    "mirror+crop+jpeg60": lambda im: P.jpeg(P.crop(P.mirror(im), 0.05, 0.08, 0.1, 0.02), 60),
    "rotate-2+darker": lambda im: P.brightness(P.rotate(im, -2), 0.85),
    "crop+label+jpeg55": lambda im: P.jpeg(P.label(P.crop(im, 0.08, 0.1, 0.02, 0.05)), 55),
}
RANDOM_PER_FACE = 4
SEED = 11

SAME_SITTING: frozenset[frozenset[str]] = frozenset(
    {
        # Two frames of one sitting: the same pose and expression, framed differently (and the
        # letterboxed copy of one of them). Different photos: no finding may be raised.
        frozenset({"obama_1.jpg", "obama_4_small.jpg"}),
        frozenset({"obama_5_letterboxed.jpg", "obama_4_small.jpg"}),
        # The right half of the two-person picture is the same shot as the full-length one.
        frozenset({"group_obama_biden_1.jpg", "biden_1_fullbody.jpg"}),
    }
)
"""Pairs of different photos that share a large region pixel for pixel. Geometry calls them
copies, and the local features propose them: a crop of one is, pixel for pixel, a crop of the
other (the right half of the two-person picture *is* the full-length shot). Neither copies nor
different photos in the tests; kept apart in the margins."""


@dataclass(frozen=True)
class Query:
    """One image under review: which photo it comes from and how it was edited."""

    source: str
    edit: str
    image: Image.Image


@dataclass
class CopySet:
    """Reference photos and queries, with which pairs are copies."""

    refs: list[str]
    originals: dict[str, Image.Image]
    queries: list[Query]
    derived: dict[str, str] = field(default_factory=dict)
    same_sitting: frozenset[frozenset[str]] = frozenset()

    def photo(self, name: str) -> str:
        """The photo a file shows (a derived file shows its original)."""
        return self.derived.get(name, name)

    def is_copy(self, q: int, r: int) -> bool:
        """True when query ``q`` is (a derived copy of) reference ``r`` and not the file itself."""
        query = self.queries[q]
        same = self.photo(query.source) == self.photo(self.refs[r])
        return same and not (query.edit == "original" and query.source == self.refs[r])

    def is_itself(self, q: int, r: int) -> bool:
        """True when query ``q`` is the unedited file of reference ``r``."""
        return self.queries[q].edit == "original" and self.queries[q].source == self.refs[r]

    def is_different(self, q: int, r: int) -> bool:
        """True when the two are different photos (same person and sitting included)."""
        return self.photo(self.queries[q].source) != self.photo(self.refs[r])

    def sitting(self, q: int, r: int) -> bool:
        """True for different photos of :data:`SAME_SITTING`."""
        return frozenset({self.queries[q].source, self.refs[r]}) in self.same_sitting

    def shares_pixels(self, a: int, b: int) -> bool:
        """True when queries ``a`` and ``b`` show two photos of :data:`SAME_SITTING`."""
        pair = frozenset({self.photo(self.queries[a].source), self.photo(self.queries[b].source)})
        return (
            pair in self.same_sitting
            or frozenset({self.queries[a].source, self.queries[b].source}) in self.same_sitting
        )

    def same_picture(self, a: int, b: int) -> bool:
        """True when queries ``a`` and ``b`` show the same photo (for duplicates in a batch)."""
        return self.photo(self.queries[a].source) == self.photo(self.queries[b].source)


def as_file(img: Image.Image, quality: int = 92) -> Image.Image:
    """Save as JPEG and decode as the scan does (reduced decode, EXIF orientation)."""
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return load_image(buf.getvalue(), min_side=hashing.MIN_SIDE).image


def _random_face_edit(rng: random.Random) -> tuple[str, Edit]:
    steps: list[tuple[str, Edit]] = []
    if rng.random() < 0.7:
        sides = [round(rng.uniform(0, 0.1), 3) for _ in range(4)]
        steps.append((f"crop{sides}", lambda im, s=sides: P.crop(im, *s)))
    if rng.random() < 0.3:
        deg, fill = rng.choice([-2, 2]), rng.random() < 0.5
        steps.append((f"rotate{deg}", lambda im, d=deg, f=fill: P.rotate(im, d, f)))
    if rng.random() < 0.4:
        steps.append(("mirror", P.mirror))
    if rng.random() < 0.5:
        b = round(rng.uniform(0.8, 1.2), 2)
        steps.append((f"brightness{b}", lambda im, b=b: P.brightness(im, b)))
    if rng.random() < 0.3:
        c = round(rng.uniform(0, 1.6), 2)
        steps.append((f"saturation{c}", lambda im, c=c: P.saturation(im, c)))
    if rng.random() < 0.3:
        steps.append(("downscale", P.downscale))
    if rng.random() < 0.2:
        steps.append(("letterbox", P.letterbox))
    if rng.random() < 0.3:
        corner = rng.choice(["tl", "tr", "bl", "br"])
        steps.append((f"label_{corner}", lambda im, c=corner: P.label(im, corner=c)))
    q = rng.randint(55, 95)

    def apply(im: Image.Image) -> Image.Image:
        for _, step in steps:
            im = step(im)
        return P.jpeg(im, q)

    return "+".join([n for n, _ in steps] + [f"jpeg{q}"]), apply


def face_set(corpus: Path, random_per_photo: int = RANDOM_PER_FACE) -> CopySet:
    """The face corpus: every photo a reference; its edits, and every photo, queries."""
    folder = corpus / "faces"
    rows = list(
        csv.DictReader(io.StringIO((folder / "MANIFEST.tsv").read_text("utf-8")), delimiter="\t")
    )
    names = sorted(row["file"] for row in rows)
    derived = {row["file"]: row["derived_from"] for row in rows if row["derived_from"]}
    originals = {
        n: load_image((folder / n).read_bytes(), min_side=hashing.MIN_SIDE).image for n in names
    }
    rng = random.Random(SEED)
    queries = []
    for n in names:
        if n in derived:
            continue  # a copy already: its own copies would be copies of copies
        edits = list(FACE_EDITS.items()) + [_random_face_edit(rng) for _ in range(random_per_photo)]
        queries += [Query(n, e, as_file(edit(originals[n]))) for e, edit in edits]
    queries += [Query(n, "original", originals[n]) for n in names]
    return CopySet(names, originals, queries, derived, SAME_SITTING)


def calibration_set() -> CopySet:
    """scikit-image's photos and the edits of the hash calibration (same seed, same images)."""
    import test_similarity_calibration as C

    names = list(P.PHOTO_NAMES + P.SYNTHETIC_NAMES)
    originals = {n: P.load_photo(n) for n in names}
    rng = random.Random(C.SEED)
    queries = []
    for n in P.PHOTO_NAMES:
        edits = list(C.SINGLE_EDITS.items()) + [
            C.random_edit(rng) for _ in range(C.RANDOM_PER_PHOTO)
        ]
        queries += [Query(n, e, edit(originals[n])) for e, edit in edits]
    queries += [Query(n, "original", originals[n]) for n in names]
    same = frozenset(frozenset(p) for p in P.SAME_SCENE)
    return CopySet(names, originals, queries, {}, same)


@dataclass
class Outcome:
    """What the copy detector decided for one set."""

    candidates: list[similarity.Candidate]
    verifications: dict[tuple[int, int], geometry.Verification]
    matches: dict[tuple[int, int], similarity.Match]


def _clear_cut(c: similarity.Candidate, th: similarity.SimilarityThresholds) -> similarity.Match:
    match = similarity.decide(c, None, th)
    assert match is not None
    return match


_BY_IMAGE: dict[tuple[str, int], tuple[Image.Image, object]] = {}


def _once(kind: str, im: Image.Image, compute: Callable[[Image.Image], T]) -> T:
    """``compute(im)``, once per image object and kind until :func:`forget`.

    The images of a set are never changed once made (every edit returns a new image), and what
    is computed from them is pure; a set run several ways (copies, a batch, a subset, at two
    thresholds) computes each image's hashes and features once. Keyed by the image object
    itself (held in the memo, so its id stays its own).
    """
    key = (kind, id(im))
    hit = _BY_IMAGE.get(key)
    if hit is None:
        hit = _BY_IMAGE[key] = (im, compute(im))
    return hit[1]  # type: ignore[return-value]


def forget() -> None:
    """Drop what :func:`_once` and :func:`verify` keep (the end of a test module)."""
    _BY_IMAGE.clear()
    _VERIFIED.clear()


def working_of(im: Image.Image) -> geometry.Prepared:
    """The working image and features of ``im``, as the scan computes them."""
    return _once("working", im, lambda i: geometry.Prepared(geometry.working_image(i)))


def fine_of(im: Image.Image) -> geometry.Prepared:
    """The fine image of ``im``, as the scan computes it for a crop's other side."""
    return _once("fine", im, geometry.Prepared.fine)


def hashes_of(im: Image.Image) -> hashing.Fingerprint:
    """The hashes of ``im``, as the scan computes them."""
    return _once("hashes", im, hashing.fingerprint)


def prepare_all(images: Sequence[Image.Image]) -> list[geometry.Prepared]:
    """Working images and features, as the scan computes them."""
    return [working_of(im) for im in images]


Fingerprints = tuple[list[hashing.Fingerprint], list[hashing.Fingerprint]]


def fingerprints(copyset: CopySet) -> Fingerprints:
    """The hashes of the queries and of the references (the same whatever the thresholds)."""
    return (
        [hashes_of(q.image) for q in copyset.queries],
        [hashes_of(copyset.originals[n]) for n in copyset.refs],
    )


def prepare_fine(images: Sequence[Image.Image]) -> list[geometry.Prepared]:
    """Fine images, as the scan computes them for reference photos (the side of a crop)."""
    return [fine_of(im) for im in images]


def run(
    copyset: CopySet,
    th: similarity.SimilarityThresholds | None = None,
    prepared: tuple[list[geometry.Prepared], list[geometry.Prepared]] | None = None,
    hashed: Fingerprints | None = None,
    fine: list[geometry.Prepared] | None = None,
) -> Outcome:
    """Queries against references: candidates (hashes, then local features), verification,
    decision, as the scan does it.

    ``prepared`` (features), ``hashed`` (:func:`fingerprints`) and ``fine`` (the references' fine
    images) are computed when not given.
    """
    th = th or similarity.SimilarityThresholds()
    q_fps, r_fps = hashed or fingerprints(copyset)
    cands = similarity.candidates(q_fps, r_fps, th)
    qp, rp = prepared or (
        prepare_all([q.image for q in copyset.queries]),
        prepare_all([copyset.originals[n] for n in copyset.refs]),
    )
    rf = fine or prepare_fine([copyset.originals[n] for n in copyset.refs])
    out = _decide_all(cands, qp, rp, th)
    crops = similarity.crop_candidates(
        q_fps,
        r_fps,
        [_kp(p.features) for p in qp],
        [(_kp(p.features), _kp(p.oriented(True))) for p in rf],
        skip=set(out.matches),
    )
    more = _decide_all(crops, qp, rf, th)
    # A crop candidate the working image cannot confirm is verified again from a fine image of
    # the query too (a plain or soft picture has few keypoints at working size).
    retry = [
        c
        for c in crops
        if (c.query, c.ref) not in more.matches
        and similarity.worth_a_fine_look(more.verifications.get((c.query, c.ref)))
    ]
    if retry:
        qf = {c.query: fine_of(copyset.queries[c.query].image) for c in retry}
        again = _decide_all(retry, [qf.get(i, p) for i, p in enumerate(qp)], rf, th)
        more.verifications.update(again.verifications)
        more.matches.update(again.matches)
    out.candidates += crops
    out.verifications.update(more.verifications)
    out.matches.update(more.matches)
    return out


def run_batch(
    copyset: CopySet,
    th: similarity.SimilarityThresholds | None = None,
    prepared: list[geometry.Prepared] | None = None,
    hashed: list[hashing.Fingerprint] | None = None,
) -> Outcome:
    """All queries as one batch: the pairs ``duplicate_in_batch`` would report (hash
    candidates, and crops of each other verified both ways against a fine image).

    ``prepared`` and ``hashed`` are the queries' features and fingerprints, when computed already.
    """
    th = th or similarity.SimilarityThresholds()
    fps = hashed or [hashes_of(q.image) for q in copyset.queries]
    cands = similarity.self_candidates(fps, th)
    prep = prepared or prepare_all([q.image for q in copyset.queries])
    out = _decide_all(cands, prep, prep, th)
    seen = {(min(a, b), max(a, b)) for a, b in out.matches}
    crops = similarity.self_crop_candidates(fps, [_kp(p.features) for p in prep], skip=seen)
    for c in crops:
        out.candidates.append(c)
        for a, b in ((c.query, c.ref), (c.ref, c.query)):
            cand = c if a == c.query else similarity.reverse(c, fps)
            v = verify(
                prep[a],
                fine_of(copyset.queries[b].image),
                prefer_mirrored=cand.mirrored,
                min_inliers=th.min_inliers,
                min_agreement=th.min_agreement / 100,
            )
            out.verifications[(a, b)] = v
            m = similarity.decide(cand, v, th)
            if m is not None:
                out.matches[(c.query, c.ref)] = m
                break
    return out


_VERIFIED: dict[
    tuple[int, int, bool, int, float],
    tuple[geometry.Prepared, geometry.Prepared, geometry.Verification],
] = {}


def verify(
    query: geometry.Prepared,
    ref: geometry.Prepared,
    *,
    prefer_mirrored: bool,
    min_inliers: int,
    min_agreement: float,
) -> geometry.Verification:
    """:func:`geometry.verify`, once per pair of prepared images and settings in a test process.

    Verification is pure (OpenCV's RANSAC has a fixed seed): the same inputs give the same
    outcome, so a set run at two thresholds verifies the pairs both runs share once. Keyed by
    the prepared objects themselves (held in the memo, so their ids stay theirs).
    """
    key = (id(query), id(ref), prefer_mirrored, min_inliers, min_agreement)
    hit = _VERIFIED.get(key)
    if hit is None:
        v = geometry.verify(
            query,
            ref,
            prefer_mirrored=prefer_mirrored,
            min_inliers=min_inliers,
            min_agreement=min_agreement,
        )
        hit = _VERIFIED[key] = (query, ref, v)
    return hit[2]


def _kp(features: geometry.Features) -> similarity.Keypoints:
    return features.descriptors, features.points


def _decide_all(
    cands: list[similarity.Candidate],
    queries: list[geometry.Prepared],
    refs: list[geometry.Prepared],
    th: similarity.SimilarityThresholds,
) -> Outcome:
    """Each candidate decided as the scan decides it: clear-cut by its hashes, else verified."""
    out = Outcome(list(cands), {}, {})
    for c in cands:
        if c.clear_cut(th):  # the hashes decide; verification would only add evidence
            out.matches[(c.query, c.ref)] = _clear_cut(c, th)
            continue
        v = verify(
            queries[c.query],
            refs[c.ref],
            prefer_mirrored=c.mirrored,
            min_inliers=th.min_inliers,
            min_agreement=th.min_agreement / 100,
        )
        out.verifications[(c.query, c.ref)] = v
        m = similarity.decide(c, v, th)
        if m is not None:
            out.matches[(c.query, c.ref)] = m
    return out
