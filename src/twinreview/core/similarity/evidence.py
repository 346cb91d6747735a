"""What a copy's evidence is: the one definition, with its JSON form at the edges.

A copy finding (``near_copy_of_reference``, ``matches_other_model``, ``duplicate_in_batch``, a
``resubmitted_rejected`` matched by its hashes) carries a :class:`CopyEvidence`: how the pair
was found (``candidate``: the hashes or the local features), what the hashes say at their best
alignment, and what the geometric verification found (inliers, agreement, the transform and
where the asset lies in the other image). It travels as JSON in ``scan --json``, the report and
the findings a reviewer signs (:meth:`CopyEvidence.to_json`), and is read back from there with
:meth:`CopyEvidence.from_json`. A field with no value (not measured, not applicable) is left
out of the JSON form.

Coordinates are fractions of each image (x right, y down). ``homography`` maps the asset's
fractions to the other image's (3 x 3 rows); ``asset_region`` is the asset's frame in the other
image (corners top-left, top-right, bottom-right, bottom-left). ``agreement`` and
``min_agreement`` are fractions (0-1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twinreview.core.jsonread import read_bool as _bool
from twinreview.core.jsonread import read_float as _float
from twinreview.core.jsonread import read_str as _str

Rows = tuple[tuple[float, float, float], ...]
Corners = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class CopyEvidence:
    """Why a pair of images is (or may be) a copy.

    Attributes:
        hash: Which hash aligned the pair (``phash_region``).
        distance: pHash bits at the best alignment.
        dhash_distance: dHash bits there.
        threshold: The pHash bits the deciding rule allows (None when geometry decided).
        dhash_threshold: The dHash bits it allows (None when pHash alone decided).
        mirrored: The asset is a mirror image of the other.
        reference_region: The other image's box the hashes aligned with (fractions).
        whole_frame_phash_distance: Whole-frame pHash bits, in the same orientation.
        candidate: ``hashes`` or ``local features``: what proposed the pair.
        votes: Local features of the asset that voted for the other image.
        support: Those votes that agree on where the asset lies in it.
        verification: ``geometry`` when verified, else why not needed or not possible.
        clear_cut: The hashes alone decided (a re-encode, a light retouch).
        inliers: Keypoint matches that agree with one transform.
        min_inliers: The inliers a copy needs.
        agreement: Share of the textured overlap showing the same detail (0-1).
        min_agreement: The agreement a copy needs (0-1).
        homography: Asset fractions to the other image's fractions.
        asset_region: The asset's corners in the other image.
        keypoints: Keypoints found in the asset and in the other image.
    """

    hash: str = "phash_region"
    distance: int | None = None
    dhash_distance: int | None = None
    threshold: int | None = None
    dhash_threshold: int | None = None
    mirrored: bool = False
    reference_region: tuple[float, float, float, float] | None = None
    whole_frame_phash_distance: int | None = None
    candidate: str = "hashes"
    votes: int | None = None
    support: int | None = None
    verification: str = ""
    clear_cut: bool = False
    inliers: int | None = None
    min_inliers: int | None = None
    agreement: float | None = None
    min_agreement: float | None = None
    homography: Rows | None = None
    asset_region: Corners | None = None
    keypoints: tuple[int, int] | None = None

    @property
    def verified(self) -> bool:
        """True when the geometry confirmed the copy."""
        return self.verification == "geometry"

    def to_json(self) -> dict[str, Any]:
        """The JSON form: every field that has a value, lists for tuples."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = _lists(value)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CopyEvidence:
        """Read the JSON form back; keys of other findings' evidence are ignored.

        Raises:
            ValueError: when a field has the wrong type (a damaged or forged finding).
        """
        if not isinstance(data, Mapping):
            raise ValueError("copy evidence must be a JSON object")
        kw: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data or data[f.name] is None:
                continue
            value = data[f.name]
            try:
                kw[f.name] = _READERS[f.name](value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"copy evidence field {f.name!r} is malformed ({exc})") from None
        return cls(**kw)


def _lists(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_lists(v) for v in value]
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not an integer: {value!r}")
    return value


def _floats(n: int) -> Any:
    def read(value: Any) -> tuple[float, ...]:
        if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != n:
            raise TypeError(f"not {n} numbers: {value!r}")
        return tuple(_float(v) for v in value)

    return read


def _rows(value: Any) -> Rows:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 3:
        raise TypeError("not 3 rows")
    return tuple(_floats(3)(r) for r in value)


def _corners(value: Any) -> Corners:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 4:
        raise TypeError("not 4 corners")
    return tuple(_floats(2)(c) for c in value)


def _pair(value: Any) -> tuple[int, int]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise TypeError("not 2 counts")
    return (_int(value[0]), _int(value[1]))


_READERS: dict[str, Any] = {
    "hash": _str,
    "distance": _int,
    "dhash_distance": _int,
    "threshold": _int,
    "dhash_threshold": _int,
    "mirrored": _bool,
    "reference_region": _floats(4),
    "whole_frame_phash_distance": _int,
    "candidate": _str,
    "votes": _int,
    "support": _int,
    "verification": _str,
    "clear_cut": _bool,
    "inliers": _int,
    "min_inliers": _int,
    "agreement": _float,
    "min_agreement": _float,
    "homography": _rows,
    "asset_region": _corners,
    "keypoints": _pair,
}
