"""The disclosure report and its findings' evidence: the one definition, JSON at the edges.

:class:`DisclosureReport` is what one file says about its own AI disclosure, with the verdict.
Inside the program it travels as itself (the scan's analysis and result, the review app, the
report, the publisher). Its JSON form (:meth:`DisclosureReport.to_json`) is the ``disclosure``
object of ``scan --json`` and ``inspect --json``, and the row the scan cache keeps;
:meth:`DisclosureReport.from_json` reads that form back strictly: a field of the wrong type is
refused with a :class:`ValueError` naming it (a damaged cache row is then a miss, never a made-up
verdict). A report read back equals the report written: what only the reading saw on the way
(every XMP value found, the packets, the per-part notes, the sniffed format, why the file could
not be read) is not in the JSON form, and is left out of comparisons.

:class:`DisclosureEvidence`, and one subclass per finding kind that adds a fact of its own
(:class:`ConflictEvidence`, :class:`PartialEvidence`, :class:`StrippedEvidence`,
:class:`RemoteManifestEvidence`, :class:`LabelEvidence`), is the evidence of a disclosure
finding: the verdict and what it rests on. A reviewer signs it in the findings of a decision
(``Finding.to_json()``). It is a read-only mapping of its JSON form, so that every finding's
evidence is a mapping of facts (what the findings panel and the report list); code that needs a
fact reads its attribute. :meth:`DisclosureEvidence.from_json` reads a signed finding back
leniently: what was signed stands as signed, so a field of the wrong type is left empty instead
of refusing the finding, and the verdict is the word that was signed.

All types are frozen dataclasses, safe to share between threads and to pickle.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Self, TypeVar

from twinreview.core.disclosure.vocabulary import classify
from twinreview.core.jsonread import read_bool as _bool
from twinreview.core.jsonread import read_float as _float
from twinreview.core.jsonread import read_str as _str

ACTIVE_MANIFEST = "active manifest"
"""How a source type's ``where`` starts when the active manifest (the file's own claim) holds it."""


class C2paState(enum.StrEnum):
    """Classification of a file's C2PA Content Credentials (DESIGN 2.2)."""

    ABSENT = "absent"
    REMOTE_ONLY = "remote-only"
    UNREADABLE = "unreadable"
    VALID_UNTRUSTED = "valid-untrusted"
    TRUSTED = "trusted"
    INVALID_INTEGRITY = "invalid-integrity"
    INVALID_CREDENTIAL_ONLY = "invalid-credential-only"

    @property
    def is_valid(self) -> bool:
        """True for manifests whose integrity checks passed (trusted or not)."""
        return self in (C2paState.VALID_UNTRUSTED, C2paState.TRUSTED)


class Verdict(enum.StrEnum):
    """One disclosure verdict per image (DESIGN 2.2)."""

    DISCLOSED = "disclosed"
    PARTIAL = "partial"
    MISSING = "missing"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class FoundSourceType:
    """A digital source type found inside a C2PA manifest store.

    Attributes:
        value: The URI with surrounding whitespace removed.
        where: Where it was found, e.g. ``active manifest urn:...: c2pa.actions.v2
            actions[0] (c2pa.created) .digitalSourceType``; an ingredient's manifest is
            ``ingredient manifest (<title>) <label>: ...``.
    """

    value: str
    where: str

    @property
    def active(self) -> bool:
        """True when the active manifest holds it (the asset's own claim)."""
        return self.where.startswith(ACTIVE_MANIFEST + " ")

    @property
    def generative(self) -> bool:
        """True when the value declares generative AI."""
        return classify(self.value).generative

    @property
    def in_vocabulary(self) -> bool:
        """True when the value is a vocabulary URI."""
        return classify(self.value).in_vocabulary

    def to_json(self) -> dict[str, Any]:
        """Return ``{"value", "where"}`` as ``inspect --json`` prints it."""
        return {"value": self.value, "where": self.where}

    @classmethod
    def from_json(cls, data: Any) -> FoundSourceType:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: when a field is missing or has the wrong type.
        """
        obj = _object(data)
        return cls(
            value=_take(obj, "value", _str, required=True),
            where=_take(obj, "where", _str, required=True),
        )


@dataclass(frozen=True)
class C2paReport:
    """What the C2PA reader found.

    Attributes:
        state: The classification.
        failures: Failure codes from the library (``claimSignature.mismatch``, ...); codes from
            ingredient manifests carry `` (ingredient <title>)``; when the reader itself failed,
            its error (``C2paError.Other: unknown algorithm``).
        source_types: Digital source types from every manifest, active first.
        signer: Common name of the active manifest's signing certificate (issuer when no CN).
        signer_issuer: Issuer organisation of that certificate.
        generator: The active manifest's claim generator (name and version).
        software_agents: ``softwareAgent`` values of actions, from every manifest.
        remote_url: The remote manifest URL when the file only points to one.
        training_mining: The active manifest's training-and-data-mining entries as
            ``(entry, use)``, entry names without their ``cawg.``/``c2pa.`` prefix
            (``ai_training``, ``notAllowed``); read from ``cawg.training-mining`` or the older
            ``c2pa.training-mining``.
        notes: Plain sentences for the reviewer (a reading detail: the report's notes hold them).
    """

    state: C2paState
    failures: tuple[str, ...] = ()
    source_types: tuple[FoundSourceType, ...] = ()
    signer: str | None = None
    signer_issuer: str | None = None
    generator: str | None = None
    software_agents: tuple[str, ...] = ()
    remote_url: str | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)
    training_mining: tuple[tuple[str, str], ...] = ()

    @property
    def generative(self) -> bool:
        """True when any manifest declares a generative source type."""
        return any(st.generative for st in self.source_types)

    def to_json(self) -> dict[str, Any]:
        """Return the ``c2pa`` object of ``inspect --json`` (plus issuer, agents, remote URL)."""
        return {
            "state": self.state.value,
            "failures": list(self.failures),
            "source_types": [st.to_json() for st in self.source_types],
            "signer": self.signer,
            "generator": self.generator,
            "signer_issuer": self.signer_issuer,
            "software_agents": list(self.software_agents),
            "remote_url": self.remote_url,
            "training_mining": dict(self.training_mining),
        }

    @classmethod
    def from_json(cls, data: Any) -> C2paReport:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: when a field is missing or has the wrong type.
        """
        obj = _object(data)
        return cls(
            state=_take(obj, "state", _enum(C2paState), required=True),
            failures=_take(obj, "failures", _strs, ()),
            source_types=_take(obj, "source_types", _each(FoundSourceType.from_json), ()),
            signer=_take(obj, "signer", _str),
            signer_issuer=_take(obj, "signer_issuer", _str),
            generator=_take(obj, "generator", _str),
            software_agents=_take(obj, "software_agents", _strs, ()),
            remote_url=_take(obj, "remote_url", _str),
            training_mining=_take(obj, "training_mining", _str_pairs, ()),
        )


@dataclass(frozen=True)
class XmpValue:
    """One ``DigitalSourceType`` value found in an XMP packet.

    Attributes:
        raw: The value as written.
        field: ``Iptc4xmpExt:DigitalSourceType``, or the deprecated
            ``Iptc4xmpExt:DigitalSourcefileType``.
        where: Which packet: ``JPEG APP1``, ``JPEG extended XMP``, ``PNG iTXt``, ``sidecar``, ...
    """

    raw: str
    field: str
    where: str


@dataclass(frozen=True)
class XmpReport:
    """What the XMP packets say.

    Attributes:
        source_type: The vocabulary URI that decides the verdict, or None when absent or when the
            only value is outside the vocabulary.
        raw: The value as written (also for non-vocabulary values), or None when there is none.
        where: Which packet ``raw`` came from.
        provenance: ``dcterms:provenance`` values (manifest references).
        values: Every value found, in reading order (embedded packets before the sidecar); a
            reading detail (the verdict and the conflict are decided from them).
        packets: Where XMP packets were found, e.g. ``("JPEG APP1", "sidecar")``; a reading
            detail.
        notes: Plain sentences for the reviewer (unreadable packets, non-vocabulary values, ...);
            a reading detail: the report's notes hold them.
    """

    source_type: str | None = None
    raw: str | None = None
    where: str | None = None
    values: tuple[XmpValue, ...] = field(default=(), compare=False)
    provenance: tuple[str, ...] = ()
    packets: tuple[str, ...] = field(default=(), compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)

    def to_json(self) -> dict[str, Any]:
        """Return the ``xmp`` object of ``inspect --json`` (plus where and provenance)."""
        return {
            "source_type": self.source_type,
            "raw": self.raw,
            "where": self.where,
            "provenance": list(self.provenance),
        }

    @classmethod
    def from_json(cls, data: Any) -> XmpReport:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: when a field has the wrong type.
        """
        obj = _object(data)
        return cls(
            source_type=_take(obj, "source_type", _str),
            raw=_take(obj, "raw", _str),
            where=_take(obj, "where", _str),
            provenance=_take(obj, "provenance", _strs, ()),
        )


@dataclass(frozen=True)
class LabelReport:
    """Result of looking for the workspace's visible AI label in the image corners.

    Attributes:
        found: True when the label was found.
        corner: ``top-left``, ``top-right``, ``bottom-left`` or ``bottom-right`` of the best match.
        score: Normalised cross-correlation of the best match (-1..1), to 3 decimals.
        scale: Label width as a fraction of the image width, for the best match, to 3 decimals.
        box: ``[x, y, w, h]`` of the best match in original image pixels.
        error: Why the search could not run (image not decodable), else None.
    """

    found: bool
    corner: str | None = None
    score: float | None = None
    scale: float | None = None
    box: tuple[int, int, int, int] | None = None
    error: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> LabelReport:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: when a field is missing or has the wrong type.
        """
        obj = _object(data)
        return cls(
            found=_take(obj, "found", _bool, required=True),
            corner=_take(obj, "corner", _str),
            score=_take(obj, "score", _float),
            scale=_take(obj, "scale", _float),
            box=_take(obj, "box", _box),
            error=_take(obj, "error", _str),
        )

    def to_json(self) -> dict[str, Any]:
        """Return the ``label`` object."""
        return {
            "found": self.found,
            "corner": self.corner,
            "score": None if self.score is None else round(self.score, 3),
            "scale": None if self.scale is None else round(self.scale, 3),
            "box": None if self.box is None else list(self.box),
            "error": self.error,
        }


@dataclass(frozen=True)
class DisclosureReport:
    """Everything one file says about its AI disclosure, and the verdict.

    Attributes:
        verdict: disclosed / partial / missing / blocked.
        c2pa: The C2PA part.
        xmp: The XMP part.
        label: The visible-label part, or None when the workspace names no label.
        notes: Plain sentences explaining the verdict, for the reviewer.
        conflict: Description of contradictory source types, else None.
        manifest_stripped: True when XMP references an embedded manifest that is not there.
        format: Sniffed format (``jpeg``, ...) or None; a reading detail.
        error: Why the file could not be read as an image at all, else None; a reading detail
            (the notes say it too).
    """

    verdict: Verdict
    c2pa: C2paReport
    xmp: XmpReport
    label: LabelReport | None = None
    notes: tuple[str, ...] = ()
    format: str | None = field(default=None, compare=False)
    error: str | None = field(default=None, compare=False)
    conflict: str | None = None
    manifest_stripped: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the ``disclosure`` object of ``inspect --json`` and ``scan --json``."""
        return {
            "verdict": self.verdict.value,
            "c2pa": self.c2pa.to_json(),
            "xmp": self.xmp.to_json(),
            "label": None if self.label is None else self.label.to_json(),
            "notes": list(self.notes),
            "conflict": self.conflict,
            "manifest_stripped": self.manifest_stripped,
        }

    @classmethod
    def from_json(cls, data: Any) -> DisclosureReport:
        """Read the JSON form back (a scan cache row, a ``scan --json`` document).

        Raises:
            ValueError: when ``data`` is not a JSON object, or a field is missing or has the
                wrong type; the message names the field (``c2pa.state``).
        """
        if not isinstance(data, Mapping):
            raise ValueError("a disclosure report must be a JSON object")
        return cls(
            verdict=_take(data, "verdict", _enum(Verdict), required=True),
            c2pa=_take(data, "c2pa", C2paReport.from_json, required=True),
            xmp=_take(data, "xmp", XmpReport.from_json, required=True),
            label=_take(data, "label", LabelReport.from_json),
            notes=_take(data, "notes", _strs, ()),
            conflict=_take(data, "conflict", _str),
            manifest_stripped=_take(data, "manifest_stripped", _bool, False),
        )


@dataclass(frozen=True)
class DisclosureEvidence(Mapping[str, Any]):
    """The evidence of a disclosure finding: the verdict and what it rests on.

    The evidence of ``tampered_provenance``, ``missing_disclosure`` and ``credential_problem``;
    the other kinds add one fact each (the subclasses below). Its JSON form is every field, in
    this order, ``null`` or ``[]`` when empty; as a mapping it is that form (``dict(ev)``), which
    is how the findings panel and the report list any finding's evidence.

    Attributes:
        verdict: The file's verdict (``disclosed``, ``partial``, ``missing``, ``blocked``); read
            back from a signed finding, the word as signed (None when it was not a string).
        c2pa_state: The C2PA classification (``absent``, ``valid-untrusted``, ...).
        failures: The C2PA failure codes.
        source_types: The digital source types of the C2PA manifests.
        signer: The active manifest's signer.
        xmp_source_type: The IPTC digital source type of the XMP (a vocabulary URI).
        xmp_raw: The XMP value as written.
        xmp_where: The XMP packet it came from.
    """

    verdict: str | None = None
    c2pa_state: str | None = None
    failures: tuple[str, ...] = ()
    source_types: tuple[FoundSourceType, ...] = ()
    signer: str | None = None
    xmp_source_type: str | None = None
    xmp_raw: str | None = None
    xmp_where: str | None = None

    @classmethod
    def of(cls, report: DisclosureReport, **facts: Any) -> Self:
        """The evidence of a finding about ``report``, with the kind's own ``facts``."""
        c2pa, xmp = report.c2pa, report.xmp
        return cls(
            verdict=report.verdict.value,
            c2pa_state=c2pa.state.value,
            failures=c2pa.failures,
            source_types=c2pa.source_types,
            signer=c2pa.signer,
            xmp_source_type=xmp.source_type,
            xmp_raw=xmp.raw,
            xmp_where=xmp.where,
            **facts,
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON form: every field, in order; lists for tuples."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Read the JSON form back, leniently (a signed finding is never refused).

        A field that is absent or of the wrong type is left empty; keys of no field are
        ignored. Never raises.
        """
        values: dict[str, Any] = {}
        obj = data if isinstance(data, Mapping) else {}
        for f in fields(cls):
            value = obj.get(f.name)
            if value is None:
                continue
            try:
                values[f.name] = _EVIDENCE_READERS[f.name](value)
            except (TypeError, ValueError):
                continue
        return cls(**values)

    def __getitem__(self, key: str) -> Any:
        if key not in {f.name for f in fields(self)}:
            raise KeyError(key)
        return _plain(getattr(self, key))

    def __iter__(self) -> Iterator[str]:
        return (f.name for f in fields(self))

    def __len__(self) -> int:
        return len(fields(self))


@dataclass(frozen=True)
class ConflictEvidence(DisclosureEvidence):
    """The evidence of ``disclosure_conflict``: also what contradicts what."""

    conflict: str | None = None


@dataclass(frozen=True)
class PartialEvidence(DisclosureEvidence):
    """The evidence of ``partial_disclosure``: also which half is missing, in words."""

    missing: str | None = None


@dataclass(frozen=True)
class StrippedEvidence(DisclosureEvidence):
    """The evidence of ``manifest_stripped``: also the XMP's references to the lost manifest."""

    provenance: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemoteManifestEvidence(DisclosureEvidence):
    """The evidence of ``remote_manifest_unverified``: also the manifest's address.

    ``remote_url`` is None when the file does not say where; the JSON form has the key even so.
    """

    remote_url: str | None = None


@dataclass(frozen=True)
class LabelEvidence(DisclosureEvidence):
    """The evidence of ``label_missing``: also the label search's best match."""

    label: LabelReport | None = None


# --- Reading JSON ---------------------------------------------------------------------------

_T = TypeVar("_T")
_E = TypeVar("_E", bound=enum.Enum)


class _Malformed(ValueError):
    """A field of a disclosure report is missing or of the wrong type; ``path`` names it."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"disclosure report field {path} is {why}")
        self.path = path
        self.why = why


def _object(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError("not a JSON object")
    return value


def _take(
    data: Mapping[str, Any],
    key: str,
    read: Callable[[Any], _T],
    default: Any = None,
    *,
    required: bool = False,
) -> Any:
    """``read(data[key])``; ``default`` when it is absent or null (an error when required)."""
    value = data.get(key)
    if value is None:
        if required:
            raise _Malformed(key, "missing")
        return default
    try:
        return read(value)
    except _Malformed as exc:
        raise _Malformed(f"{key}.{exc.path}", exc.why) from None
    except (TypeError, ValueError) as exc:
        raise _Malformed(key, f"malformed ({exc})") from None


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not an integer: {value!r}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise TypeError(f"not a list: {value!r}")
    return list(value)


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(_str(v) for v in _list(value))


def _each(read: Callable[[Any], _T]) -> Callable[[Any], tuple[_T, ...]]:
    def each(value: Any) -> tuple[_T, ...]:
        return tuple(read(v) for v in _list(value))

    return each


def _enum(kind: type[_E]) -> Callable[[Any], _E]:
    def read(value: Any) -> _E:
        words = ", ".join(str(m.value) for m in kind)
        if not isinstance(value, str):
            raise TypeError(f"not a string: {value!r}")
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"{value!r} is not one of {words}") from None

    return read


def _str_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((_str(k), _str(v)) for k, v in _object(value).items())


def _box(value: Any) -> tuple[int, int, int, int]:
    items = _list(value)
    if len(items) != 4:
        raise TypeError(f"not 4 integers: {value!r}")
    return (_int(items[0]), _int(items[1]), _int(items[2]), _int(items[3]))


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, FoundSourceType | LabelReport):
        return value.to_json()
    return value


_EVIDENCE_READERS: Mapping[str, Callable[[Any], Any]] = {
    "verdict": _str,
    "c2pa_state": _str,
    "failures": _strs,
    "source_types": _each(FoundSourceType.from_json),
    "signer": _str,
    "xmp_source_type": _str,
    "xmp_raw": _str,
    "xmp_where": _str,
    "conflict": _str,
    "missing": _str,
    "provenance": _strs,
    "remote_url": _str,
    "label": LabelReport.from_json,
}
"""How each field of a finding's evidence is read from its JSON form."""
