"""The ``org.twinreview.signoff`` C2PA assertion: who cleared a published image, by entry hash.

A published image carries, inside its signed C2PA manifest, the record of the review that
cleared it: the workspace, the sha256 of the bytes that were reviewed and the digest of their
image data (``core.publish.imagedigest``, which the published copy keeps unless a label was
stamped), the label's box when one was, the model's consent it went out under (her consent entry's
hash, uses, purpose, end date), and for each decision that cleared them the principal, role, key
fingerprint, the log entry's seq, hash and time, and the roster head it was signed under.
``twinreview check-published`` looks each entry up in an export of the signed logs; the assertion
itself proves nothing without them.

Also here: choosing the digital source type a published copy declares (pure, from what the file
and its sidecar already say).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from twinreview.core.disclosure.vocabulary import classify
from twinreview.core.errors import TwinreviewError

LABEL = "org.twinreview.signoff"
FORMAT_VERSION = 2
# Version 1 had no image digest, label box or consent; it is still read.
READ_VERSIONS = frozenset({1, 2})

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = IPTC + "trainedAlgorithmicMedia"
COMPOSITE = IPTC + "compositeWithTrainedAlgorithmicMedia"
# Sidecar values that say the image is a composite with AI-generated parts.
_COMPOSITE_WORDS = frozenset({"composite", "compositewithtrainedalgorithmicmedia", COMPOSITE})


class SignoffError(TwinreviewError, ValueError):
    """A sign-off assertion is missing fields or malformed; one line for the user."""


@dataclass(frozen=True)
class SignedDecision:
    """One decision that cleared the asset, as the assertion names it.

    Attributes:
        principal: Who signed it.
        role: Their role then.
        key: Fingerprint of the signing device key (also the log's name).
        seq: Its position in that log.
        entry_hash: sha256 of the full log line.
        ts: Its time, as signed.
        roster: (seq, hash) of the roster head it was signed under.
    """

    principal: str
    role: str
    key: str
    seq: int
    entry_hash: str
    ts: str
    roster: tuple[int, str] | None

    def to_json(self) -> dict[str, Any]:
        """The assertion's form."""
        return {
            "principal": self.principal,
            "role": self.role,
            "key": self.key,
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "ts": self.ts,
            "roster_head": (
                {"seq": self.roster[0], "hash": self.roster[1]} if self.roster else None
            ),
        }


@dataclass(frozen=True)
class SignedConsent:
    """The model's consent the image was published under, as the assertion names it.

    Attributes:
        entry_hash: sha256 of her signed consent entry in the roster.
        roster_seq: Its place in the roster.
        uses: The uses she allowed (None: any).
        purpose: What for, in her words (None: not recorded).
        expires: Her end date (``YYYY-MM-DD``), or None.
        no_expiry: No end date, by her explicit choice.
    """

    entry_hash: str
    roster_seq: int
    uses: tuple[str, ...] | None
    purpose: str | None
    expires: str | None
    no_expiry: bool = False

    def to_json(self) -> dict[str, Any]:
        """The assertion's form."""
        return {
            "entry_hash": self.entry_hash,
            "roster_seq": self.roster_seq,
            "uses": list(self.uses) if self.uses is not None else None,
            "purpose": self.purpose,
            "expires": self.expires,
            "no_expiry": self.no_expiry,
        }

    @classmethod
    def from_json(cls, value: object) -> SignedConsent | None:
        """Parse the ``consent`` member (None when absent).

        Raises:
            SignoffError: malformed.
        """
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise SignoffError(f"the {LABEL} assertion: consent is not a table")
        seq = value.get("roster_seq")
        uses = value.get("uses")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise SignoffError(f"the {LABEL} assertion: consent.roster_seq is not a number")
        if uses is not None and (
            not isinstance(uses, list) or not all(isinstance(u, str) for u in uses)
        ):
            raise SignoffError(f"the {LABEL} assertion: consent.uses is not a list of uses")
        purpose, expires = value.get("purpose"), value.get("expires")
        return cls(
            entry_hash=_hex(value.get("entry_hash"), "consent.entry_hash"),
            roster_seq=seq,
            uses=tuple(uses) if uses is not None else None,
            purpose=purpose if isinstance(purpose, str) else None,
            expires=expires if isinstance(expires, str) else None,
            no_expiry=value.get("no_expiry") is True,
        )


@dataclass(frozen=True)
class Signoff:
    """The assertion's content.

    Attributes:
        workspace_id: sha256 of the roster's genesis payload.
        workspace_name: Display only.
        asset: Workspace-relative path of the reviewed file.
        asset_sha256: sha256 of the bytes that were reviewed and approved.
        model: The model the asset is of.
        roster_head: (seq, hash) of the workspace's signed roster when it was published.
        decisions: The decisions that cleared it.
        sidecar_sha256: sha256 of the sidecar the decisions were signed with, if any.
        image_digest: Digest of the reviewed file's image data (None in version 1).
        label_box: ``(x, y, width, height)`` of the visible label stamped by the publisher,
            in the published image's pixels (as shown, after its orientation); None: none was.
        consent: The model's signed consent it was published under (None in version 1).
    """

    workspace_id: str
    workspace_name: str
    asset: str
    asset_sha256: str
    model: str
    roster_head: tuple[int, str] | None
    decisions: tuple[SignedDecision, ...]
    sidecar_sha256: str | None = None
    image_digest: str | None = None
    label_box: tuple[int, int, int, int] | None = None
    consent: SignedConsent | None = None

    def to_json(self) -> dict[str, Any]:
        """The assertion data (``{"label": LABEL, "data": ...}`` in the manifest)."""
        return {
            "v": FORMAT_VERSION,
            "workspace_id": self.workspace_id,
            "workspace_name": self.workspace_name,
            "asset": self.asset,
            "asset_sha256": self.asset_sha256,
            "sidecar_sha256": self.sidecar_sha256,
            "image_digest": self.image_digest,
            # An object, not a list: C2PA's CBOR turns a list of small numbers into bytes.
            "label_box": (
                dict(zip(_BOX_KEYS, self.label_box, strict=True))
                if self.label_box is not None
                else None
            ),
            "model": self.model,
            "roster_head": (
                {"seq": self.roster_head[0], "hash": self.roster_head[1]}
                if self.roster_head
                else None
            ),
            "decisions": [d.to_json() for d in self.decisions],
            "consent": self.consent.to_json() if self.consent is not None else None,
        }

    @classmethod
    def from_json(cls, data: object) -> Signoff:
        """Parse an assertion read back from a manifest.

        Raises:
            SignoffError: a field is missing or of the wrong type.
        """
        if not isinstance(data, Mapping) or data.get("v") not in READ_VERSIONS:
            raise SignoffError(f"the {LABEL} assertion is of an unknown version")
        decisions_raw = data.get("decisions")
        if not isinstance(decisions_raw, list) or not decisions_raw:
            raise SignoffError(f"the {LABEL} assertion names no decision")
        decisions = tuple(_decision(d, i) for i, d in enumerate(decisions_raw))
        sidecar = data.get("sidecar_sha256")
        digest = data.get("image_digest")
        return cls(
            workspace_id=_hex(data.get("workspace_id"), "workspace_id"),
            workspace_name=_text(data.get("workspace_name", ""), "workspace_name"),
            asset=_text(data.get("asset"), "asset"),
            asset_sha256=_hex(data.get("asset_sha256"), "asset_sha256"),
            model=_text(data.get("model"), "model"),
            roster_head=_head(data.get("roster_head"), "roster_head"),
            decisions=decisions,
            sidecar_sha256=sidecar if isinstance(sidecar, str) else None,
            image_digest=_hex(digest, "image_digest") if digest is not None else None,
            label_box=_box(data.get("label_box")),
            consent=SignedConsent.from_json(data.get("consent")),
        )


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise SignoffError(f"the {LABEL} assertion: {name} is missing or not text")
    return value


def _hex(value: object, name: str) -> str:
    text = _text(value, name).lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise SignoffError(f"the {LABEL} assertion: {name} is not a sha256")
    return text


_BOX_KEYS = ("x", "y", "width", "height")


def _box(value: object) -> tuple[int, int, int, int] | None:
    if value is None:
        return None
    numbers = [value.get(k) for k in _BOX_KEYS] if isinstance(value, Mapping) else []
    if (
        len(numbers) != 4
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in numbers)
        or numbers[2] == 0
        or numbers[3] == 0
    ):
        raise SignoffError(f"the {LABEL} assertion: label_box is not a box (x, y, width, height)")
    x, y, w, h = (int(v) for v in numbers)  # type: ignore[arg-type]
    return x, y, w, h


def _head(value: object, name: str) -> tuple[int, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise SignoffError(f"the {LABEL} assertion: {name} is not a head")
    seq = value.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise SignoffError(f"the {LABEL} assertion: {name}.seq is not a number")
    return seq, _hex(value.get("hash"), f"{name}.hash")


def _decision(value: object, index: int) -> SignedDecision:
    where = f"decisions[{index}]"
    if not isinstance(value, Mapping):
        raise SignoffError(f"the {LABEL} assertion: {where} is not a table")
    seq = value.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise SignoffError(f"the {LABEL} assertion: {where}.seq is not a number")
    return SignedDecision(
        principal=_text(value.get("principal"), f"{where}.principal"),
        role=_text(value.get("role"), f"{where}.role"),
        key=_text(value.get("key"), f"{where}.key"),
        seq=seq,
        entry_hash=_hex(value.get("entry_hash"), f"{where}.entry_hash"),
        ts=_text(value.get("ts"), f"{where}.ts"),
        roster=_head(value.get("roster_head"), f"{where}.roster_head"),
    )


def choose_source_type(
    xmp_value: str | None,
    c2pa_values: Iterable[str],
    sidecar: Mapping[str, Any] | None,
) -> str:
    """The digital source type a published copy declares; never one that contradicts the file.

    Args:
        xmp_value: The IPTC value the file's XMP states (vocabulary URI), if any.
        c2pa_values: The values its active C2PA manifest states.
        sidecar: The asset's JSON sidecar: ``digital_source_type`` (a URI or its last segment)
            or ``"composite": true`` ask for compositeWithTrainedAlgorithmicMedia.

    Returns:
        The value already stated when there is one, else the sidecar's wish, else
        trainedAlgorithmicMedia.

    Raises:
        SignoffError: the file states a value that is not AI generation, or two different ones,
            or the sidecar asks for one the file contradicts.
    """
    stated = [v for v in (xmp_value, *c2pa_values) if v]
    for value in stated:
        if not classify(value).generative:
            raise SignoffError(
                f"its metadata declares the digital source type {value}, which is not AI "
                "generation; refusing to contradict it"
            )
    distinct = sorted(set(stated))
    if len(distinct) > 1:
        raise SignoffError(
            f"its metadata declares two digital source types ({', '.join(distinct)}); "
            "refusing to pick one"
        )
    wished = _sidecar_wish(sidecar)
    if distinct:
        if wished is not None and wished != distinct[0]:
            raise SignoffError(
                f"its sidecar asks for {wished}, but the file already declares {distinct[0]}"
            )
        return distinct[0]
    return wished or TRAINED


def _sidecar_wish(sidecar: Mapping[str, Any] | None) -> str | None:
    if not sidecar:
        return None
    raw = sidecar.get("digital_source_type")
    if isinstance(raw, str) and raw.strip():
        text = raw.strip()
        if text.lower() in _COMPOSITE_WORDS:
            return COMPOSITE
        uri = text if "/" in text else IPTC + text
        info = classify(uri)
        if not info.generative:
            raise SignoffError(
                f"its sidecar names the digital source type {text}, which is not AI generation"
            )
        return info.uri
    if sidecar.get("composite") is True:
        return COMPOSITE
    return None
