"""The words and evidence of the likeness findings of one asset.

:func:`twinreview.core.likeness.model.findings` sorts an asset's faces by verdict and applies the
workspace's severities; the functions here word each finding and gather its evidence (all
JSON-serialisable) from those faces.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from twinreview.core.findings import (
    ALSO_LOOKS_LIKE_MODEL,
    LIKENESS_UNCONFIRMED,
    LOOKS_LIKE_OTHER_MODEL,
    REFERENCE_COPIES,
    UNKNOWN_PERSON,
)

if TYPE_CHECKING:
    from twinreview.core.likeness.model import FaceMatch, Likeness

Text = tuple[str, str, dict[str, Any]]
"""(finding kind, message, evidence)."""


def photo(rel: str) -> str:
    """The file name of a workspace-relative path."""
    return posixpath.basename(rel)


def display(names: Mapping[str, str], model: str) -> str:
    """The model's display name, or her id."""
    return names.get(model) or model


def _other_distance(f: FaceMatch) -> float:
    return f.other.distance if f.other else math.inf


def _own_distance(f: FaceMatch) -> float:
    return f.own.distance if f.own else math.inf


def other_models(
    lk: Likeness, names: Mapping[str, str], own: Sequence[FaceMatch], other: Sequence[FaceMatch]
) -> list[Text]:
    """``looks_like_other_model``: one per other model (her closest face decides the evidence).

    Args:
        lk: The asset's likeness.
        names: Display names of the models by id.
        own: The faces that are the asset's own model.
        other: The faces that are another model.
    """
    own_name = display(names, lk.model)
    by_model: dict[str, list[FaceMatch]] = {}
    for f in other:
        assert f.other is not None
        by_model.setdefault(f.other.model, []).append(f)
    out: list[Text] = []
    for model, faces in sorted(by_model.items()):
        top = min(faces, key=_other_distance)
        assert top.other is not None
        name = display(names, model)
        seen = f"{top.other.strength} with {name}'s photo {photo(top.other.reference)}"
        if own:
            msg = (
                f"Besides {own_name}, this image shows {name}, another model of this "
                f"workspace ({seen})."
            )
        elif lk.known:
            msg = (
                f"The face in this image looks like {name}, another model, not {own_name} "
                f"({seen}). The image may be filed under the wrong person."
            )
        else:
            msg = f"The face in this image looks like {name}, a model of this workspace ({seen})."
        evidence = {
            "model": model,
            "reference": top.other.reference,
            "distance": round(top.other.distance, 4),
            "box": list(top.box),
            "reference_box": list(top.other.box),
            "own_reference": top.own.reference if top.own else None,
            "own_distance": round(top.own.distance, 4) if top.own else None,
            "faces": [list(f.box) for f in faces],
        }
        out.append((LOOKS_LIKE_OTHER_MODEL, msg, evidence))
    return out


def also_looks_like(
    lk: Likeness, names: Mapping[str, str], faces: Mapping[str, FaceMatch]
) -> list[Text]:
    """``also_looks_like_model``: one per other model a face matches as closely as the own one.

    Evidence ``model`` names her: the approval rule then needs her own model approval too.
    """
    out: list[Text] = []
    for model, top in sorted(faces.items()):
        assert top.other is not None
        name = display(names, model)
        own = (
            f"{top.own.distance:.2f} to {display(names, lk.model)}'s photos"
            if top.own is not None
            else f"no match with {display(names, lk.model)}'s photos"
        )
        msg = (
            f"This image also looks like {name}: she must approve it too "
            f"({top.other.distance:.2f} to her photo {photo(top.other.reference)}, {own})."
        )
        evidence = {
            "model": model,
            "reference": top.other.reference,
            "distance": round(top.other.distance, 4),
            "box": list(top.box),
            "own_distance": round(top.own.distance, 4) if top.own else None,
        }
        out.append((ALSO_LOOKS_LIKE_MODEL, msg, evidence))
    return out


def reference_copies(lk: Likeness, names: Mapping[str, str]) -> Text:
    """``reference_copies``: her reference photos copy another model's (by face, near-identical).

    Evidence ``models`` names the models copied: their own model approval is needed too.
    """
    own = display(names, lk.model)
    copied = sorted({c.other_model for c in lk.reference_copies})
    whose = " and ".join(f"{display(names, m)}'s" for m in copied)
    first = lk.reference_copies[0]
    msg = (
        f"{own}'s reference photos are copies of {whose} ({photo(first.reference)} has the "
        f"same face as {display(names, first.other_model)}'s {photo(first.other_reference)}, "
        f"{first.distance:.2f} apart): {own}'s images need "
        f"{' and '.join(display(names, m) for m in copied)}'s own approval, and the reference "
        "photos must be checked."
    )
    evidence = {
        "models": copied,
        "copies": [
            {
                "reference": c.reference,
                "model": c.other_model,
                "other_reference": c.other_reference,
                "distance": round(c.distance, 4),
            }
            for c in lk.reference_copies
        ],
    }
    return REFERENCE_COPIES, msg, evidence


def not_checked(lk: Likeness) -> Text:
    """``likeness_unconfirmed`` when the check could not run (``lk.problem``)."""
    return (
        LIKENESS_UNCONFIRMED,
        f"The likeness could not be checked: {lk.problem}.",
        {"model": lk.model, "reason": lk.problem, "faces": []},
    )


def unconfirmed(lk: Likeness, names: Mapping[str, str], ambiguous: Sequence[FaceMatch]) -> Text:
    """``likeness_unconfirmed``: no face is the own model (none found, none close, or ambiguous).

    Args:
        lk: The asset's likeness.
        names: Display names of the models by id.
        ambiguous: The faces that match the own and another model about equally.
    """
    own_name = display(names, lk.model)
    closest = min((f for f in lk.faces if f.own is not None), key=_own_distance, default=None)
    if not lk.faces:
        reason = "no face found"
        msg = (
            "No face was found in this image, so it could not be checked that it looks "
            f"like {own_name}."
        )
    elif ambiguous:
        a = ambiguous[0]
        assert a.own is not None
        assert a.other is not None
        reason = "ambiguous"
        msg = (
            f"A face in this image matches {own_name} and {display(names, a.other.model)} "
            f"about equally ({a.own.distance:.2f} and {a.other.distance:.2f}): check the "
            "likeness by eye."
        )
    else:
        reason = "no matching face"
        near = (
            f" (closest: {closest.own.distance:.2f} to {photo(closest.own.reference)}; a "
            f"match needs {lk.threshold:.2f} or less)"
            if closest is not None and closest.own is not None
            else ""
        )
        msg = f"No face in this image matches {own_name}'s reference photos{near}."
    evidence: dict[str, Any] = {
        "model": lk.model,
        "reason": reason,
        "faces": [list(f.box) for f in lk.faces],
    }
    if closest is not None and closest.own is not None:
        evidence.update(
            reference=closest.own.reference,
            distance=round(closest.own.distance, 4),
            box=list(closest.box),
        )
    nearest_other = min(
        (f.other for f in lk.faces if f.other is not None),
        key=lambda m: m.distance,
        default=None,
    )
    if nearest_other is not None:
        evidence.update(
            other_model=nearest_other.model,
            other_reference=nearest_other.reference,
            other_distance=round(nearest_other.distance, 4),
        )
    return LIKENESS_UNCONFIRMED, msg, evidence


def unknown_people(lk: Likeness, strangers: Sequence[FaceMatch]) -> Text:
    """``unknown_person``: faces that match no model of the workspace (``strangers``)."""
    n = len(strangers)
    if n == 1 and len(lk.faces) == 1:
        msg = (
            "The person in this image matches no model of this workspace: nobody here has "
            "a consent record for them."
        )
    elif n == 1:
        msg = (
            "One more person in this image matches no model of this workspace: nobody here "
            "has a consent record for them."
        )
    else:
        msg = (
            f"{n} people in this image match no model of this workspace: nobody here has "
            "a consent record for them."
        )
    nearest = min(
        (f.best for f in strangers if f.best is not None),
        key=lambda m: m.distance,
        default=None,
    )
    evidence: dict[str, Any] = {
        "faces": [list(f.box) for f in strangers],
        "box": list(strangers[0].box),
    }
    if nearest is not None:
        evidence.update(
            nearest_model=nearest.model,
            nearest_reference=nearest.reference,
            distance=round(nearest.distance, 4),
        )
    return UNKNOWN_PERSON, msg, evidence


def describe(
    lk: Likeness,
    names: Mapping[str, str],
    *,
    you: bool,
    others: Sequence[FaceMatch],
    strangers: Sequence[FaceMatch],
    ambiguous: Sequence[FaceMatch],
) -> str:
    """The sentence of :func:`twinreview.core.likeness.model.sentence`.

    Args:
        lk: The asset's likeness.
        names: Display names of the models by id.
        you: Address the model herself.
        others: The faces that are another model.
        strangers: The faces that match no model.
        ambiguous: The faces that match the own and another model about equally.
    """
    own_name = display(names, lk.model)
    who = "you" if you else own_name
    your = "your" if you else f"{own_name}'s"
    extra = ""
    if strangers:
        extra = (
            " Also in it: one person who is not a model of this workspace."
            if len(strangers) == 1
            else f" Also in it: {len(strangers)} people who are not models of this workspace."
        )
    best = lk.best_own
    if best is not None and best.own is not None:
        text = (
            f"Looks like {who}: {best.own.strength} with {your} photo {photo(best.own.reference)}."
        )
        for f in others:
            assert f.other is not None
            text += f" Also shows {display(names, f.other.model)}, another model."
        return text + extra
    if others:
        top = min(others, key=lambda f: f.other.distance if f.other else math.inf)
        assert top.other is not None
        other = display(names, top.other.model)
        start = "Does not look like you: looks like" if you else "Looks like"
        tail = "" if you or not lk.known else f", not {own_name}"
        return (
            f"{start} {other}, another model{tail}: {top.other.strength} with "
            f"{other}'s photo {photo(top.other.reference)}."
        ) + extra
    if not lk.known:
        return ""
    if lk.problem is not None:
        return f"Likeness not checked: {lk.problem}."
    if lk.references == 0:
        return "Likeness not checked: there are no reference photos to compare with."
    if lk.reference_faces == 0:
        return f"Likeness not checked: no face found in {your} reference photos."
    if not lk.faces:
        return "No face found in this image, so the likeness could not be checked."
    amb = ambiguous
    if amb and amb[0].other is not None:
        return (
            f"Could be {who} or {display(names, amb[0].other.model)}: the faces match both "
            "about equally. Check by eye."
        )
    closest = min((f.own.distance for f in lk.faces if f.own is not None), default=None)
    start = "Does not look like you" if you else f"Does not look like {own_name}"
    if len(lk.faces) == 1 and strangers:
        near = f" (closest to {your} photos: {closest:.2f})" if closest is not None else ""
        return (
            f"{start}: the person in it matches no model of this workspace{near}; a match "
            f"needs {lk.threshold:.2f} or less."
        )
    near = f" (closest {closest:.2f}; a match needs {lk.threshold:.2f} or less)" if closest else ""
    return f"{start}: no face matches {your} photos{near}.{extra}"
