"""The consent policy of a model and the pure evaluation of an asset's status under it.

A model's consent is her own: a ``consent`` entry she signs into the signed roster
(``core.roster.log``; ``twinreview consent``) sets who must approve, her veto, the expiry and the
allowed uses. :func:`policy_from_consent` turns it into a :class:`ModelPolicy`. Plain files
(``model.toml``) carry display data only. What consent allows (expiry, uses) is checked by
:mod:`twinreview.core.approval.consent`.

An asset's declared use comes from its JSON sidecar, fields ``intended_use`` and ``use``: each one
string or a list of strings. Every use either field declares must be allowed; a field in any other
form blocks approval, as does a ``categories`` field that is not a list of strings.

Evaluation (:func:`evaluate`) is pure: it takes the verified decisions about one asset, the sha256
of the file (and of its sidecar) as it is now, the policy, who the roster allows to decide for the
model, and ``now``; it returns one of:

- **blocked** (verification): a log holding decisions about this asset failed verification, so the
  decisions cannot be trusted either way;
- **rejected**: a counting reject by a principal whose role is required, or by the model itself when
  the policy gives the model a veto (even when the model's approval is not required);
- **blocked** (policy): no consent yet, consent withdrawn or expired, the declared use is not
  allowed (or not declared while uses are restricted), or no one on the roster may sign for a
  required role;
- **pending**: some required role has no counting approval yet (listed);
- **cleared**: every required role has a counting approval and nothing above applies.

A decision *counts* when it is about the current bytes and sidecar and its principal was allowed,
by the roster it was signed under, to decide for this model; of those, only the latest decision of
each principal counts (a later decision supersedes, nothing is deleted). Within one log the order is
the log's ``seq``; across a principal's several device logs, causal order: the later decision is
the one whose device had seen the other (see :func:`latest_of`). Clocks never decide. Decisions
about other bytes are kept as ``stale`` so that the reviewer sees that the file changed.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twinreview.core.approval.consent import (
    CONSENT_EXPIRED,
    CONTENT_EXCLUDED,
    SIDECAR_TERMS_UNREADABLE,
    UNREADABLE_CATEGORIES,
    UNREADABLE_USE,
    USE_NOT_ALLOWED,
    consent_problems,
    norm_use,
    parse_expiry,
)
from twinreview.core.errors import TwinreviewError, as_utc, iso_utc
from twinreview.core.findings import (
    MATCHES_OTHER_MODEL,
    NEAR_COPY_OF_REFERENCE,
    RESUBMITTED_REJECTED,
    UNREADABLE,
    Finding,
    Severity,
)
from twinreview.core.reasons import REASON_CODES, reasons_text
from twinreview.core.roster.model import Consent

ROLES: tuple[str, ...] = ("model", "agent", "brand")
DEFAULT_REQUIRED_ROLES: tuple[str, ...] = ("model", "agent")

APPROVE = "approve"
REJECT = "reject"
WITHDRAW = "withdraw"
DECISIONS: tuple[str, ...] = (APPROVE, REJECT)

# Finding kinds of the disclosure checks. Kept as strings here so that this module does
# not depend on the disclosure code being present.
DISCLOSURE_KINDS: frozenset[str] = frozenset(
    {
        "missing_disclosure",
        "partial_disclosure",
        "tampered_provenance",
        "disclosure_conflict",
        "credential_problem",
        "remote_manifest_unverified",
        "manifest_stripped",
        "label_missing",
    }
)

_KIND_TO_REASON: Mapping[str, str] = {
    NEAR_COPY_OF_REFERENCE: "copy_of_reference",
    MATCHES_OTHER_MODEL: "likeness_wrong",
    RESUBMITTED_REJECTED: "previously_rejected",
    UNREADABLE: "quality",
    CONSENT_EXPIRED: "not_consented_use",
    USE_NOT_ALLOWED: "not_consented_use",
    CONTENT_EXCLUDED: "not_consented_use",
    SIDECAR_TERMS_UNREADABLE: "not_consented_use",
    **{kind: "no_disclosure" for kind in DISCLOSURE_KINDS},
}

USE_FIELDS: tuple[str, ...] = ("intended_use", "use")
CATEGORIES_FIELD = "categories"


class PolicyError(TwinreviewError, ValueError):
    """A consent policy cannot be read. ``str(err)`` is one line for the user."""


def validate_reasons(codes: Iterable[str]) -> tuple[str, ...]:
    """Return ``codes`` de-duplicated in order, checking each against :data:`REASON_CODES`.

    Raises:
        ValueError: naming the first unknown code and the known ones.
    """
    out: list[str] = []
    for code in codes:
        if code not in REASON_CODES:
            known = ", ".join(REASON_CODES)
            raise ValueError(f"unknown reason code {code!r} (known: {known})")
        if code not in out:
            out.append(code)
    return tuple(out)


def suggest_reasons(findings: Iterable[Finding]) -> list[str]:
    """Reason codes to preselect for a reject, from the findings the reviewer is shown.

    Only warn and block findings suggest a reason: info findings (duplicates in a batch) are no
    reason to reject. For ``resubmitted_rejected`` the earlier rejection's own reason codes
    (evidence ``reasons``) are suggested as well. The order is that of :data:`REASON_CODES`.
    """
    chosen: set[str] = set()
    for f in findings:
        if f.severity < Severity.WARN:
            continue
        code = _KIND_TO_REASON.get(f.kind)
        if code is not None:
            chosen.add(code)
        if f.kind == RESUBMITTED_REJECTED:
            earlier = f.evidence.get("reasons")
            if isinstance(earlier, (list, tuple)):
                chosen.update(str(r) for r in earlier if str(r) in REASON_CODES)
    return [code for code in REASON_CODES if code in chosen]


@dataclass(frozen=True)
class ModelPolicy:
    """The consent policy of one model.

    Attributes:
        model_id: The model it belongs to.
        required_roles: Roles that must each have at least one approval.
        model_veto: When true, a reject by a principal with role ``model`` always stands.
        expires: End of consent (aware, UTC); None when it does not expire. A bare date in
            the consent means the end of that day (UTC).
        expires_label: The expiry as the policy states it (``2027-06-30``), for messages.
        allowed_uses: Allowed uses (lower case); None when any use is allowed.
        excluded: Content categories she excludes (lower case).
        purpose: What she gave it for, in her words (None: not recorded).
    """

    model_id: str
    required_roles: tuple[str, ...] = DEFAULT_REQUIRED_ROLES
    model_veto: bool = True
    expires: dt.datetime | None = None
    expires_label: str | None = None
    allowed_uses: tuple[str, ...] | None = None
    excluded: tuple[str, ...] = ()
    purpose: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``status --json`` and reports."""
        return {
            "model": self.model_id,
            "required_roles": list(self.required_roles),
            "model_veto": self.model_veto,
            "expires": self.expires_label,
            "expires_at": iso_utc(self.expires, "auto") if self.expires else None,
            "allowed_uses": list(self.allowed_uses) if self.allowed_uses is not None else None,
            "excluded": list(self.excluded),
            "purpose": self.purpose,
        }


def policy_from_consent(model_id: str, consent: Consent | None) -> ModelPolicy | PolicyError:
    """The policy a model's own signed consent sets, or why nothing can be cleared.

    Returns:
        The policy; a :class:`PolicyError` (returned, not raised) when she has not consented yet
        or withdrew her consent.
    """
    if consent is None:
        return PolicyError("waiting for the model's consent ('twinreview consent', signed by her)")
    if consent.withdrawn:
        return PolicyError("the model withdrew her consent")
    try:
        expires = parse_expiry(consent.expires)
    except ValueError as exc:
        return PolicyError(str(exc))
    return ModelPolicy(
        model_id=model_id,
        required_roles=consent.require,
        model_veto=consent.veto,
        expires=expires,
        expires_label=consent.expires,
        allowed_uses=consent.uses,
        excluded=consent.exclude,
        purpose=consent.purpose,
    )


def declared_uses(sidecar: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    """The uses an asset's sidecar declares (``intended_use`` and ``use``), lower case.

    Both fields count when both are there: every use either names must be allowed.

    Returns:
        None when there is no sidecar or it declares no use; otherwise the uses. A field that
        holds anything but a string or a list of strings reads as :data:`UNREADABLE_USE`, which
        no consent allows.
    """
    if sidecar is None:
        return None
    uses: list[str] = []
    for key in USE_FIELDS:
        value = sidecar.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            uses.append(UNREADABLE_USE)
            continue
        uses.extend(norm_use(v) for v in value if v.strip())
    return tuple(dict.fromkeys(uses)) or None


def declared_categories(sidecar: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The content categories an asset's sidecar lists (``categories``), lower case.

    Matched against the content a model excluded from her consent. Only a list of strings is
    read: any other value (one string such as ``"nudity, alcohol"``, a table, a number) reads as
    :data:`UNREADABLE_CATEGORIES`, which blocks approval until the sidecar is fixed, rather than
    passing for "nothing excluded".
    """
    if sidecar is None:
        return ()
    value = sidecar.get(CATEGORIES_FIELD)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return (UNREADABLE_CATEGORIES,)
    return tuple(dict.fromkeys(norm_use(v) for v in value if v.strip()))


@dataclass(frozen=True)
class Decision:
    """One verified decision about an asset, as policy evaluation needs it.

    Attributes:
        principal: Who signed it.
        role: Their role (from the roster).
        ts: When (aware datetime).
        asset: Workspace-relative posix path of the asset.
        sha256: Hex sha256 of the bytes decided on.
        model_id: Model the asset was attributed to.
        decision: ``approve`` or ``reject``.
        reasons: Reason codes.
        note: Free text.
        override: True when approving despite blocking findings.
        log: Fingerprint of the log (device key) it came from.
        seq: Its position in that log.
        phash: Hex pHash of the bytes, when recorded.
        findings: The findings the decision recorded (``Finding.to_json()`` each), as signed.
        epoch: How many times the owner had reset the signer's key for this model when it was
            signed (``RosterState.resets_of``): decisions from before a reset are never
            superseded by the reset key's, so her rejects from before stand.
    """

    principal: str
    role: str
    ts: dt.datetime
    asset: str
    sha256: str
    model_id: str
    decision: str
    reasons: tuple[str, ...] = ()
    note: str = ""
    override: bool = False
    log: str = ""
    seq: int = 0
    phash: str | None = None
    sidecar_sha256: str | None = None
    seen: Mapping[str, int] = field(default_factory=dict)
    roster_seq: int | None = None
    entry_hash: str = ""
    epoch: int = 0
    findings: tuple[Mapping[str, Any], ...] = ()

    def saw(self, other: Decision) -> bool:
        """True when this decision's device had seen ``other`` when it signed (causal order)."""
        if self.log == other.log:
            return self.seq > other.seq
        return self.seen.get(other.log, -1) >= other.seq

    def to_json(self) -> dict[str, Any]:
        """JSON form (timestamps in ISO 8601 UTC)."""
        return {
            "principal": self.principal,
            "role": self.role,
            "ts": iso_utc(self.ts, "auto"),
            "asset": self.asset,
            "sha256": self.sha256,
            "model": self.model_id,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "note": self.note,
            "override": self.override,
            "log": self.log,
            "seq": self.seq,
            "sidecar_sha256": self.sidecar_sha256,
            "roster_seq": self.roster_seq,
            "entry_hash": self.entry_hash,
        }


def decision_from_payload(
    payload: Mapping[str, Any], *, roster_seq: int | None = None, entry_hash: str = ""
) -> Decision:
    """Read a ``decision`` log entry's payload (as written by the decision service).

    Payload fields: the log header (``log``, ``seq``, ``ts``, ``principal``, ``role``) and
    ``asset`` (workspace-relative posix path), ``sha256``, ``phash`` (16 hex digits or null),
    ``model``, ``decision`` (approve | reject), ``reasons`` (codes), ``note``, ``findings``
    (what the reviewer was shown, ``Finding.to_json()`` each) and ``override``.

    Raises:
        ValueError: when a field is missing or has the wrong type (a signed but malformed entry).
    """

    def text(name: str) -> str:
        value = payload.get(name)
        if not isinstance(value, str):
            raise ValueError(f"decision entry: {name} is missing or not text")
        return value

    reasons = payload.get("reasons", [])
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise ValueError("decision entry: reasons must be a list of codes")
    note = payload.get("note", "")
    phash = payload.get("phash")
    seq = payload.get("seq", 0)
    if not isinstance(note, str) or not (phash is None or isinstance(phash, str)):
        raise ValueError("decision entry: note and phash must be text")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError("decision entry: seq must be an integer")
    try:
        ts = parse_timestamp(payload.get("ts"))
    except (TypeError, ValueError):
        raise ValueError("decision entry: ts is not an ISO 8601 time") from None
    sidecar = payload.get("sidecar_sha256")
    if not (sidecar is None or isinstance(sidecar, str)):
        raise ValueError("decision entry: sidecar_sha256 must be text or null")
    recorded = payload.get("findings")
    findings = (
        tuple(f for f in recorded if isinstance(f, Mapping)) if isinstance(recorded, list) else ()
    )
    seen: dict[str, int] = {}
    heads = payload.get("heads")
    if isinstance(heads, list):
        for h in heads:
            if isinstance(h, Mapping):
                hlog, hseq = h.get("log"), h.get("seq")
                if isinstance(hlog, str) and isinstance(hseq, int) and not isinstance(hseq, bool):
                    seen[hlog] = max(hseq, seen.get(hlog, -1))
    return Decision(
        principal=text("principal"),
        role=text("role"),
        ts=ts,
        asset=text("asset"),
        sha256=text("sha256").lower(),
        model_id=text("model"),
        decision=text("decision"),
        reasons=tuple(reasons),
        note=note,
        override=payload.get("override") is True,
        log=str(payload.get("log", "")),
        seq=seq,
        phash=phash,
        sidecar_sha256=sidecar,
        seen=seen,
        roster_seq=roster_seq,
        entry_hash=entry_hash,
        findings=findings,
    )


class State(enum.StrEnum):
    """The status of an asset under its model's consent policy."""

    CLEARED = "cleared"
    PENDING = "pending"
    REJECTED = "rejected"
    BLOCKED = "blocked"


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate` for one asset.

    Attributes:
        state: cleared, pending, rejected or blocked.
        missing_roles: Pending: required roles without a counting approval.
        rejections: Rejected: the counting rejects that decide it (who, when, why).
        blocked_by: Blocked: ``"verification"`` or ``"policy"``; None otherwise.
        problems: Blocked: one sentence per problem.
        approvals: The counting approvals (whatever the state).
        counting: Every counting decision (latest per principal, current bytes).
        stale: Decisions about other bytes than the current file.
        ignored: Decisions that do not count for another reason, with the reason.
        awaiting: Blocked: the names of the other models the image may show whose own
            approval is missing (see ``also`` of :func:`evaluate`).
    """

    state: State
    missing_roles: tuple[str, ...] = ()
    rejections: tuple[Decision, ...] = ()
    blocked_by: str | None = None
    problems: tuple[str, ...] = ()
    approvals: tuple[Decision, ...] = ()
    counting: tuple[Decision, ...] = ()
    stale: tuple[Decision, ...] = ()
    ignored: tuple[tuple[Decision, str], ...] = field(default=())
    awaiting: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for a table: ``pending: agent``, ``rejected by a@x (quality)`` and so on."""
        if self.state is State.PENDING:
            return f"pending: {', '.join(self.missing_roles)}"
        if self.state is State.REJECTED:
            parts = [f"{d.principal} ({reasons_text(d.reasons)})" for d in self.rejections]
            return f"rejected by {'; '.join(parts)}"
        if self.state is State.BLOCKED:
            return f"blocked ({self.blocked_by}): {' '.join(self.problems)}"
        return "cleared"

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``status --json``."""
        return {
            "state": self.state.value,
            "missing_roles": list(self.missing_roles),
            "rejections": [d.to_json() for d in self.rejections],
            "blocked_by": self.blocked_by,
            "problems": list(self.problems),
            "approvals": [d.to_json() for d in self.approvals],
            "stale": [d.to_json() for d in self.stale],
            "ignored": [{"decision": d.to_json(), "why": why} for d, why in self.ignored],
        }


def evaluate(
    *,
    asset: str,
    current_sha256: str,
    decisions: Iterable[Decision],
    policy: ModelPolicy | PolicyError,
    eligible: Mapping[str, str],
    now: dt.datetime,
    uses: Sequence[str] | None = None,
    verification_problems: Sequence[str] = (),
    sidecar_sha256: str | None = None,
    categories: Sequence[str] = (),
    judge: Callable[[Decision], str | None] | None = None,
    also: Mapping[str, str] | None = None,
) -> Evaluation:
    """Evaluate one asset under its model's consent policy.

    Args:
        asset: Workspace-relative posix path; decisions about other paths are ignored.
        current_sha256: Hex sha256 of the file as it is now.
        decisions: Verified decisions (any asset; filtered here).
        policy: The model's policy, or the error raised while reading it (then: blocked).
        eligible: principal -> role, for everyone the roster allows to decide for this model.
        now: The time to evaluate consent expiry at.
        uses: The asset's declared uses (see :func:`declared_uses`).
        verification_problems: Problems of logs holding decisions about this asset; any makes the
            asset blocked, because its decisions cannot be trusted.
        sidecar_sha256: sha256 of the asset's sidecar now (None: no sidecar). A decision counts
            only for the sidecar it was signed with (the intended use is part of what was
            approved).
        categories: The content categories its sidecar lists (see :func:`declared_categories`).
        judge: Says why an approval does not count under the policy in force (None: it counts);
            ``services.status`` passes the one approval rule (``core.approval.rule``).
        also: Other models the image may show (model id -> display name; see
            ``core.approval.rule.models_whose_word_is_needed``): each one's own model approval is
            needed too, and her reject is a veto. Their decisions carry their own model id;
            any other decision signed for another model than the asset's does not count.

    Returns:
        The :class:`Evaluation`.
    """
    sha = current_sha256.lower()
    stale: list[Decision] = []
    ignored: list[tuple[Decision, str]] = []
    current: list[Decision] = []
    also = dict(also or {})
    own_model = policy.model_id if isinstance(policy, ModelPolicy) else None
    co: list[Decision] = []
    for d in decisions:
        if d.asset != asset:
            continue
        if d.sha256.lower() != sha:
            stale.append(d)
            continue
        if d.sidecar_sha256 != sidecar_sha256:
            ignored.append((d, "the sidecar (its intended use) changed since this decision"))
            continue
        if own_model is not None and d.model_id != own_model:
            if d.model_id not in also or d.role != "model":
                ignored.append((d, f"signed for model {d.model_id!r}, not this image's model"))
            elif d.decision == APPROVE and judge is not None and (why := judge(d)) is not None:
                ignored.append((d, why))
            else:
                co.append(d)
            continue
        role = eligible.get(d.principal)
        if d.decision == REJECT and d.role == "model":
            # Her veto stands whatever the roster says of her principal since (removed, back as
            # an agent by the owner's reset): a reject can only hold an image back, never clear
            # it, and the caller passes only decisions the roster let her sign when she did.
            current.append(d)
            continue
        if role is None:
            ignored.append((d, "the roster does not allow this principal to decide for this model"))
            continue
        if role != d.role:
            ignored.append((d, f"signed as {d.role} but the roster lists {role}"))
            continue
        if d.decision not in DECISIONS and d.decision != WITHDRAW:
            ignored.append((d, f"unknown decision {d.decision!r}"))
            continue
        why = judge(d) if judge is not None and d.decision == APPROVE else None
        if why is not None:
            ignored.append((d, why))
            continue
        current.append(d)

    # A principal whose latest word is a withdrawal is undecided again.
    counting = tuple(d for d in _latest_per_principal(current) if d.decision != WITHDRAW)
    approvals = tuple(d for d in counting if d.decision == APPROVE)
    common: dict[str, Any] = {
        "approvals": approvals,
        "counting": counting,
        "stale": tuple(stale),
        "ignored": tuple(ignored),
    }

    if verification_problems:
        return Evaluation(
            State.BLOCKED,
            blocked_by="verification",
            problems=tuple(verification_problems),
            **common,
        )
    if isinstance(policy, PolicyError):
        # Her veto needs no consent: a reject she signed (before a reset of her key, say) still
        # decides the image while her consent is missing or unreadable.
        vetoes = tuple(d for d in counting if d.decision == REJECT and d.role == "model")
        if vetoes:
            return Evaluation(State.REJECTED, rejections=vetoes, **common)
        return Evaluation(
            State.BLOCKED,
            blocked_by="policy",
            problems=(str(policy),),
            **common,
        )

    rejections = tuple(
        d
        for d in counting
        if d.decision == REJECT
        and (d.role in policy.required_roles or (policy.model_veto and d.role == "model"))
    )
    # The other models the image may show: each one's latest word (her reject is a veto).
    co_latest = tuple(d for d in _latest_per_principal(co) if d.decision != WITHDRAW)
    rejections += tuple(d for d in co_latest if d.decision == REJECT)
    if rejections:
        return Evaluation(State.REJECTED, rejections=rejections, **common)

    problems = [sentence for _, sentence in consent_problems(policy, uses, now, categories)]
    co_approved = {d.model_id for d in co_latest if d.decision == APPROVE}
    awaiting = tuple(name for model, name in sorted(also.items()) if model not in co_approved)
    problems += [
        f"This image also looks like {name}: she must approve it too." for name in awaiting
    ]
    roles_on_roster = set(eligible.values())
    nobody = [role for role in policy.required_roles if role not in roles_on_roster]
    if nobody:
        problems.append(
            f"No one on the roster may sign as {' or '.join(nobody)} for model "
            f"{policy.model_id!r} (the signed roster)."
        )
    if problems:
        return Evaluation(
            State.BLOCKED,
            blocked_by="policy",
            problems=tuple(problems),
            awaiting=awaiting,
            **common,
        )

    approved_roles = {d.role for d in approvals}
    missing = tuple(r for r in policy.required_roles if r not in approved_roles)
    if missing:
        return Evaluation(State.PENDING, missing_roles=missing, **common)
    return Evaluation(State.CLEARED, **common)


def latest_of(decisions: Sequence[Decision]) -> Decision:
    """The one decision that stands among one principal's decisions (non-empty).

    Order is causal, never by clock: within a log, ``seq``; across a principal's device logs, a
    decision is later than another when its device had seen the other's log at or past it (the
    ``heads`` it signed). Of decisions that did not see each other (concurrent), a reject stands
    over an approval: a self-dated entry cannot outrank a real reject.
    """
    last_in_log: dict[str, Decision] = {}
    for d in decisions:
        prev = last_in_log.get(d.log)
        if prev is None or d.seq > prev.seq:
            last_in_log[d.log] = d
    tips = list(last_in_log.values())
    maximal = [d for d in tips if not any(o is not d and o.saw(d) for o in tips)]
    if not maximal:  # only possible with a cycle of forged heads; stay conservative
        maximal = tips
    rejects = [d for d in maximal if d.decision == REJECT]
    pool = rejects or maximal
    return min(pool, key=lambda d: d.log)


def _latest_per_principal(decisions: Sequence[Decision]) -> tuple[Decision, ...]:
    # A key the owner reset speaks for her from then on, but never over what she signed before.
    by_principal: dict[tuple[str, int], list[Decision]] = {}
    for d in decisions:
        by_principal.setdefault((d.principal, d.epoch), []).append(d)
    latest = [latest_of(ds) for ds in by_principal.values()]
    return tuple(sorted(latest, key=lambda d: (as_utc(d.ts), d.principal)))


def parse_timestamp(value: object) -> dt.datetime:
    """Parse an ISO 8601 timestamp (``Z`` allowed) into an aware UTC datetime.

    Naive values are taken as UTC.

    Raises:
        TypeError: when ``value`` is neither a string nor a datetime.
        ValueError: when the string is not ISO 8601.
    """
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if not isinstance(value, str):
        raise TypeError(f"not a timestamp: {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return as_utc(dt.datetime.fromisoformat(text))
