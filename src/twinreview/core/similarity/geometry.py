"""Geometric verification of derived-copy candidates: ORB keypoints, RANSAC, pixel agreement.

Perceptual hashes compare low frequencies, and centred portraits on similar backdrops share
their low frequencies: a hash match alone raises false blocks on portraits. A derived copy
(crop, re-encode, retouch, small rotation, letterbox, mirror) keeps the *same pixels* in the
same arrangement, so its local features map onto the original's through one transform; another
photo of the same person, even on the same backdrop, has no such transform for more than a
handful of features. Two measurements decide a pair (:func:`verify`):

1. **Inliers.** ORB keypoints of both working images, matched by Hamming distance (Lowe's
   ratio test, then one query feature per reference feature), and a RANSAC fit of an affine
   transform (crop, scale, rotation, aspect change; the mirror image is tried through the
   features of the mirrored query). The count of matches that agree with the transform is the
   evidence. An affine model, not a full 8-parameter homography: the features of a portrait
   cluster on the face and hair, and a projective fit to a cluster extrapolates wildly to the
   frame's edges; no derived-copy edit needs perspective. It is reported as a 3 x 3 homography
   (last row 0 0 1).
2. **Agreement.** The query warped onto the reference by that transform, compared by local
   normalised cross-correlation of image detail (a band-pass at :data:`AGREEMENT_SIDE` px): the
   fraction of the textured overlap where both show the same detail. Two different people
   photographed on one textured backdrop by a locked-off camera share hundreds of background
   inliers; agreement sees that the person differs. A copy agrees nearly everywhere (a corner
   label, a retouched face or heavy JPEG cost a few percent).

API (what :mod:`twinreview.core.similarity.match` and the scan call)::

    from twinreview.core.similarity import geometry

    grey = geometry.working_image(img)           # once per image: grey, longest side WORK_SIDE
    prep = geometry.Prepared(grey)               # ORB features etc., once per image
    v = geometry.verify(query_prep, ref_prep, prefer_mirrored=False, min_inliers=20,
                        min_agreement=0.88)
    v.inliers, v.agreement, v.homography, v.asset_region()

Coordinates are *fractions* of the (EXIF-oriented) image, x to the right and y down, so that
results do not depend on the working size. :attr:`Verification.homography` maps the query's
fractions to the reference's, the flip included for a mirror copy (its linear part then has a
negative determinant); :meth:`Verification.asset_region` is where the query's frame lands in
the reference.

Margins (tests/benchmarks/bench_geometry.py records them in tests/benchmarks/RESULTS.md): on
the portraits of the face corpus every derived copy keeps at least 33 inliers and different
photos at most 9 (``min_inliers`` 20); copies agree at least 0.93, another subject before the
same textured backdrop (36 % of the frame) at most 0.84 (``min_agreement`` 0.88). Limit: a
different subject covering less than about a fifth of a textured frame shot by a fixed camera
is not told from a retouch (agreement about 0.9), and two frames of one sitting that share the
subject's pixels pass both tests (the hashes do not pair them when framed differently).

Pure: numpy, OpenCV (``cv2``) and Pillow; no Qt, no files. OpenCV's RANSAC uses a fixed seed,
so a pair always gives the same figures. Tests: tests/test_geometry.py,
tests/test_similarity_corpus.py.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from twinreview.core.similarity import hashing

# The scan runs verification on its own worker threads (one per core): OpenCV's own thread pool
# would only oversubscribe the cores. Process-wide, like OPENBLAS_NUM_THREADS in the CLI.
cv2.setNumThreads(1)

VERSION = 1
"""Bump whenever features, matching or agreement change: cached verdicts are keyed on it."""

WORK_SIDE = 384
"""Longest side (px) of the grey working image. 384 keeps every copy of the calibration sets
far above the inlier threshold at half the cost of 512."""

N_FEATURES = 400
"""At most this many ORB keypoints per image (the strongest)."""

FINE_SIDE = 640
FINE_FEATURES = 1000
"""The working side and keypoints of a *fine* image (:meth:`Prepared.fine`): the side a crop is
compared against. A crop down to 40 % of the area keeps about 40 % of the original's keypoints;
the fine image has about as many keypoints per area of the crop as the crop has of itself, so a
crop verifies as surely as a whole-frame copy (tests/test_crops.py)."""

N_LEVELS = 8
"""ORB pyramid levels (scale factor 1.2): scale changes up to 3.6x, e.g. a letterboxed copy."""

FAST_THRESHOLD = 20
FAST_THRESHOLD_LOW = 5
"""OpenCV's FAST threshold, and the one retried with when it finds fewer than half of
N_FEATURES keypoints (soft, low-contrast pictures)."""

MIN_KEYPOINTS = 100
"""Verification needs this many keypoints in both images; with fewer (a tiny thumbnail, a flat
graphic) it is not possible and :attr:`Verification.possible` is False."""

RATIO = 0.8
"""Lowe's ratio test: a match counts when its Hamming distance is below this fraction of the
second-best match's."""

REPROJECTION = 4.5 / 384
"""RANSAC inlier tolerance as a fraction of the working image's longest side (4.5 px)."""

MAX_SCALE = 6.0
"""A transform that scales area by more than MAX_SCALE² (or less than its inverse) is
degenerate for a derived copy at working size: it counts as no transform."""

AGREEMENT_SIDE = 192
"""Longest side (px) at which agreement is measured."""

AGREEMENT_SIGMA = 3.0
"""Detail = image minus its Gaussian blur of this sigma (px at AGREEMENT_SIDE)."""

AGREEMENT_WINDOW = 15
"""Side (px) of the window of the local normalised cross-correlation."""

AGREEMENT_NCC = 0.3
"""A pixel agrees when the local correlation of both images' detail reaches this."""

AGREEMENT_FLAT = 4.0
"""Pixels whose local detail has a standard deviation below this (grey levels) in either
image are flat (a plain backdrop, sky, skin): they carry no evidence and are not counted."""

GreyArray = npt.NDArray[np.uint8]
F32Array = npt.NDArray[np.float32]
F64Array = npt.NDArray[np.float64]


def working_image(img: Image.Image, side: int = WORK_SIDE) -> GreyArray:
    """Return the grey working image of ``img``: its longest side scaled to ``side``.

    Args:
        img: A decoded, EXIF-oriented Pillow image of any mode and size (an ``L`` image is
            used as it is).
        side: :data:`WORK_SIDE`, or :data:`FINE_SIDE` for a fine image.
    """
    grey = img if img.mode == "L" else img.convert("L")
    w, h = grey.size
    scale = side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return np.asarray(grey, dtype=np.uint8)
    if scale <= 0.5:
        # An exact box reduction by an integer factor first (fast), so that the bilinear
        # step below never skips pixels.
        grey = grey.reduce(int(1 / scale))
    out = cv2.resize(np.asarray(grey, dtype=np.uint8), size, interpolation=cv2.INTER_LINEAR)
    return np.asarray(out, dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class Features:
    """ORB features of one working image (or of its mirror image).

    Attributes:
        points: (n, 2) float32 keypoint positions in fractions of the image *as it is*, also
            for a mirrored image (see the module docstring).
        descriptors: (n, 32) uint8 ORB descriptors (of the mirror image when ``mirrored``).
        width: Width of the working image (px).
        height: Its height (px).
        mirrored: True when the descriptors describe the left-right mirror image.
    """

    points: F32Array
    descriptors: npt.NDArray[np.uint8]
    width: int
    height: int
    mirrored: bool = False

    def __len__(self) -> int:
        return len(self.points)


def features(grey: GreyArray, *, mirrored: bool = False, n_features: int = N_FEATURES) -> Features:
    """Compute ORB features of a working image (see :func:`working_image`).

    Args:
        grey: 2-D uint8 array.
        mirrored: Describe the left-right mirror image instead (points stay in the
            coordinates of the image as it is).
        n_features: At most this many keypoints (the strongest).

    Raises:
        ValueError: when ``grey`` is not a non-empty 2-D array.
    """
    grey = np.ascontiguousarray(grey, dtype=np.uint8)
    if grey.ndim != 2 or grey.size == 0:
        raise ValueError(f"a working image is a non-empty 2-D array, not shape {grey.shape}")
    h, w = grey.shape
    src = np.ascontiguousarray(grey[:, ::-1]) if mirrored else grey
    orb = cv2.ORB.create(nfeatures=n_features, fastThreshold=FAST_THRESHOLD, nlevels=N_LEVELS)
    keypoints, desc = orb.detectAndCompute(src, None)
    if len(keypoints) < n_features // 2:
        orb = cv2.ORB.create(
            nfeatures=n_features, fastThreshold=FAST_THRESHOLD_LOW, nlevels=N_LEVELS
        )
        keypoints, desc = orb.detectAndCompute(src, None)
    if desc is None or not keypoints:
        return Features(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), w, h, mirrored)
    xy = np.array([kp.pt for kp in keypoints], dtype=np.float64).reshape(-1, 2)
    if mirrored:
        xy[:, 0] = (w - 1) - xy[:, 0]
    # Pixel centres to fractions: pixel x covers [x - 0.5, x + 0.5], i.e. (x + 0.5) / w.
    pts = ((xy + 0.5) / np.array([w, h], dtype=np.float64)).astype(np.float32)
    return Features(pts, np.ascontiguousarray(desc, dtype=np.uint8), w, h, mirrored)


def _small(grey: GreyArray) -> F32Array:
    h, w = grey.shape
    s = AGREEMENT_SIDE / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    out: F32Array = cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    return out


class Prepared:
    """What verification needs of one image, computed once and shared by all its pairs.

    The features of the mirror image are computed on first use only (most pairs are decided
    in the orientation the hashes suggest). Safe to share between threads: two threads may
    both compute the mirrored features once, with the same result.
    """

    def __init__(
        self, grey: GreyArray, *, n_features: int = N_FEATURES, known: Features | None = None
    ) -> None:
        """Compute the features of ``grey`` (a :func:`working_image`).

        Args:
            grey: The working image.
            n_features: At most this many keypoints.
            known: Its features as is, when the caller computed them already.
        """
        self.grey = grey
        self.n_features = n_features
        self.features = known if known is not None else features(grey, n_features=n_features)
        self._mirrored: Features | None = None

    # What the agreement measure needs (three float images, about 350 KB at working size) is
    # computed when a pair first gets that far: most candidate pairs never do (too few
    # inliers), and a large batch keeps many prepared images at once. Two threads may both
    # compute one of them once, with the same result.

    @functools.cached_property
    def small(self) -> F32Array:
        """The image at :data:`AGREEMENT_SIDE`, float."""
        return _small(self.grey)

    @functools.cached_property
    def detail(self) -> F32Array:
        """Its detail (the image less its blur)."""
        return _detail(self.small)

    @functools.cached_property
    def usable(self) -> F32Array:
        """1 where a comparison window lies clear of letterbox bars."""
        return _usable(self.grey, self.small)

    def shed(self) -> None:
        """Let go of what the agreement measure computed; its next use computes it again.

        For an image kept while it waits for a later pair: it then holds its working image
        and features only. Not while another thread may be verifying a pair of it.
        """
        for name in ("small", "detail", "usable"):
            self.__dict__.pop(name, None)

    @classmethod
    def fine(cls, img: Image.Image) -> Prepared:
        """A fine image: :data:`FINE_SIDE` px and :data:`FINE_FEATURES` keypoints.

        The side a crop is verified against (the larger picture of a pair).
        """
        return cls(working_image(img, FINE_SIDE), n_features=FINE_FEATURES)

    @property
    def keypoints(self) -> int:
        """Number of keypoints found (as is)."""
        return len(self.features)

    def oriented(self, mirrored: bool) -> Features:
        """The features as is, or of the mirror image."""
        if not mirrored:
            return self.features
        if self._mirrored is None:
            self._mirrored = features(self.grey, mirrored=True, n_features=self.n_features)
        return self._mirrored


Rows = tuple[tuple[float, float, float], ...]


@dataclass(frozen=True)
class Verification:
    """The outcome of verifying one (query, reference) pair.

    Attributes:
        inliers: Matches consistent with the best transform (0 when none was found).
        matches: Tentative matches (ratio test, one per reference feature).
        mirrored: True when the best orientation was the query's mirror image.
        homography: 3 x 3 rows mapping the query's fractions to the reference's, or None.
        agreement: Fraction (0-1) of the textured overlap where the two agree, or None when
            it was not measured (too few inliers to place the query).
        keypoints: Keypoints found in the query and in the reference.
    """

    inliers: int
    matches: int
    mirrored: bool
    homography: Rows | None = None
    agreement: float | None = None
    keypoints: tuple[int, int] = (0, 0)

    def confirms(self, min_inliers: int, min_agreement: float) -> bool:
        """True when this is a derived copy (the one rule).

        A transform with at least ``min_inliers`` inliers, under which at least
        ``min_agreement`` (0-1) of the overlap agrees.
        """
        return (
            self.homography is not None
            and self.inliers >= min_inliers
            and self.agreement is not None
            and self.agreement >= min_agreement
        )

    @property
    def possible(self) -> bool:
        """True when both images had enough keypoints (:data:`MIN_KEYPOINTS`) to verify."""
        return min(self.keypoints) >= MIN_KEYPOINTS

    def asset_region(self) -> list[list[float]] | None:
        """Where the query's frame lands in the reference, in fractions of the reference.

        The query's corners top-left, top-right, bottom-right, bottom-left (of the query as it
        is: for a mirror copy its top-left corner lands at the right), rounded to 4 decimals;
        None without a homography. Values outside 0-1 lie beyond the reference's frame (a
        letterboxed copy's bars).
        """
        if self.homography is None:
            return None
        corners = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
        mapped = corners @ np.array(self.homography, dtype=np.float64).T
        w = mapped[:, 2:3]
        if np.any(np.abs(w) < 1e-9):
            return None
        xy = mapped[:, :2] / w
        return [[round(float(x), 4), round(float(y), 4)] for x, y in xy]

    def inverse(self) -> Verification:
        """The same verification seen from the reference's side.

        The keypoint counts swap and the transform is inverted; a transform that cannot be
        inverted (singular or not finite, e.g. from a damaged cache row) gives none.
        """
        inv: Rows | None = None
        if self.homography is not None:
            h = np.array(self.homography, dtype=np.float64)
            if np.all(np.isfinite(h)) and abs(float(np.linalg.det(h))) > 1e-12:
                inv = _rows(np.asarray(np.linalg.inv(h), dtype=np.float64))
        return Verification(
            self.inliers,
            self.matches,
            self.mirrored,
            inv,
            self.agreement,
            (self.keypoints[1], self.keypoints[0]),
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form (for a cache); :meth:`from_json` reads it back."""
        return {
            "inliers": self.inliers,
            "matches": self.matches,
            "mirrored": self.mirrored,
            "homography": [list(r) for r in self.homography] if self.homography else None,
            "agreement": self.agreement,
            "keypoints": list(self.keypoints),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verification:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: when malformed.
        """
        if not isinstance(data, Mapping):
            raise ValueError("a verification must be a JSON object")
        try:
            hom = data["homography"]
            rows = (
                None if hom is None else tuple((float(r[0]), float(r[1]), float(r[2])) for r in hom)
            )
            agreement = data["agreement"]
            kq, kr = data["keypoints"]
            out = cls(
                inliers=data["inliers"],
                matches=data["matches"],
                mirrored=data["mirrored"],
                homography=rows,
                agreement=None if agreement is None else float(agreement),
                keypoints=(kq, kr),
            )
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise ValueError(f"a verification is malformed ({exc})") from None
        counts = (out.inliers, out.matches, kq, kr)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts):
            raise ValueError("a verification's counts must be integers")
        if not isinstance(out.mirrored, bool) or (rows is not None and len(rows) != 3):
            raise ValueError("a verification's mirrored flag or homography is malformed")
        return out


def _rows(h: F64Array) -> Rows:
    if abs(h[2, 2]) > 1e-12:
        h = h / h[2, 2]
    return tuple((float(r[0]), float(r[1]), float(r[2])) for r in np.round(h, 6))


def _plausible(h: F64Array, mirrored: bool) -> bool:
    """A derived copy's transform: finite, of the right handedness, of bounded scale."""
    if not np.all(np.isfinite(h)):
        return False
    det = float(np.linalg.det(h[:2, :2]))
    if (det < 0) != mirrored:
        return False
    return 1 / MAX_SCALE**2 <= abs(det) <= MAX_SCALE**2


def match(query: Features, ref: Features) -> tuple[int, int, F64Array | None]:
    """Fit a transform from the query's features to the reference's.

    Returns:
        (inliers, tentative matches, 3 x 3 transform from query fractions to reference
        fractions or None).
    """
    if len(query) < 3 or len(ref) < 3:
        return 0, 0, None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(query.descriptors, ref.descriptors, k=2)
    best: dict[int, tuple[float, int]] = {}
    for pair in pairs:
        if len(pair) == 2 and pair[0].distance < RATIO * pair[1].distance:
            m = pair[0]
            # One query feature per reference feature (the closest): many query features
            # piled onto a few reference ones would support a collapsing transform.
            if m.trainIdx not in best or m.distance < best[m.trainIdx][0]:
                best[m.trainIdx] = (m.distance, m.queryIdx)
    n = len(best)
    if n < 3:
        return 0, n, None
    r_idx = np.fromiter(best, dtype=np.intp, count=n)
    q_idx = np.fromiter((best[r][1] for r in best), dtype=np.intp, count=n)
    # RANSAC in pixels of the reference, so that the tolerance is in pixels.
    scale_q = np.array([query.width, query.height], dtype=np.float32)
    scale_r = np.array([ref.width, ref.height], dtype=np.float32)
    src = (query.points[q_idx] * scale_q).reshape(-1, 1, 2)
    dst = (ref.points[r_idx] * scale_r).reshape(-1, 1, 2)
    tolerance = REPROJECTION * max(ref.width, ref.height)
    fit: tuple[Any, Any] = cv2.estimateAffine2D(
        src,
        dst,
        method=cv2.RANSAC,
        ransacReprojThreshold=tolerance,
        maxIters=2000,
        confidence=0.995,
        refineIters=10,
    )
    affine, mask = fit
    if affine is None or mask is None:
        return 0, n, None
    h = np.vstack([np.asarray(affine, dtype=np.float64), [0.0, 0.0, 1.0]])
    if not _plausible(h, query.mirrored):
        return 0, n, None
    # Back to fractions: H_frac = S_r^-1 H S_q.
    s_q = np.diag([float(query.width), float(query.height), 1.0])
    s_r_inv = np.diag([1.0 / ref.width, 1.0 / ref.height, 1.0])
    return int(mask.sum()), n, s_r_inv @ h @ s_q


SUPPORT_TOLERANCE = 0.02
"""Tolerance of :func:`support`, as a fraction of the frame."""


def support(src: F32Array, dst: F32Array) -> int:
    """How many point pairs (fractions) agree with one affine transform (RANSAC).

    A cheap check of the matches a candidate was proposed by (see
    :func:`twinreview.core.similarity.match.crop_candidates`): a copy's agree, chance matches
    scatter.
    """
    if len(src) < 3:
        return 0
    fit: tuple[Any, Any] = cv2.estimateAffine2D(
        np.ascontiguousarray(src, dtype=np.float32).reshape(-1, 1, 2),
        np.ascontiguousarray(dst, dtype=np.float32).reshape(-1, 1, 2),
        method=cv2.RANSAC,
        ransacReprojThreshold=SUPPORT_TOLERANCE,
        maxIters=500,
        confidence=0.99,
        refineIters=0,
    )
    affine, mask = fit
    if affine is None or mask is None:
        return 0
    h = np.vstack([np.asarray(affine, dtype=np.float64), [0.0, 0.0, 1.0]])
    det = float(np.linalg.det(h[:2, :2]))
    if not np.all(np.isfinite(h)) or not 1 / MAX_SCALE**2 <= abs(det) <= MAX_SCALE**2:
        return 0
    return int(mask.sum())


def _to_pixels(w: int, h: int) -> F64Array:
    """Fractions to pixel coordinates (pixel x covers [x - 0.5, x + 0.5])."""
    return np.array([[w, 0.0, -0.5], [0.0, h, -0.5], [0.0, 0.0, 1.0]])


def _usable(grey: GreyArray, small: F32Array) -> F32Array:
    """1 where a comparison window lies clear of letterbox bars, else 0.

    Two letterboxed copies of one photo have their bars in different places: comparing
    windows across a bar's edge would compare the edge with picture content. The bars are
    found as the hashes find them (:func:`hashing.content_box`, two opposite flat sides).
    """
    usable = np.ones_like(small)
    box = hashing.content_box(Image.fromarray(grey))
    if box is None:
        return usable
    h, w = grey.shape
    sh, sw = small.shape
    x0, y0 = int(box[0] * sw / w), int(box[1] * sh / h)
    x1, y1 = -(-box[2] * sw // w), -(-box[3] * sh // h)
    margin = AGREEMENT_WINDOW // 2 + 1
    usable[:] = 0
    usable[y0 + margin if y0 else 0 : y1 - margin if y1 < sh else sh,
           x0 + margin if x0 else 0 : x1 - margin if x1 < sw else sw] = 1  # fmt: skip
    return usable


def _blur(img: F32Array, sigma: float) -> F32Array:
    return np.asarray(cv2.GaussianBlur(img, (0, 0), sigma), dtype=np.float32)


def _detail(img: F32Array) -> F32Array:
    return img - _blur(img, AGREEMENT_SIGMA)


def agreement(query: Prepared, ref: Prepared, homography: F64Array) -> float:
    """Fraction of the textured overlap where the query, placed by ``homography``, agrees.

    Compared at :data:`AGREEMENT_SIDE` in the frame of the coarser of the two (the finer one
    is blurred by the scale between them first, as if it had been resized), on image detail,
    by local normalised cross-correlation: robust to brightness, contrast, saturation and
    JPEG, not to different content.

    Args:
        query: The query.
        ref: The reference.
        homography: Query fractions to reference fractions.

    Returns:
        0-1; 0 when the overlap has no textured pixel.
    """
    hq, wq = query.small.shape
    hr, wr = ref.small.shape
    h_px = _to_pixels(wr, hr) @ homography @ np.linalg.inv(_to_pixels(wq, hq))
    scale = float(np.sqrt(abs(np.linalg.det(h_px[:2, :2]))))  # affine: the same everywhere
    if scale >= 1.0:
        # The query is the coarser image: compare in its frame.
        frame, moving, m, shrink = query, ref, np.linalg.inv(h_px), 1.0 / scale
    else:
        frame, moving, m, shrink = ref, query, h_px, scale
    fh, fw = frame.small.shape
    if shrink < 0.95:
        blurred = _blur(moving.small, 0.5 * float(np.sqrt(1 / shrink**2 - 1)))
        a = _detail(_warp(blurred, m, (fw, fh)))
    else:
        # Detail is a linear, shift-invariant filter: at about the same scale, warping the
        # detail computed once per image is the detail of the warped image.
        a = _warp(moving.detail, m, (fw, fh))
    b = frame.detail
    # Inside the moving image's frame (by a whole window), and usable in both.
    inside = cv2.warpAffine(moving.usable, m[:2], (fw, fh), flags=cv2.INTER_NEAREST)
    k = (AGREEMENT_WINDOW, AGREEMENT_WINDOW)
    valid = (cv2.erode(inside, np.ones(k, np.uint8)) > 0) & (frame.usable > 0)
    ma, mb = cv2.blur(a, k), cv2.blur(b, k)
    va = np.maximum(cv2.blur(a * a, k) - ma * ma, 0)
    vb = np.maximum(cv2.blur(b * b, k) - mb * mb, 0)
    ncc = (cv2.blur(a * b, k) - ma * mb) / np.sqrt(np.maximum(va * vb, 1e-6))
    textured = valid & (va > AGREEMENT_FLAT**2) & (vb > AGREEMENT_FLAT**2)
    n = int(textured.sum())
    if n == 0:
        return 0.0
    return round(float((ncc[textured] >= AGREEMENT_NCC).mean()), 3)


def _warp(img: F32Array, m: F64Array, size: tuple[int, int]) -> F32Array:
    return np.asarray(cv2.warpAffine(img, m[:2], size, flags=cv2.INTER_LINEAR), dtype=np.float32)


def verify(
    query: Prepared,
    ref: Prepared,
    *,
    prefer_mirrored: bool = False,
    min_inliers: int,
    min_agreement: float,
) -> Verification:
    """Verify that ``query`` is a derived copy of ``ref`` (see the module docstring).

    The orientation the hashes suggest (``prefer_mirrored``) is tried first; the other one
    only when the first is not a copy by the thresholds (a face is nearly symmetric: the wrong
    orientation may still fit a few dozen features, but then its agreement is low). Agreement
    is measured only for a transform with at least ``min_inliers`` inliers.

    Args:
        query: The image under review.
        ref: The reference (or the other image of a pair in one batch).
        prefer_mirrored: Try the query's mirror image first.
        min_inliers: Inliers needed for a copy (the decision threshold).
        min_agreement: Agreement (0-1) needed for a copy.

    Returns:
        The orientation that is a copy, else the one with the higher agreement, else the one
        with more inliers.
    """
    keypoints = (query.keypoints, ref.keypoints)
    if min(keypoints) < MIN_KEYPOINTS:
        return Verification(0, 0, prefer_mirrored, keypoints=keypoints)
    tried: list[Verification] = []
    for mirrored in (prefer_mirrored, not prefer_mirrored):
        inliers, n, h = match(query.oriented(mirrored), ref.features)
        if h is None:
            tried.append(Verification(0, n, mirrored, keypoints=keypoints))
            continue
        agree = agreement(query, ref, h) if inliers >= min_inliers else None
        v = Verification(inliers, n, mirrored, _rows(h), agree, keypoints)
        if v.confirms(min_inliers, min_agreement):
            return v
        tried.append(v)
    return max(tried, key=lambda v: (v.agreement or 0.0, v.inliers))
