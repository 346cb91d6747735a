"""The geometric evidence of a copy finding, read defensively from the finding's evidence (no Qt).

A verified copy carries a 3 x 3 ``homography`` mapping the asset's image fractions (x right, y
down, 0..1) onto the reference's (``core.similarity.match``: "asset fractions to reference
fractions"), ``asset_region`` (the asset's corners in the reference), whether it matched mirrored,
and its inlier count. The compare
view uses it to line the reference up with the asset (wipe, difference) and to outline where each
image lies in the other. Anything missing, malformed or singular gives no alignment: the view
then fits the two images, and wipe or difference asks for the pair to be verified on demand
(:meth:`~twinreview.ui.compare_view.CompareView.set_verified` takes the answer).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twinreview.core.findings import Finding

Matrix = tuple[float, float, float, float, float, float, float, float, float]
Point = tuple[float, float]

_UNIT_SQUARE: tuple[Point, ...] = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


def _matrix(value: Any) -> Matrix | None:
    """A 3 x 3 list of lists of finite numbers, flattened row by row; None otherwise."""
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 3:
        return None
    out: list[float] = []
    for row in value:
        if not isinstance(row, Sequence) or isinstance(row, str) or len(row) != 3:
            return None
        for x in row:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                return None
            out.append(float(x))
    return (out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7], out[8])


def inverse(m: Matrix) -> Matrix | None:
    """The inverse of ``m`` (None when it is singular)."""
    a, b, c, d, e, f, g, h, i = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    if not math.isfinite(det) or abs(det) < 1e-12:
        return None
    return (
        (e * i - f * h) / det,
        (c * h - b * i) / det,
        (b * f - c * e) / det,
        (f * g - d * i) / det,
        (a * i - c * g) / det,
        (c * d - a * f) / det,
        (d * h - e * g) / det,
        (b * g - a * h) / det,
        (a * e - b * d) / det,
    )


def multiply(m: Matrix, n: Matrix) -> Matrix:
    """``m @ n`` (apply ``n`` first, then ``m``)."""
    rows = [m[0:3], m[3:6], m[6:9]]
    cols = [n[0::3], n[1::3], n[2::3]]
    flat = [sum(r[k] * c[k] for k in range(3)) for r in rows for c in cols]
    return (flat[0], flat[1], flat[2], flat[3], flat[4], flat[5], flat[6], flat[7], flat[8])


#: Left-right mirror in image fractions: (x, y) -> (1 - x, y).
MIRROR: Matrix = (-1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def apply(m: Matrix, p: Point) -> Point | None:
    """Map ``p`` through ``m`` (None when it lands at infinity)."""
    x, y = p
    w = m[6] * x + m[7] * y + m[8]
    if abs(w) < 1e-12:
        return None
    return ((m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w)


def _corners(value: Any) -> tuple[Point, ...] | None:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 4:
        return None
    out: list[Point] = []
    for p in value:
        if not isinstance(p, Sequence) or isinstance(p, str) or len(p) != 2:
            return None
        x, y = p
        ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y))
        if not ok or not (math.isfinite(x) and math.isfinite(y)):
            return None
        out.append((float(x), float(y)))
    return tuple(out)


@dataclass(frozen=True)
class Alignment:
    """How a reference maps onto the asset, from a copy finding's evidence.

    Attributes:
        to_asset: Reference fractions -> asset fractions.
        mirrored: The copy matched mirrored.
        inliers: Features that agree with the mapping (None when the evidence does not say).
    """

    to_asset: Matrix
    mirrored: bool = False
    inliers: int | None = None

    @property
    def to_reference(self) -> Matrix | None:
        """Asset fractions -> reference fractions."""
        return inverse(self.to_asset)

    def region_on_asset(self) -> tuple[Point, ...] | None:
        """Where the reference's frame lands on the asset (corners, asset fractions)."""
        pts = [apply(self.to_asset, p) for p in _UNIT_SQUARE]
        return None if any(p is None for p in pts) else tuple(p for p in pts if p is not None)

    def region_on_reference(self) -> tuple[Point, ...] | None:
        """Where the asset's frame lands on the reference (corners, reference fractions)."""
        inv = self.to_reference
        if inv is None:
            return None
        pts = [apply(inv, p) for p in _UNIT_SQUARE]
        return None if any(p is None for p in pts) else tuple(p for p in pts if p is not None)


def alignment_from(evidence: Mapping[str, Any]) -> Alignment | None:
    """The alignment a finding's evidence carries (its homography: asset -> reference), or None."""
    m = _matrix(evidence.get("homography"))
    to_asset = inverse(m) if m is not None else None
    if to_asset is None:
        return None
    inliers = evidence.get("inliers")
    return Alignment(
        to_asset,
        evidence.get("mirrored") is True,
        inliers if isinstance(inliers, int) and not isinstance(inliers, bool) else None,
    )


def alignments(findings: Iterable[Finding]) -> dict[str, Alignment]:
    """Alignment per evidence reference (its rel) for the findings that carry one."""
    out: dict[str, Alignment] = {}
    for f in findings:
        ref = f.evidence.get("reference")
        if not isinstance(ref, str) or not ref or ref in out:
            continue
        found = alignment_from(f.evidence)
        if found is not None:
            out[ref] = found
    return out


def region_only(evidence: Mapping[str, Any]) -> tuple[Point, ...] | None:
    """Corners of the matched region on the reference, when the evidence gives only those."""
    for key in ("asset_region", "query_region", "region"):
        corners = _corners(evidence.get(key))
        if corners is not None:
            return corners
    return None
