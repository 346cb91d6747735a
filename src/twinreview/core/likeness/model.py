"""Likeness: whose face is in the picture, decided from face embeddings (pure logic, numpy only).

The faces themselves come from :mod:`twinreview.services.scan.faces` (dlib): each face is a box, in
fractions of the (EXIF-oriented) image, and a 128-number embedding in which photos of one person
lie close together. This module only compares embeddings (Euclidean distances, vectorised with
numpy), decides per face whether it is the asset's own model, another model of the workspace or
nobody the workspace knows, and words the findings:

- ``looks_like_other_model`` (block by default): a face matches another model better than the
  model the asset is filed under, naming that model and her reference photo;
- ``likeness_unconfirmed`` (warn): no face matches the asset's own model (no face found, only
  strangers, or a face as close to another model as to her), and none is another model's;
- ``unknown_person`` (warn): a face that matches no model of the workspace, i.e. a person with no
  consent record here.

A match is a distance at or below the threshold (0.6, dlib's usual cut; calibrated on the shared
face corpus, where photos of one person lie at 0.06-0.52 and of different people at 0.70 or more).
This is a likeness aid for the reviewer, never identity proof.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from twinreview.core.findings import (
    ALSO_LOOKS_LIKE_MODEL,
    LIKENESS_UNCONFIRMED,
    LOOKS_LIKE_OTHER_MODEL,
    REFERENCE_COPIES,
    UNKNOWN_PERSON,
    Finding,
    Severity,
)
from twinreview.core.likeness import match as facematch
from twinreview.core.likeness import text as likenesstext
from twinreview.core.likeness.match import parse_box

EMBEDDING_DIM = 128

# Distance at or below which two faces are taken as the same person (dlib's documented 0.6; on
# the shared corpus one person spans 0.06-0.52, two people are 0.70 apart or more).
DEFAULT_THRESHOLD = 0.6
# A face whose distances to its own model and to another model differ by less than this is
# ambiguous: neither confirmed nor blocked, the reviewer judges by eye.
DEFAULT_MARGIN = 0.05
# At or below this a match is worded "strong" (most photos of one person sit below it).
STRONG_MATCH = 0.45
# At or below this a face is near-identical to a reference face: the same photo's face (a copy,
# crop, regrade, re-encode) rather than another photo of the person. On the face corpus, copies of
# a photo lie at 0.00-0.24 (a 40 % crop, an inpainted face or a mixed outpainting up to 0.39),
# different photos of one person at 0.35 or more, except two frames of one sitting (0.06).
NEAR_IDENTICAL = 0.25

DEFAULT_SEVERITY: Mapping[str, Severity] = {
    ALSO_LOOKS_LIKE_MODEL: Severity.BLOCK,
    REFERENCE_COPIES: Severity.BLOCK,
    LOOKS_LIKE_OTHER_MODEL: Severity.BLOCK,
    LIKENESS_UNCONFIRMED: Severity.WARN,
    UNKNOWN_PERSON: Severity.WARN,
}

# Verdicts per face.
OWN = "own"  # the asset's own model
OTHER = "other"  # another model of the workspace, better than the own model
AMBIGUOUS = "ambiguous"  # the own model and another model about equally
UNKNOWN = "unknown"  # nobody the workspace knows

Box = tuple[float, float, float, float]
"""x0, y0, x1, y1 as fractions of the image's width and height (0..1)."""


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face.

    Attributes:
        box: Where it is, as fractions of the oriented image (x0, y0, x1, y1).
        embedding: The face descriptor, ``EMBEDDING_DIM`` float32 numbers.
        score: The detector's confidence (higher is surer).
    """

    box: Box
    embedding: np.ndarray[Any, np.dtype[np.float32]]
    score: float = 0.0

    @property
    def area(self) -> float:
        """Box area as a fraction of the image."""
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])

    def to_json(self) -> dict[str, Any]:
        """JSON form for the cache (the embedding as base64 of little-endian float32)."""
        raw = np.asarray(self.embedding, dtype="<f4").tobytes()
        return {
            "box": [round(v, 5) for v in self.box],
            "score": round(self.score, 4),
            "embedding": base64.b64encode(raw).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Face:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: for a damaged value (wrong length, not finite, bad box).
        """
        try:
            raw = base64.b64decode(str(data["embedding"]), validate=True)
        except (binascii.Error, KeyError) as exc:
            raise ValueError(f"bad face embedding: {exc}") from None
        if len(raw) != 4 * EMBEDDING_DIM:
            raise ValueError(f"bad face embedding: {len(raw)} bytes")
        emb = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        if emb.shape != (EMBEDDING_DIM,) or not np.all(np.isfinite(emb)):
            raise ValueError("bad face embedding")
        return cls(parse_box(data["box"]), emb, float(data.get("score", 0.0)))


@dataclass(frozen=True)
class FaceScan:
    """The faces found in one file.

    Attributes:
        faces: Every face found, most confident first.
        error: Why faces could not be looked for (unreadable file, missing model files), or None.
        upsampled: True when the cheap pass found nothing and the enlarged pass ran.
    """

    faces: tuple[Face, ...] = ()
    error: str | None = None
    upsampled: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON form for the cache."""
        return {
            "faces": [f.to_json() for f in self.faces],
            "error": self.error,
            "upsampled": self.upsampled,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaceScan:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: for a damaged value.
        """
        try:
            faces = tuple(Face.from_json(f) for f in data["faces"])
            error = data.get("error")
            return cls(faces, None if error is None else str(error), bool(data.get("upsampled")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"bad face scan: {exc}") from None


@dataclass(frozen=True)
class LikenessSettings:
    """The ``[similarity.likeness]`` table of twinreview.toml (signed with the policy).

    Attributes:
        enabled: Look for faces at all.
        threshold: Face distance at or below which two faces are the same person.
        margin: Distances to the own and to another model closer than this are ambiguous.
    """

    enabled: bool = True
    threshold: float = DEFAULT_THRESHOLD
    margin: float = DEFAULT_MARGIN

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ValueError("[similarity.likeness] enabled must be true or false")
        for name, low, high in (("threshold", 0.2, 1.0), ("margin", 0.0, 0.3)):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not low <= value <= high
            ):
                raise ValueError(
                    f"[similarity.likeness] {name} must be a number from {low} to {high}, "
                    f"not {value!r}"
                )

    @classmethod
    def from_config(cls, similarity: Mapping[str, Any] | None) -> LikenessSettings:
        """Read ``[similarity.likeness]`` from the ``[similarity]`` table; defaults when absent.

        Raises:
            ValueError: for unknown keys or out-of-range values, naming the key.
        """
        table = (similarity or {}).get("likeness", {})
        if not isinstance(table, Mapping):
            raise ValueError("[similarity.likeness] must be a table")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(
                f"unknown key(s) in [similarity.likeness]: {', '.join(map(str, unknown))} "
                f"(known: {', '.join(sorted(known))})"
            )
        return cls(**{str(k): v for k, v in table.items()})


@dataclass(frozen=True)
class ReferenceFaces:
    """The faces found in one reference photo of a model."""

    model: str
    reference: str  # workspace-relative path
    scan: FaceScan


@dataclass(frozen=True)
class RefMatch:
    """The closest reference face of one model.

    Attributes:
        model: The model's id.
        reference: Workspace-relative path of her reference photo.
        distance: Face distance (0 = identical; the threshold decides).
        box: Where that face is in the reference photo (fractions).
    """

    model: str
    reference: str
    distance: float
    box: Box = (0.0, 0.0, 0.0, 0.0)

    @property
    def strength(self) -> str:
        """How close the match is, in words (see :func:`strength`)."""
        return strength(self.distance)

    def to_json(self, *, with_model: bool = True) -> dict[str, Any]:
        """JSON form (``scan --json``)."""
        out: dict[str, Any] = {}
        if with_model:
            out["model"] = self.model
        out["reference"] = self.reference
        out["distance"] = round(self.distance, 4)
        out["box"] = [round(v, 4) for v in self.box]
        return out


@dataclass(frozen=True)
class FaceMatch:
    """One face of an asset, compared with every model's reference faces.

    Attributes:
        box: Where it is in the asset (fractions).
        verdict: ``own``, ``other``, ``ambiguous`` or ``unknown``.
        own: The closest reference face of the asset's own model (None: she has none).
        best: The closest reference face of any model.
        other: The closest reference face of any other model.
    """

    box: Box
    verdict: str
    own: RefMatch | None = None
    best: RefMatch | None = None
    other: RefMatch | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form: ``{"box", "own": {reference, distance} | null, "best": {model, ...}}``."""
        return {
            "box": [round(v, 4) for v in self.box],
            "verdict": self.verdict,
            "own": self.own.to_json(with_model=False) if self.own else None,
            "best": self.best.to_json() if self.best else None,
            "other": self.other.to_json() if self.other else None,
        }


@dataclass(frozen=True)
class RefCopy:
    """A reference face of one model that is near-identical to another model's reference face.

    Attributes:
        reference: The model's reference photo (workspace-relative).
        other_model: The other model's id.
        other_reference: Her reference photo it copies.
        distance: Their face distance (at or below :data:`NEAR_IDENTICAL`).
    """

    reference: str
    other_model: str
    other_reference: str
    distance: float


@dataclass(frozen=True)
class Likeness:
    """Who is in one asset, as far as faces tell.

    Attributes:
        model: The model the asset is filed under.
        faces: Each face found, with its verdict.
        threshold: The distance at or below which a face matched.
        known: The workspace has that model.
        references: How many reference photos she has.
        reference_faces: How many of her reference faces the check could use.
        problem: Why the likeness could not be checked at all, or None.
        upsampled: Faces were looked for in the enlarged image too.
        margin: Distances to two models closer than this are "about equally".
        reference_copies: Her reference faces that copy another model's.
    """

    model: str
    faces: tuple[FaceMatch, ...] = ()
    threshold: float = DEFAULT_THRESHOLD
    known: bool = True
    references: int = 0
    reference_faces: int = 0
    problem: str | None = None
    upsampled: bool = False
    margin: float = DEFAULT_MARGIN
    reference_copies: tuple[RefCopy, ...] = ()

    def also_looks_like(self) -> dict[str, FaceMatch]:
        """Other models a face matches about as closely as the own model (her closest face each).

        A face within the same-person distance of both, the two distances within the margin,
        may be either: the other model's word is needed too. (A face clearly closer to another
        model is hers: ``looks_like_other_model`` names her.)
        """
        out: dict[str, FaceMatch] = {}
        for f in self.with_verdict(AMBIGUOUS):
            o = f.other
            assert o is not None
            top = out.get(o.model)
            if top is None or (top.other is not None and o.distance < top.other.distance):
                out[o.model] = f
        return out

    @property
    def checkable(self) -> bool:
        """The asset's faces could be compared with its own model's reference faces."""
        return self.problem is None and self.known and self.reference_faces > 0

    @property
    def best_own(self) -> FaceMatch | None:
        """The face that matches the own model best, among the faces that are hers."""
        own = [f for f in self.faces if f.verdict == OWN and f.own is not None]
        return min(own, key=lambda f: f.own.distance if f.own else math.inf, default=None)

    def with_verdict(self, verdict: str) -> tuple[FaceMatch, ...]:
        """The faces with this verdict."""
        return tuple(f for f in self.faces if f.verdict == verdict)

    @property
    def state(self) -> str:
        """One word for the whole asset.

        ``not_checked`` (a problem, or no usable reference face), ``no_face``, ``other`` (a face
        is another model), ``own`` (a face is the own model), ``ambiguous`` or ``unconfirmed``.
        """
        if self.problem is not None or (self.known and self.reference_faces == 0):
            return "not_checked" if not self.with_verdict(OTHER) else OTHER
        if not self.faces:
            return "no_face"
        if self.with_verdict(OTHER):
            return OTHER
        if self.with_verdict(OWN):
            return OWN
        if self.with_verdict(AMBIGUOUS):
            return AMBIGUOUS
        return "unconfirmed"

    def to_json(self) -> dict[str, Any]:
        """The ``likeness`` object of ``scan --json``."""
        return {
            "model": self.model,
            "state": self.state,
            "faces": [f.to_json() for f in self.faces],
            "threshold": self.threshold,
            "reference_faces": self.reference_faces,
            "problem": self.problem,
            "upsampled": self.upsampled,
        }


@dataclass
class Gallery:
    """Every model's usable reference faces, packed for vectorised distances.

    Build with :meth:`build`. A reference photo with one face gives that face. One with several
    faces (the model with someone else) gives the face closest to her single-face references, or,
    when she has none, the largest face. Photos with no usable face are left out with a notice.
    """

    settings: LikenessSettings = field(default_factory=LikenessSettings)
    models: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    #: Model id -> her reference faces that are near-identical to another model's.
    copies: Mapping[str, tuple[RefCopy, ...]] = field(default_factory=dict)
    _chosen: list[facematch.Chosen] = field(default_factory=list)
    _emb: np.ndarray[Any, np.dtype[np.float64]] = field(
        default_factory=lambda: np.zeros((0, EMBEDDING_DIM))
    )
    _model_of: np.ndarray[Any, np.dtype[np.intp]] = field(
        default_factory=lambda: np.zeros(0, dtype=np.intp)
    )

    @classmethod
    def build(
        cls, refs: Sequence[ReferenceFaces], settings: LikenessSettings | None = None
    ) -> Gallery:
        """Choose each reference photo's model face and pack them."""
        settings = settings or LikenessSettings()
        chosen, notices = facematch.choose_reference_faces(refs, settings.threshold)
        models = tuple(sorted({c.model for c in chosen}))
        # A model none of whose reference photos shows a face gets one line, not one per photo.
        faceless = sorted({r.model for r in refs} - set(models))
        lines = [text for model, text in notices if model in models]
        lines += [
            f"model {m!r}: no face found in any reference photo; likeness not checked"
            for m in faceless
        ]
        index = {m: i for i, m in enumerate(models)}
        emb = (
            np.stack([c.face.embedding for c in chosen]).astype(np.float64)
            if chosen
            else np.zeros((0, EMBEDDING_DIM))
        )
        model_of = np.array([index[c.model] for c in chosen], dtype=np.intp)
        return cls(settings, models, tuple(lines), _copies(chosen, emb), chosen, emb, model_of)

    def face_count(self, model: str) -> int:
        """How many usable reference faces ``model`` has."""
        return sum(1 for c in self._chosen if c.model == model)

    def assess(
        self,
        items: Sequence[tuple[str, FaceScan | None]],
        *,
        known: Mapping[str, int] | None = None,
    ) -> list[Likeness]:
        """Compare every face of every asset with every model's reference faces, in one go.

        Args:
            items: Per asset, the model it is filed under and its faces (None: not looked for).
            known: The workspace's models and their number of reference photos; a model not in
                it is unknown. Defaults to the models of the gallery.

        Returns:
            One :class:`Likeness` per item, in order.
        """
        known = dict(known) if known is not None else {m: 1 for m in self.models}
        threshold = self.settings.threshold
        queries = [f.embedding for _m, s in items if s is not None for f in s.faces]
        per_model = facematch.nearest_per_model(
            queries, self._emb, self._model_of, len(self.models)
        )
        out: list[Likeness] = []
        row = 0
        for model, scan in items:
            base = Likeness(
                model,
                threshold=threshold,
                known=model in known,
                references=known.get(model, 0),
                reference_faces=self.face_count(model),
                margin=self.settings.margin,
                reference_copies=self.copies.get(model, ()),
            )
            if scan is None:
                out.append(base)
                continue
            faces: list[FaceMatch] = []
            for face in scan.faces:
                faces.append(self._match_face(face, model, per_model, row))
                row += 1
            out.append(
                Likeness(
                    base.model,
                    tuple(faces),
                    threshold,
                    base.known,
                    base.references,
                    base.reference_faces,
                    scan.error,
                    scan.upsampled,
                    self.settings.margin,
                    self.copies.get(model, ()),
                )
            )
        return out

    def _match_face(
        self,
        face: Face,
        model: str,
        per_model: Sequence[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]],
        row: int,
    ) -> FaceMatch:
        own: RefMatch | None = None
        other: RefMatch | None = None
        for k, (dmin, col) in enumerate(per_model):
            c = self._chosen[int(col[row])]
            m = RefMatch(self.models[k], c.reference, float(dmin[row]), c.face.box)
            if self.models[k] == model:
                own = m
            elif other is None or m.distance < other.distance:
                other = m
        best = min(
            (m for m in (own, other) if m is not None), key=lambda m: m.distance, default=None
        )
        return FaceMatch(face.box, self._verdict(own, other), own, best, other)

    def _verdict(self, own: RefMatch | None, other: RefMatch | None) -> str:
        t, margin = self.settings.threshold, self.settings.margin
        own_ok = own is not None and own.distance <= t
        other_ok = other is not None and other.distance <= t
        if own_ok and other_ok:
            assert own is not None
            assert other is not None
            if abs(own.distance - other.distance) < margin:
                return AMBIGUOUS
            return OWN if own.distance < other.distance else OTHER
        if own_ok:
            return OWN
        if other_ok:
            return OTHER
        return UNKNOWN


def _copies(
    chosen: Sequence[facematch.Chosen], emb: np.ndarray[Any, np.dtype[np.float64]]
) -> dict[str, tuple[RefCopy, ...]]:
    """Per model, her reference faces near-identical to another model's (both ways).

    Two models are two people: their reference faces lie 0.70 or more apart on the face corpus.
    A pair at copy level is one photo filed for two models, and a look-alike model made of
    another's photos would speak for her face.
    """
    if len(chosen) < 2:
        return {}
    dist = facematch.distances(emb, emb)
    found: dict[str, dict[tuple[str, str], RefCopy]] = {}
    rows, cols = np.nonzero(dist <= NEAR_IDENTICAL)
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        a, b = chosen[i], chosen[j]
        if a.model == b.model:
            continue
        key = (a.reference, b.model)
        copy = RefCopy(a.reference, b.model, b.reference, float(dist[i, j]))
        mine = found.setdefault(a.model, {})
        if key not in mine or copy.distance < mine[key].distance:
            mine[key] = copy
    return {
        m: tuple(sorted(v.values(), key=lambda c: (c.distance, c.reference)))
        for m, v in found.items()
    }


def near_identical(lk: Likeness, limit: float = NEAR_IDENTICAL) -> list[tuple[FaceMatch, RefMatch]]:
    """The reference faces that a face of the asset is near-identical to, closest first.

    One entry per reference photo (the closest face of the asset to it).
    """
    seen: dict[str, tuple[FaceMatch, RefMatch]] = {}
    for face in lk.faces:
        for m in (face.own, face.other):
            if m is None or m.distance > limit:
                continue
            if m.reference not in seen or m.distance < seen[m.reference][1].distance:
                seen[m.reference] = (face, m)
    return sorted(seen.values(), key=lambda fm: fm[1].distance)


# -- words ------------------------------------------------------------------------------------


def strength(distance: float) -> str:
    """``strong match`` or ``match``, for a distance at or below the threshold."""
    return "strong match" if distance <= STRONG_MATCH else "match"


def findings(
    lk: Likeness, severity: Mapping[str, Severity], names: Mapping[str, str] | None = None
) -> list[Finding]:
    """The likeness findings of one asset under the workspace's severities.

    Args:
        lk: The asset's likeness.
        severity: Severity per finding kind (missing kinds take :data:`DEFAULT_SEVERITY`).
        names: Display names of the models by id.
    """
    names = names or {}
    own, other = lk.with_verdict(OWN), lk.with_verdict(OTHER)
    texts = likenesstext.other_models(lk, names, own, other)
    texts += likenesstext.also_looks_like(lk, names, lk.also_looks_like())
    if lk.reference_copies:
        texts.append(likenesstext.reference_copies(lk, names))
    # An unknown model or one with no reference photos has its own finding in the scan; a
    # model none of whose reference photos shows a face is noted once per model, not per image.
    if lk.known and lk.references > 0:
        if lk.problem is not None:
            texts.append(likenesstext.not_checked(lk))
        elif lk.reference_faces > 0:
            if not own and not other:  # another model's face already says "not her"
                texts.append(likenesstext.unconfirmed(lk, names, lk.with_verdict(AMBIGUOUS)))
            if strangers := lk.with_verdict(UNKNOWN):
                texts.append(likenesstext.unknown_people(lk, strangers))
    return [
        Finding(
            kind,
            severity.get(kind, DEFAULT_SEVERITY.get(kind, Severity.WARN)),
            message,
            {**evidence, "threshold": lk.threshold},
        )
        for kind, message, evidence in texts
    ]


def sentence(lk: Likeness, names: Mapping[str, str] | None = None, *, you: bool = False) -> str:
    """One plain sentence about the likeness, for the findings panel and simple mode.

    Args:
        lk: The asset's likeness.
        names: Display names of the models by id.
        you: Address the model herself ("Looks like you") instead of naming her.

    Examples: "Looks like you: strong match with your photo studio-01.jpg."; "Looks like Bea,
    another model, not Ava: strong match with Bea's photo b-03.jpg."
    """
    return likenesstext.describe(
        lk,
        names or {},
        you=you,
        others=lk.with_verdict(OTHER),
        strangers=lk.with_verdict(UNKNOWN),
        ambiguous=lk.with_verdict(AMBIGUOUS),
    )
