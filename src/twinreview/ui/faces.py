"""Face boxes for the compare view, and the likeness words of the findings panel and simple mode.

Built on the GUI thread from the scan's :class:`~twinreview.core.likeness.model.Likeness` (a plain
dataclass the scan worker handed back); nothing here decodes or detects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtGui import QColor

from twinreview.core.likeness.model import AMBIGUOUS, OTHER, OWN, Likeness
from twinreview.ui.items import likeness_of

__all__ = ["FaceBox", "best_face_reference", "face_boxes", "likeness_of"]

# Colours readable over photos, light or dark: green the model, red another model, amber the rest.
_COLOURS = {
    OWN: QColor(46, 204, 113),
    OTHER: QColor(231, 76, 60),
    AMBIGUOUS: QColor(243, 156, 18),
}
_STRANGER = QColor(243, 156, 18)


@dataclass(frozen=True)
class FaceBox:
    """One face to outline on an image.

    Attributes:
        box: x0, y0, x1, y1 as fractions of the (oriented) image.
        colour: The outline colour.
        label: A few words drawn above the box: the model's name and the face distance (lower:
            more alike), a question mark after another model's name, or "unknown".
    """

    box: tuple[float, float, float, float]
    colour: QColor
    label: str


def face_boxes(
    lk: Likeness | None, names: Mapping[str, str], *, simple: bool = False
) -> tuple[tuple[FaceBox, ...], dict[str, tuple[FaceBox, ...]]]:
    """Boxes to draw on the asset, and on each reference photo (by its rel) a face matched.

    ``simple``: the model's own view: her face is "You", another model is never named, no
    scores, and no box on another model's photo (simple mode does not show it).
    """
    if lk is None:
        return (), {}
    if simple:
        return _simple_boxes(lk)
    asset: list[FaceBox] = []
    refs: dict[str, list[FaceBox]] = {}
    for f in lk.faces:
        colour = _COLOURS.get(f.verdict, _STRANGER)
        if f.verdict == OWN and f.own is not None:
            who = names.get(lk.model) or lk.model
            label = f"{who} {f.own.distance:.2f}"
            match = f.own
        elif f.verdict == OTHER and f.other is not None:
            who = names.get(f.other.model) or f.other.model
            label = f"{who}? {f.other.distance:.2f}"
            match = f.other
        elif f.verdict == AMBIGUOUS and f.other is not None:
            other = names.get(f.other.model) or f.other.model
            label = f"{names.get(lk.model) or lk.model} or {other}?"
            match = None
        else:
            label = "unknown"
            match = None
        asset.append(FaceBox(f.box, colour, label))
        if match is not None and match.box[2] > match.box[0]:
            refs.setdefault(match.reference, []).append(FaceBox(match.box, colour, label))
    return tuple(asset), {k: tuple(v) for k, v in refs.items()}


_SIMPLE_LABEL = {OWN: "You", OTHER: "Someone else in this workspace", AMBIGUOUS: "You?"}


def _simple_boxes(lk: Likeness) -> tuple[tuple[FaceBox, ...], dict[str, tuple[FaceBox, ...]]]:
    asset: list[FaceBox] = []
    refs: dict[str, list[FaceBox]] = {}
    for f in lk.faces:
        box = FaceBox(
            f.box, _COLOURS.get(f.verdict, _STRANGER), _SIMPLE_LABEL.get(f.verdict, "Unknown")
        )
        asset.append(box)
        match = f.own if f.verdict == OWN else None
        if match is not None and match.box[2] > match.box[0]:
            refs.setdefault(match.reference, []).append(FaceBox(match.box, box.colour, "You"))
    return tuple(asset), {k: tuple(v) for k, v in refs.items()}


def best_face_reference(lk: Likeness | None) -> str | None:
    """The reference photo of the asset's own model with the closest face (None: no match)."""
    best = lk.best_own if lk is not None else None
    return best.own.reference if best is not None and best.own is not None else None
