"""Face embedding maths for the likeness check: distances, and which reference face to use.

Pure numpy; the faces are :class:`twinreview.core.likeness.model.Face` objects, whose ``box`` and
``embedding`` are all this module reads. :class:`twinreview.core.likeness.model.Gallery` packs the
chosen faces and decides the verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from twinreview.core.likeness.model import Box, Face, ReferenceFaces

FloatMatrix = np.ndarray[Any, np.dtype[np.float64]]


@dataclass
class Chosen:
    """The face of a reference photo that stands for its model."""

    model: str
    reference: str
    face: Face


def distances(a: FloatMatrix, b: FloatMatrix) -> FloatMatrix:
    """Euclidean distances between the rows of ``a`` and of ``b`` (one matrix product)."""
    sq = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    out: FloatMatrix = np.sqrt(np.maximum(sq, 0.0))
    return out


def parse_box(value: Any) -> Box:
    """A face box from its JSON form (four finite numbers).

    Raises:
        ValueError: for anything else.
    """
    if not isinstance(value, Sequence) or len(value) != 4:
        raise ValueError(f"bad face box {value!r}")
    x0, y0, x1, y1 = (float(v) for v in value)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise ValueError(f"bad face box {value!r}")
    return (x0, y0, x1, y1)


def _stack(faces: Sequence[Face]) -> FloatMatrix:
    return np.stack([f.embedding for f in faces]).astype(np.float64)


def choose_reference_faces(
    refs: Sequence[ReferenceFaces], threshold: float
) -> tuple[list[Chosen], list[tuple[str, str]]]:
    """Each reference photo's model face, and (model, notice) for each photo left out.

    A photo with one face gives that face. One with several faces (the model with someone
    else) gives the face closest to her single-face references when it is within
    ``threshold``, or, when she has none, the largest face.
    """
    notices: list[tuple[str, str]] = []
    trusted: dict[str, list[Face]] = {}
    for r in refs:
        if len(r.scan.faces) == 1:
            trusted.setdefault(r.model, []).append(r.scan.faces[0])
    chosen: list[Chosen] = []
    for r in refs:
        faces = r.scan.faces
        if r.scan.error is not None:
            notices.append((r.model, f"{r.reference}: no face check ({r.scan.error})"))
            continue
        if not faces:
            notices.append(
                (
                    r.model,
                    f"{r.reference}: no face found in this reference photo; "
                    "it is not used for the likeness check",
                )
            )
            continue
        if len(faces) == 1:
            chosen.append(Chosen(r.model, r.reference, faces[0]))
            continue
        mine = trusted.get(r.model, [])
        if mine:
            d = distances(_stack(faces), _stack(mine)).min(axis=1)
            best = int(np.argmin(d))
            if d[best] <= threshold:
                chosen.append(Chosen(r.model, r.reference, faces[best]))
            else:
                notices.append(
                    (
                        r.model,
                        f"{r.reference}: none of its {len(faces)} faces matches the "
                        "model's other reference photos; it is not used for the likeness "
                        "check",
                    )
                )
        else:
            largest = max(faces, key=lambda f: f.area)
            chosen.append(Chosen(r.model, r.reference, largest))
            notices.append(
                (
                    r.model,
                    f"{r.reference}: {len(faces)} faces in this reference photo; the "
                    "largest is taken as the model's",
                )
            )
    return chosen, notices


def nearest_per_model(
    queries: Sequence[np.ndarray[Any, Any]],
    gallery: FloatMatrix,
    model_of: np.ndarray[Any, np.dtype[np.intp]],
    n_models: int,
) -> list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """Per model, each query's distance to her closest gallery face and that face's row.

    Args:
        queries: Face embeddings to compare.
        gallery: The reference faces' embeddings, one row each.
        model_of: The model (0 .. ``n_models`` - 1) of each gallery row.
        n_models: How many models the gallery holds.

    Returns:
        One (distances, gallery rows) pair per model, each array with one entry per query;
        empty when there are no queries or no gallery faces.
    """
    if not queries or len(gallery) == 0:
        return []
    dist = distances(np.stack(queries).astype(np.float64), gallery)
    rows = np.arange(len(queries))
    out = []
    for k in range(n_models):
        cols = np.flatnonzero(model_of == k)
        sub = dist[:, cols]
        arg = np.argmin(sub, axis=1)
        out.append((sub[rows, arg], cols[arg]))
    return out
