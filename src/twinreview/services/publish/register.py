"""The publisher's signed register of what went out, and what of it is out of consent now.

:class:`PublishRegister` appends one signed ``published`` entry (``core.publish.register``) per file
to the publisher's own log in the workspace, under the same signing context as a decision (the
workspace id, the roster head, the heads of the other logs this device verified). Publishing
calls :meth:`PublishRegister.ready` before it signs anything and :meth:`PublishRegister.record`
before the files are moved into place.

:func:`published_report` reads every verified ``published`` entry of the workspace's logs and
judges each file at a given time (``core.publish.register.judge``): ``twinreview published``, the
report's Published section and the app's Published view all show it.

Public API:
    PublishRegister(keys, *, verifier=None, trust=None, clock=None): ``ready(ws)``,
        ``record(ws, items) -> list[Entry]``.
    RegisterError: the register cannot be written (one line).
    published_records(report) -> list[PublishedRecord]
    published_report(ws, *, at=None, report=None) -> PublishedReport
    PublishedReport: at, judgements (out of consent first), ``out``, ``to_json()``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twinreview.core.approval.policy import parse_timestamp
from twinreview.core.errors import TwinreviewError, iso_utc
from twinreview.core.logs.log import Entry, LogError, LogWriter
from twinreview.core.logs.verify import NOTICES, VerifyReport, verify_workspace
from twinreview.core.publish.register import (
    KIND,
    Judgement,
    PublishedRecord,
    PublishedState,
    judge,
)
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionError, signing_context
from twinreview.services.keys import KeysError, KeyService
from twinreview.services.status import verified_decisions
from twinreview.services.trust import TrustStore, Verifier


class RegisterError(TwinreviewError):
    """The publisher's register cannot be written; ``str(err)`` is one line."""


class PublishRegister:
    """Signs ``published`` entries with this device's reviewer key into its own log."""

    def __init__(
        self,
        keys: KeyService,
        *,
        verifier: Verifier | None = None,
        trust: TrustStore | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        """Record with ``keys`` (the publisher's reviewer key, from the OS keyring).

        Args:
            keys: The identity and signing key.
            verifier: Verifies the logs for the heads an entry names (default: this device's).
            trust: The pinned workspace owners (default: this device's).
            clock: Timestamps (tests pass a fixed one).
        """
        self._keys = keys
        self._verifier = verifier or Verifier.default()
        self._trust = trust or TrustStore.default()
        self._clock = clock

    def ready(self, ws: Workspace) -> str:
        """Check that this device can record in ``ws``; returns the publisher's principal.

        Raises:
            RegisterError: no reviewer key, the workspace's owner is not pinned, or the signed
                roster does not list this key.
        """
        return self._context(ws)[0]

    def record(self, ws: Workspace, items: Sequence[Mapping[str, Any]]) -> list[Entry]:
        """Append one signed ``published`` entry per item (fields of ``core.publish.register``).

        Raises:
            RegisterError: as :meth:`ready`, or the log cannot be written.
        """
        principal, role, signing, key, name = self._context(ws)
        writer = LogWriter.for_workspace(
            ws.root,
            key,
            principal,
            role,
            display_name=name,
            clock=self._clock,
            context=signing.fields,
        )
        try:
            return [writer.append(KIND, dict(item)) for item in items]
        except LogError as exc:
            raise RegisterError(str(exc)) from None
        except OSError as exc:
            raise RegisterError(f"cannot write your log ({exc.strerror or exc})") from None

    def _context(self, ws: Workspace) -> tuple[str, str, Any, Any, str]:
        try:
            identity, key = self._keys.signer()
        except KeysError as exc:
            raise RegisterError(
                f"publishing records each file in your signed log, and {exc}"
            ) from None
        try:
            signing = signing_context(ws, self._verifier, self._trust, key.public)
        except DecisionError as exc:
            raise RegisterError(str(exc)) from None
        state = signing.state
        person = state.person(identity.principal)
        if person is None or not state.signer_allowed(identity.principal, key.public):
            raise RegisterError(
                f"publishing records each file in your signed log, but the signed roster does not "
                f"list {identity.principal} with this device's key {key.public.fingerprint}"
            )
        return identity.principal, person.role, signing, key, identity.display_name


def published_records(report: VerifyReport) -> list[PublishedRecord]:
    """Every verified ``published`` entry, oldest first (a malformed signed one is left out)."""
    out: list[PublishedRecord] = []
    for entry in report.merged():
        if entry.kind != KIND:
            continue
        try:
            ts = parse_timestamp(entry.payload.get("ts"))
            out.append(PublishedRecord.from_entry(entry.payload, entry.hash, ts))
        except (TypeError, ValueError):
            continue
    out.sort(key=lambda r: (r.ts, r.log, r.seq))
    return out


@dataclass(frozen=True)
class PublishedReport:
    """Every published file of a workspace and where it stands.

    Attributes:
        at: The time it was judged at.
        judgements: One per published file: out of consent first, then take down by (soonest
            first), then in consent; newest first within each.
        problems: Verification problems of the logs (the register may be incomplete).
        notices: What verification reports for everyone to see without anything failing (a
            model's key reset by the owner, an accepted gap, a sync conflict copy): said, never
            counted as a problem of the logs. A reset's effect on a published file is among
            that file's reasons.
    """

    at: dt.datetime
    judgements: tuple[Judgement, ...]
    problems: tuple[str, ...] = field(default=())
    notices: tuple[str, ...] = field(default=())

    @property
    def out(self) -> list[Judgement]:
        """The files out of consent."""
        return [j for j in self.judgements if j.out]

    def counts(self) -> dict[str, int]:
        """How many files in each state (every state listed)."""
        out = {s.value: 0 for s in PublishedState}
        for j in self.judgements:
            out[j.state.value] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        """The document ``twinreview published --json`` prints."""
        return {
            "at": iso_utc(self.at, "auto"),
            "counts": self.counts(),
            "published": [j.to_json() for j in self.judgements],
            "verification_problems": list(self.problems),
            "notices": list(self.notices),
        }


_ORDER = {
    PublishedState.OUT_OF_CONSENT: 0,
    PublishedState.TAKE_DOWN_BY: 1,
    PublishedState.IN_CONSENT: 2,
}


def _rank(j: Judgement) -> tuple[int, dt.date, float]:
    soonest = j.take_down_by if j.state is PublishedState.TAKE_DOWN_BY else None
    return _ORDER[j.state], soonest or dt.date.max, -j.record.ts.timestamp()


def published_report(
    ws: Workspace, *, at: dt.datetime | None = None, report: VerifyReport | None = None
) -> PublishedReport:
    """Judge every file the workspace's signed logs say was published.

    Args:
        ws: The workspace.
        at: When to judge (default: now); her end date holds through that whole day, UTC.
        report: A verification to reuse (``services.trust.Verifier``); default: a plain one.
    """
    when = at or dt.datetime.now(dt.UTC)
    report = report or verify_workspace(ws.root)
    decisions = verified_decisions(report)
    state = report.roster.current
    names = {
        mid: person.display_name
        for mid in ws.models
        if state is not None and (person := state.model_person(mid)) is not None
    }
    people = {
        principal: person.display_name
        for roster_state in report.roster.states
        for principal, person in roster_state.persons.items()
    }
    judged = [
        judge(r, report.roster, decisions, when, model_name=names.get(r.model), names=people)
        for r in published_records(report)
    ]
    ordered = sorted(judged, key=_rank)
    problems = tuple(p.message for p in report.problems if p.kind not in NOTICES)
    notices = tuple(p.message for p in report.problems if p.kind in NOTICES)
    return PublishedReport(when, tuple(ordered), problems, notices)
