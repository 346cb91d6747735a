"""The disclosure report: what one file says about its own AI disclosure, with the evidence.

All types are frozen dataclasses, safe to share between threads, and serialise to the
``disclosure`` object of ``twinreview inspect --json`` / ``twinreview scan --json``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from twinreview.core.disclosure.vocabulary import classify


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
            actions[0] (c2pa.created) .digitalSourceType``.
        manifest: Label of the manifest that holds it.
        active: True when that manifest is the active one (the asset's own claim).
        generative: True when the value declares generative AI.
        in_vocabulary: True when the value is a vocabulary URI.
    """

    value: str
    where: str
    manifest: str
    active: bool
    generative: bool
    in_vocabulary: bool

    def to_json(self) -> dict[str, Any]:
        """Return ``{"value", "where"}`` as ``inspect --json`` prints it."""
        return {"value": self.value, "where": self.where}


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
        notes: Plain sentences for the reviewer.
        training_mining: The active manifest's training-and-data-mining entries as
            ``(entry, use)``, entry names without their ``cawg.``/``c2pa.`` prefix
            (``ai_training``, ``notAllowed``); read from ``cawg.training-mining`` or the older
            ``c2pa.training-mining``.
    """

    state: C2paState
    failures: tuple[str, ...] = ()
    source_types: tuple[FoundSourceType, ...] = ()
    signer: str | None = None
    signer_issuer: str | None = None
    generator: str | None = None
    software_agents: tuple[str, ...] = ()
    remote_url: str | None = None
    notes: tuple[str, ...] = ()
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
        values: Every value found, in reading order (embedded packets before the sidecar).
        provenance: ``dcterms:provenance`` values (manifest references).
        packets: Where XMP packets were found, e.g. ``("JPEG APP1", "sidecar")``.
        notes: Plain sentences for the reviewer (unreadable packets, non-vocabulary values, ...).
    """

    source_type: str | None = None
    raw: str | None = None
    where: str | None = None
    values: tuple[XmpValue, ...] = ()
    provenance: tuple[str, ...] = ()
    packets: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the ``xmp`` object of ``inspect --json`` (plus where and provenance)."""
        return {
            "source_type": self.source_type,
            "raw": self.raw,
            "where": self.where,
            "provenance": list(self.provenance),
        }


@dataclass(frozen=True)
class LabelReport:
    """Result of looking for the workspace's visible AI label in the image corners.

    Attributes:
        found: True when the label was found.
        corner: ``top-left``, ``top-right``, ``bottom-left`` or ``bottom-right`` of the best match.
        score: Normalised cross-correlation of the best match (-1..1).
        scale: Label width as a fraction of the image width, for the best match.
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
    def from_json(cls, data: Mapping[str, Any]) -> LabelReport:
        """Inverse of :meth:`to_json`."""
        box = data.get("box")
        score, scale = data.get("score"), data.get("scale")
        return cls(
            found=bool(data.get("found", False)),
            corner=_opt_str(data.get("corner")),
            score=float(score) if isinstance(score, int | float) else None,
            scale=float(scale) if isinstance(scale, int | float) else None,
            box=(
                (int(box[0]), int(box[1]), int(box[2]), int(box[3]))
                if isinstance(box, list) and len(box) == 4
                else None
            ),
            error=_opt_str(data.get("error")),
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
        format: Sniffed format (``jpeg``, ...) or None.
        error: Why the file could not be read as an image at all, else None.
        conflict: Description of contradictory source types, else None.
        manifest_stripped: True when XMP references an embedded manifest that is not there.
        trust_configured: True when the workspace named trust anchors for the C2PA check.
    """

    verdict: Verdict
    c2pa: C2paReport
    xmp: XmpReport
    label: LabelReport | None = None
    notes: tuple[str, ...] = ()
    format: str | None = None
    error: str | None = None
    conflict: str | None = None
    manifest_stripped: bool = False
    trust_configured: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the ``disclosure`` object of ``inspect --json``."""
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
    def from_json(
        cls, data: Mapping[str, Any], *, trust_configured: bool = False
    ) -> DisclosureReport:
        """Rebuild a report from :meth:`to_json` output (e.g. a cached scan result).

        Facts not in the JSON are derived: a source type's ``active`` flag from its ``where``,
        ``generative`` and ``in_vocabulary`` from the vocabulary. Never raises for odd input:
        unknown states or verdicts fall back to ``absent`` / ``missing``.
        """
        c2pa = _mapping(data.get("c2pa"))
        xmp = _mapping(data.get("xmp"))
        label = data.get("label")
        source_types = []
        for item in _seq(c2pa.get("source_types")):
            item = _mapping(item)
            value, where = str(item.get("value", "")), str(item.get("where", ""))
            info = classify(value)
            source_types.append(
                FoundSourceType(
                    value=info.uri,
                    where=where,
                    manifest=where.split(":", 1)[0].rsplit(" ", 1)[-1],
                    active=where.startswith("active manifest"),
                    generative=info.generative,
                    in_vocabulary=info.in_vocabulary,
                )
            )
        xmp_raw = _opt_str(xmp.get("raw"))
        xmp_where = _opt_str(xmp.get("where")) or "XMP"
        return cls(
            verdict=_enum(Verdict, data.get("verdict"), Verdict.MISSING),
            c2pa=C2paReport(
                state=_enum(C2paState, c2pa.get("state"), C2paState.ABSENT),
                failures=tuple(str(f) for f in _seq(c2pa.get("failures"))),
                source_types=tuple(source_types),
                signer=_opt_str(c2pa.get("signer")),
                signer_issuer=_opt_str(c2pa.get("signer_issuer")),
                generator=_opt_str(c2pa.get("generator")),
                software_agents=tuple(str(a) for a in _seq(c2pa.get("software_agents"))),
                remote_url=_opt_str(c2pa.get("remote_url")),
                training_mining=tuple(
                    (str(k), str(v)) for k, v in _mapping(c2pa.get("training_mining")).items()
                ),
            ),
            xmp=XmpReport(
                source_type=_opt_str(xmp.get("source_type")),
                raw=xmp_raw,
                where=_opt_str(xmp.get("where")),
                values=(XmpValue(xmp_raw, "Iptc4xmpExt:DigitalSourceType", xmp_where),)
                if xmp_raw is not None
                else (),
                provenance=tuple(str(p) for p in _seq(xmp.get("provenance"))),
            ),
            label=None if not isinstance(label, Mapping) else LabelReport.from_json(label),
            notes=tuple(str(n) for n in _seq(data.get("notes"))),
            conflict=_opt_str(data.get("conflict")),
            manifest_stripped=bool(data.get("manifest_stripped", False)),
            trust_configured=trust_configured,
        )


_E = TypeVar("_E", bound=enum.Enum)


def _enum(kind: type[_E], value: Any, default: _E) -> _E:
    try:
        return kind(value)
    except ValueError:
        return default


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _seq(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
