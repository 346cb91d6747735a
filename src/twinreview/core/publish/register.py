"""The register of what was published, and whether each published file is still in consent.

Each file ``twinreview publish`` writes adds a signed ``published`` entry to the publisher's own
log (``services.publish.register``). Its fields::

    asset          workspace-relative path of the reviewed file
    sha256         sha256 of its bytes; image_digest: of its image data (core.publish.imagedigest)
    model          the model id; person: her display name then
    output         the published file's name, relative to the output folder
    output_sha256  sha256 of the published file
    label          true when the visible AI label was stamped; label_box {x, y, width, height}
    source_type    the digital source type it declares
    signer         the C2PA signing certificate's subject
    consent        {entry_hash, roster_seq, principal}: her consent entry it went out under
    uses           the uses its sidecar declared then (null: none); categories: its categories
    decisions      [{principal, role, log, seq, hash}]: the approvals that cleared it

The entry's own ``ts`` is the time it went out. Nothing outside the signed logs is needed to list
what went out.

:func:`judge` says, for one record, what holds now (or at any other time): **in consent**;
**in consent until** a date within :data:`WARN_DAYS` days ("take it down by"); or **out of
consent**, with every reason: her consent ended, she withdrew it, a use it was published for is
no longer allowed, content it shows is now excluded, she was removed or reset by the owner (her
consent lapsed), or an approval that cleared it was withdrawn, turned into a reject or moved to
other bytes after publishing.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twinreview.core.approval.consent import norm_use, parse_expiry
from twinreview.core.approval.policy import APPROVE, WITHDRAW, Decision, latest_of
from twinreview.core.errors import as_utc, iso_utc
from twinreview.core.reasons import reasons_text
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import Consent
from twinreview.core.workspace import asset_model_id

KIND = "published"
WARN_DAYS = 30


class PublishedState(enum.StrEnum):
    """Where a published file stands under her consent."""

    IN_CONSENT = "in_consent"
    TAKE_DOWN_BY = "take_down_by"
    OUT_OF_CONSENT = "out_of_consent"


@dataclass(frozen=True)
class ApprovalRef:
    """One approval a published file went out under."""

    principal: str
    role: str
    log: str
    seq: int
    hash: str


@dataclass(frozen=True)
class PublishedRecord:
    """One verified ``published`` entry (see the module docstring for its fields).

    Attributes:
        publisher: Who published it (the entry's principal).
        ts: When it went out (as signed).
        log: The publisher's log (key fingerprint); seq and entry_hash: the entry.
        uses_known: False when the record was made from a sign-off alone (no ``published``
            entry): the uses and categories it went out for are not known then.
    """

    publisher: str
    ts: dt.datetime
    log: str
    seq: int
    entry_hash: str
    asset: str
    sha256: str
    image_digest: str | None
    model: str
    output: str
    output_sha256: str
    label: bool
    consent_hash: str
    consent_seq: int
    consent_principal: str
    uses: tuple[str, ...] | None
    categories: tuple[str, ...]
    approvals: tuple[ApprovalRef, ...]
    signer: str = ""
    person: str = ""
    uses_known: bool = True

    @classmethod
    def from_entry(
        cls, payload: Mapping[str, Any], entry_hash: str, ts: dt.datetime
    ) -> PublishedRecord:
        """Read a ``published`` entry's payload.

        Raises:
            ValueError: a field is missing or of the wrong type (a signed but malformed entry).
        """

        def text(name: str, where: Mapping[str, Any] = payload) -> str:
            value = where.get(name)
            if not isinstance(value, str):
                raise ValueError(f"published entry: {name} is missing or not text")
            return value

        def number(name: str, where: Mapping[str, Any]) -> int:
            value = where.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"published entry: {name} is not a number")
            return value

        consent = payload.get("consent")
        if not isinstance(consent, Mapping):
            raise ValueError("published entry: consent is missing")
        uses = payload.get("uses")
        if uses is not None and not (
            isinstance(uses, list) and all(isinstance(u, str) for u in uses)
        ):
            raise ValueError("published entry: uses must be a list or null")
        categories = payload.get("categories") or []
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise ValueError("published entry: categories must be a list")
        approvals = []
        for item in payload.get("decisions") or []:
            if not isinstance(item, Mapping):
                raise ValueError("published entry: a decision is not a table")
            approvals.append(
                ApprovalRef(
                    text("principal", item),
                    text("role", item),
                    text("log", item),
                    number("seq", item),
                    text("hash", item),
                )
            )
        digest = payload.get("image_digest")
        return cls(
            publisher=text("principal"),
            ts=ts,
            log=text("log"),
            seq=number("seq", payload),
            entry_hash=entry_hash,
            asset=text("asset"),
            sha256=text("sha256"),
            image_digest=digest if isinstance(digest, str) else None,
            # Her consent decides for her asset, whatever model the entry names.
            model=asset_model_id(text("asset")) or text("model"),
            output=text("output"),
            output_sha256=text("output_sha256"),
            label=payload.get("label") is True,
            consent_hash=text("entry_hash", consent),
            consent_seq=number("roster_seq", consent),
            consent_principal=text("principal", consent),
            uses=tuple(uses) if uses is not None else None,
            categories=tuple(categories),
            approvals=tuple(approvals),
            signer=str(payload.get("signer") or ""),
            person=str(payload.get("person") or ""),
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form (``published --json``)."""
        return {
            "asset": self.asset,
            "output": self.output,
            "output_sha256": self.output_sha256,
            "sha256": self.sha256,
            "image_digest": self.image_digest,
            "model": self.model,
            "person": self.person,
            "published_at": iso_utc(self.ts, "auto"),
            "published_by": self.publisher,
            "label": self.label,
            "signer": self.signer,
            "consent": self.consent_hash,
            "uses": list(self.uses) if self.uses is not None else None,
            "entry": {"log": self.log, "seq": self.seq, "hash": self.entry_hash},
        }


@dataclass(frozen=True)
class Judgement:
    """What holds for one published file at one time.

    Attributes:
        record: The published entry.
        state: in consent, take down by a date, or out of consent.
        reasons: Out of consent: one sentence per reason; take down by: why the date.
        take_down_by: The last day it may stay out (her end date), when one is known.
        reasons_to_model: The same reasons told to the model herself ("You withdrew your
            consent ..."), for her own screens.
        publisher_name: The publisher's display name on the roster ("" when not known).
    """

    record: PublishedRecord
    state: PublishedState
    reasons: tuple[str, ...] = ()
    take_down_by: dt.date | None = None
    reasons_to_model: tuple[str, ...] = ()
    publisher_name: str = ""

    @property
    def out(self) -> bool:
        """True when the file is out of consent."""
        return self.state is PublishedState.OUT_OF_CONSENT

    def summary(self) -> str:
        """One line: ``in consent [until DATE]``, ``... take it down by DATE``, ``out of ...``."""
        if self.state is PublishedState.IN_CONSENT:
            return f"in consent until {self.take_down_by}" if self.take_down_by else "in consent"
        if self.state is PublishedState.TAKE_DOWN_BY:
            return f"in consent until {self.take_down_by}: take it down by {self.take_down_by}"
        return "out of consent: " + " ".join(self.reasons)

    def to_json(self) -> dict[str, Any]:
        """One file of ``published --json``."""
        return {
            **self.record.to_json(),
            "state": self.state.value,
            "reasons": list(self.reasons),
            "reasons_to_model": list(self.reasons_to_model),
            "published_by_name": self.publisher_name,
            "take_down_by": self.take_down_by.isoformat() if self.take_down_by else None,
            "summary": self.summary(),
        }


@dataclass(frozen=True)
class _Voice:
    """How a reason speaks of the model: by name, or to her ("you")."""

    name: str
    you: bool = False

    @property
    def subject(self) -> str:
        return "You" if self.you else self.name

    @property
    def possessive(self) -> str:
        return "Your" if self.you else f"{self.name}'s"

    @property
    def her(self) -> str:
        return "your" if self.you else "her"

    @property
    def she(self) -> str:
        return "you" if self.you else "she"

    def verb(self, third: str, second: str) -> str:
        return second if self.you else third


def judge(
    record: PublishedRecord,
    roster: SignedRoster,
    decisions: Iterable[Decision],
    at: dt.datetime,
    *,
    model_name: str | None = None,
    names: Mapping[str, str] | None = None,
) -> Judgement:
    """Whether ``record``'s file is in consent at ``at``, by the roster and decisions now.

    Args:
        record: The published entry.
        roster: The signed roster (its current state is her consent now).
        decisions: Verified decisions (any asset; those about the record's asset are used).
        at: The time to judge at (her end date holds through that whole day, UTC).
        model_name: Her display name now, for the sentences (default: as published).
        names: Display names of the approvers by principal, for the sentences.
    """
    name = model_name or record.person or record.model
    people = names or {}
    reasons, until = _reasons(record, roster, decisions, at, _Voice(name), people)
    to_her, _ = _reasons(record, roster, decisions, at, _Voice(name, you=True), people)
    publisher = people.get(record.publisher, "")
    if reasons:
        return Judgement(
            record, PublishedState.OUT_OF_CONSENT, tuple(reasons), until, tuple(to_her), publisher
        )
    if until is not None and until - as_utc(at).date() < dt.timedelta(days=WARN_DAYS):
        return Judgement(
            record,
            PublishedState.TAKE_DOWN_BY,
            (f"{name}'s consent ends on {until}.",),
            until,
            (f"Your consent ends on {until}.",),
            publisher,
        )
    return Judgement(record, PublishedState.IN_CONSENT, (), until, (), publisher)


def _reasons(
    record: PublishedRecord,
    roster: SignedRoster,
    decisions: Iterable[Decision],
    at: dt.datetime,
    voice: _Voice,
    names: Mapping[str, str],
) -> tuple[list[str], dt.date | None]:
    """Why the file is out of consent (empty: it is not), and her end date when one is known."""
    reasons: list[str] = []
    until: dt.date | None = None
    state = roster.current
    consent = state.consent_for(record.model) if state is not None else None
    resets = [
        r
        for r in (state.resets if state is not None else ())
        if record.model in r.models and r.seq > record.consent_seq
    ]
    if resets:
        # A key she never signed now speaks for her: what went out under her earlier consent
        # needs her consent again, given after the reset (and publishing again).
        first = resets[0]
        reasons.append(
            f"{voice.possessive} key was reset by the owner on {first.date} (roster entry "
            f"{first.seq}), after it went out: the consent it was published under lapsed."
        )
    elif consent is None:
        reasons.append(_lapsed(record, roster, voice))
    elif consent.withdrawn:
        reasons.append(f"{voice.subject} withdrew {voice.her} consent on {_day(consent.ts)}.")
    else:
        reasons.extend(_terms(record, consent, voice))
        until, ended = _end(consent, at)
        if ended:
            reasons.append(f"{voice.possessive} consent ended on {consent.expires}.")
    reasons.extend(_approvals(record, decisions, voice, names))
    return reasons, until


def _day(ts: str) -> str:
    return ts[:10] if len(ts) >= 10 else ts


def _end(consent: Consent, at: dt.datetime) -> tuple[dt.date | None, bool]:
    try:
        expires = parse_expiry(consent.expires)
    except ValueError:
        return None, True
    if expires is None:
        return None, False
    return dt.date.fromisoformat(consent.expires or ""), as_utc(at) >= expires


def _lapsed(record: PublishedRecord, roster: SignedRoster, voice: _Voice) -> str:
    """Why her consent no longer counts: the roster entry after which it stopped."""
    for state in roster.states[record.consent_seq + 1 :]:
        if state.consent_for(record.model) is not None:
            continue
        entry = next((e for e in roster.entries if e.seq == state.seq and e.ok), None)
        when = _day(str(entry.payload.get("ts"))) if entry is not None else "?"
        kind = entry.kind if entry is not None else None
        if kind == "remove_person":
            return (
                f"{voice.subject} {voice.verb('was', 'were')} removed from the roster on "
                f"{when}: {voice.her} consent lapsed (roster entry {state.seq})."
            )
        return (
            f"{voice.possessive} entry was reset by the owner on {when}: {voice.her} consent "
            f"lapsed until {voice.she} {voice.verb('gives', 'give')} it again (roster entry "
            f"{state.seq})."
        )
    return f"{voice.possessive} consent no longer counts on the signed roster."


def _terms(record: PublishedRecord, consent: Consent, voice: _Voice) -> list[str]:
    if consent.entry_hash == record.consent_hash or not record.uses_known:
        return []
    out: list[str] = []
    if consent.uses is not None:
        for use in record.uses or ("(no intended use)",):
            if norm_use(use) not in consent.uses:
                allowed = ", ".join(consent.uses) or "no use"
                out.append(
                    f"{voice.subject} no longer {voice.verb('allows', 'allow')} the use {use!r} "
                    f"it was published for ({voice.she} now {voice.verb('allows', 'allow')} "
                    f"{allowed}, since {_day(consent.ts)})."
                )
    for category in record.categories:
        if norm_use(category) in consent.exclude:
            out.append(
                f"{voice.subject} now {voice.verb('excludes', 'exclude')} {category!r}, which "
                "it shows."
            )
    return out


def _approvals(
    record: PublishedRecord, decisions: Iterable[Decision], voice: _Voice, names: Mapping[str, str]
) -> list[str]:
    about = [d for d in decisions if d.asset == record.asset]
    out: list[str] = []
    for ref in record.approvals:
        mine: Sequence[Decision] = [d for d in about if d.principal == ref.principal]
        if not mine:
            continue
        last = latest_of(list(mine))
        if last.entry_hash == ref.hash or (
            last.decision == APPROVE and last.sha256 == record.sha256
        ):
            continue
        if ref.role == "model":
            who = "You" if voice.you else f"{voice.name} (model)"
        else:
            who = f"{names.get(ref.principal, ref.principal)} ({ref.role})"
        when = iso_utc(last.ts, "auto")[:10]
        if last.decision == WITHDRAW:
            out.append(f"{who} withdrew the approval on {when}.")
        elif last.decision == APPROVE:
            out.append(f"{who} approved other bytes of it on {when}; this copy is not them.")
        else:
            reasons = f" ({reasons_text(last.reasons)})" if last.reasons else ""
            out.append(f"{who} turned the approval into a reject on {when}{reasons}.")
    return out
