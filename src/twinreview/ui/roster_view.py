"""What the roster, trust and consent screens show, as plain data and plain sentences (no Qt).

Built on a worker by :class:`~twinreview.ui.services_backend.ServicesBackend` from
``RosterService.show()`` (the signed roster replayed) and read by the dialogs in
:mod:`twinreview.ui.roster`. Everything here is Qt-free so that it can be tested and
reused without a display.

Public API:
    TrustInfo: how this device's pin compares with the workspace's owner.
    ConsentInfo, PersonRow, RequestRow, ResetInfo, RosterView: the roster as the app shows it.
    roster_view_from_show(show, ...): build a :class:`RosterView`.
    consent_sentence(consent, name, you=...): a model's consent in one sentence.
    date_words(iso): a date as people write it.
    LogGap, log_gaps(problem_lines): logs that went back or are gone, which the owner may accept.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twinreview.core.policytext import policy_sentences
from twinreview.core.roster.rules import accept_refusal
from twinreview.ui.app_errors import app_message

#: Pin states (``services.trust.PinCheck.state``) plus ``error`` (the check itself failed).
PINNED, UNPINNED, MISMATCH, NO_ROSTER, TRUST_ERROR = (
    "pinned",
    "unpinned",
    "mismatch",
    "no_roster",
    "error",
)


@dataclass(frozen=True)
class TrustInfo:
    """How the workspace's owner compares with what this device pinned.

    Attributes:
        state: ``pinned``, ``unpinned`` (first use), ``mismatch``, ``no_roster`` or ``error``.
        workspace_name: The name the signed roster gives the workspace (or the folder's).
        owner: The owner's principal (None without a signed roster).
        owner_fingerprint: The owner key's fingerprint, ``SHA256:...``.
        pinned_fingerprint: What this device pinned for this workspace, if anything.
        message: One line from the service.
        owner_name: The owner's display name on the roster (empty when unknown).
    """

    state: str
    workspace_name: str = ""
    owner: str | None = None
    owner_fingerprint: str | None = None
    pinned_fingerprint: str | None = None
    message: str = ""
    owner_name: str = ""

    @property
    def ok(self) -> bool:
        """True when the owner is the one this device pinned: signing is allowed."""
        return self.state == PINNED

    def why_not(self) -> str | None:
        """Why nothing can be signed in this workspace (None when it can)."""
        if self.state == PINNED:
            return None
        if self.state == UNPINNED:
            return (
                "You have not trusted this workspace's owner on this device yet "
                "(Roster → Trust this workspace)."
            )
        if self.state == MISMATCH:
            return "This workspace's owner changed: do not approve anything here."
        if self.state == NO_ROSTER:
            return "This workspace has no signed roster yet, so nobody can sign here."
        return self.message or "The workspace's owner could not be checked."


@dataclass(frozen=True)
class ConsentInfo:
    """A model's own signed consent (``core.roster.log.Consent`` as JSON)."""

    model_id: str
    signed_by: str
    uses: tuple[str, ...] | None
    expires: str | None
    require: tuple[str, ...]
    withdrawn: bool
    ts: str
    purpose: str | None = None
    pay_terms: str | None = None
    exclude: tuple[str, ...] = ()
    no_expiry: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConsentInfo:
        """From ``Consent.to_json()``."""
        uses = data.get("uses")
        return cls(
            str(data.get("model", "")),
            str(data.get("signed_by", "")),
            tuple(str(u) for u in uses) if isinstance(uses, list) else None,
            str(data["expires"]) if data.get("expires") else None,
            tuple(str(r) for r in data.get("require") or ()),
            bool(data.get("withdrawn")),
            str(data.get("ts", "")),
            str(data["purpose"]) if data.get("purpose") else None,
            str(data["pay_terms"]) if data.get("pay_terms") else None,
            tuple(str(c) for c in data.get("exclude") or ()),
            data.get("no_expiry") is True,
        )


@dataclass(frozen=True)
class PersonRow:
    """One person on the signed roster."""

    principal: str
    name: str
    role: str
    models: tuple[str, ...]
    owner: bool = False
    admin: bool = False
    keys: tuple[str, ...] = ()

    @property
    def rights(self) -> str:
        """``Owner``, ``Admin`` or empty."""
        return "Owner" if self.owner else "Admin" if self.admin else ""


@dataclass(frozen=True)
class ResetInfo:
    """The owner gave a model a key she did not sign (``core.roster.model.Reset`` as JSON)."""

    principal: str
    name: str
    models: tuple[str, ...]
    fingerprints: tuple[str, ...]
    date: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ResetInfo:
        """From ``Reset.to_json()``."""
        return cls(
            str(data.get("principal", "")),
            str(data.get("name") or data.get("principal", "")),
            tuple(str(m) for m in data.get("models") or ()),
            tuple(str(f) for f in data.get("fingerprints") or ()),
            str(data.get("ts", ""))[:10],
        )


@dataclass(frozen=True)
class RequestRow:
    """A signed join request waiting for the owner."""

    principal: str
    name: str
    role: str
    models: tuple[str, ...]
    fingerprint: str
    file: str


@dataclass(frozen=True)
class RosterView:
    """The signed roster as the app shows it, seen by one identity.

    Attributes:
        exists: The workspace has a signed roster (``roster/roster.dlog``).
        ok: Every roster entry verified.
        name: Workspace name.
        workspace_id: sha256 of the genesis entry.
        owner, owner_fingerprint: The root of trust.
        pin_state: See :class:`TrustInfo`.
        people: Everyone on the roster now.
        pending: Join requests not yet approved.
        consents: Model id -> her signed consent.
        policy: The signed workspace policy, one sentence per rule it sets
            (:func:`twinreview.core.policytext.policy_sentences`).
        policy_by: Who signed the policy (principal).
        policy_when: When (the signed time, ISO).
        policy_tables: The signed policy tables as signed (empty: none signed).
        file_policy: The policy tables ``twinreview.toml`` holds now (unsigned: they count only
            once signed), None when not read.
        policy_seq: The roster entry of the signed policy in force (None: none signed).
        problems: Roster problems: broken entries, hand-edited views, unusable requests.
        models: Every model of the workspace: id -> display name.
        me: The identity's own row (None: not on the roster, or no identity).
        my_request: The identity's own pending join request, if any.
        known_uses: Uses named by the sidecars of the identity's own models (for consent).
        approvable: The AI-disclosure verdicts the signed policy lets a reviewer approve
            (None: not read; the defaults apply).
        log_holders: Log (key fingerprint) -> the principal whose key it is.
        model_people: Principals who speak for a model (a gap in their log only they accept).
        resets: Models' keys the owner reset, oldest first.
    """

    exists: bool
    ok: bool = True
    name: str = ""
    workspace_id: str | None = None
    owner: str | None = None
    owner_fingerprint: str | None = None
    pin_state: str = NO_ROSTER
    people: tuple[PersonRow, ...] = ()
    pending: tuple[RequestRow, ...] = ()
    consents: Mapping[str, ConsentInfo] = field(default_factory=dict)
    policy: tuple[str, ...] = ()
    policy_by: str | None = None
    policy_when: str | None = None
    policy_tables: Mapping[str, Any] = field(default_factory=dict)
    file_policy: Mapping[str, Any] | None = None
    policy_seq: int | None = None
    problems: tuple[str, ...] = ()
    models: Mapping[str, str] = field(default_factory=dict)
    me: PersonRow | None = None
    my_request: RequestRow | None = None
    known_uses: tuple[str, ...] = ()
    approvable: frozenset[str] | None = None
    log_holders: Mapping[str, str] = field(default_factory=dict)
    model_people: frozenset[str] = frozenset()
    resets: tuple[ResetInfo, ...] = ()

    @property
    def i_am_admin(self) -> bool:
        """The identity is the owner or an admin (may approve join requests)."""
        return self.me is not None and (self.me.owner or self.me.admin)

    @property
    def my_models(self) -> tuple[str, ...]:
        """Models the identity may decide for."""
        return self.me.models if self.me is not None else ()

    @property
    def my_consent_models(self) -> tuple[str, ...]:
        """Models whose consent is the identity's own (she is their model person)."""
        if self.me is None or self.me.role != "model":
            return ()
        return tuple(m for m in self.me.models if m in self.models)

    def model_name(self, model_id: str) -> str:
        """Display name of a model (its id when unknown)."""
        return self.models.get(model_id, model_id)

    def person_name(self, principal: str | None) -> str:
        """``Name <principal>`` for someone on the roster, else the principal."""
        if principal is None:
            return "nobody"
        for p in self.people:
            if p.principal == principal:
                return f"{p.name} <{p.principal}>" if p.name != p.principal else p.principal
        return principal

    def log_owner_name(self, log: str) -> str | None:
        """Whose log ``log`` is, by display name (None: a key the roster never named)."""
        holder = self.log_holders.get(log)
        if holder is None:
            return None
        return next((p.name for p in self.people if p.principal == holder), holder)

    def why_not_accept(self, log: str, principal: str | None) -> str | None:
        """Why ``principal`` may not accept a gap in ``log`` (None: may), as the roster rules.

        The sentence names people by their display names.
        """
        if principal is None:
            return "Create your identity first: accepting is signed with your key."
        holder = self.log_holders.get(log)
        refusal = accept_refusal(
            holder=holder,
            holder_is_model=holder is not None and holder in self.model_people,
            owner=self.owner,
            signer=principal,
        )
        if refusal is None:
            return None
        name = self.log_owner_name(log)
        if holder is not None and name is not None:
            refusal = refusal.replace(f"({holder})", f"({name})").replace(holder, name)
        return refusal[:1].upper() + refusal[1:] + "."

    def consent_summary(self, model_id: str) -> str:
        """A short consent state for a table cell."""
        c = self.consents.get(model_id)
        if c is None:
            return "no consent yet"
        if c.withdrawn:
            return "withdrawn"
        uses = "any use" if c.uses is None else ", ".join(c.uses) or "no use"
        if c.expires:
            until = f"until {c.expires}"
        else:
            until = "no end date (chosen)" if c.no_expiry else "no end date"
        return f"{uses}; {until}"


def roster_view_from_show(
    show: Mapping[str, Any],
    *,
    principal: str | None,
    models: Mapping[str, str],
    known_uses: Iterable[str] = (),
) -> RosterView:
    """Build the view from ``RosterService.show(root)`` for the identity ``principal``."""
    owner = show.get("owner") or {}
    people = tuple(
        PersonRow(
            str(p["principal"]),
            str(p.get("name") or p["principal"]),
            str(p.get("role", "")),
            tuple(str(m) for m in p.get("models") or ()),
            bool(p.get("owner")),
            bool(p.get("admin")),
            tuple(str(k) for k in p.get("keys") or ()),
        )
        for p in show.get("people") or ()
    )
    pending = tuple(
        RequestRow(
            str(r["principal"]),
            str(r.get("name") or r["principal"]),
            str(r.get("role", "")),
            tuple(str(m) for m in r.get("models") or ()),
            str(r.get("fingerprint", "")),
            str(r.get("file", "")),
        )
        for r in show.get("pending") or ()
    )
    consents = {
        str(mid): ConsentInfo.from_json(c) for mid, c in (show.get("consents") or {}).items()
    }
    policy = show.get("policy")
    policy_by = policy_when = None
    policy_seq: int | None = None
    lines: tuple[str, ...] = ()
    tables: Mapping[str, Any] = {}
    if isinstance(policy, Mapping):
        tables = policy.get("tables") or {}
        lines = tuple(policy_sentences(tables))
        policy_by = str(policy.get("set_by") or "")
        policy_when = str(policy["ts"]) if policy.get("ts") else None
        seq = policy.get("roster_seq")
        policy_seq = seq if isinstance(seq, int) else None
    me = next((p for p in people if principal is not None and p.principal == principal), None)
    mine = next((r for r in pending if principal is not None and r.principal == principal), None)
    return RosterView(
        exists=show.get("workspace_id") is not None,
        ok=bool(show.get("ok", True)),
        name=str(show.get("name") or ""),
        workspace_id=show.get("workspace_id"),
        owner=owner.get("principal"),
        owner_fingerprint=owner.get("fingerprint"),
        pin_state=str(show.get("pinned") or NO_ROSTER),
        people=people,
        pending=pending,
        consents=consents,
        policy=lines,
        policy_by=policy_by,
        policy_when=policy_when,
        policy_tables=tables,
        policy_seq=policy_seq,
        problems=tuple(str(p) for p in show.get("problems") or ()),
        models=dict(models),
        me=me,
        my_request=mine,
        known_uses=tuple(sorted(set(known_uses))),
        log_holders={str(k): str(v) for k, v in (show.get("log_holders") or {}).items()},
        model_people=frozenset(str(p) for p in show.get("model_people") or ()),
        resets=tuple(ResetInfo.from_json(r) for r in show.get("resets") or ()),
    )


def date_words(iso: str) -> str:
    """``2031-06-30`` (or an ISO timestamp) as ``30 June 2031``."""
    try:
        d = dt.date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{d.day} {d.strftime('%B')} {d.year}"


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


_ROLE_WORDS = {"agent": "the agent", "brand": "the brand", "model": "the model"}


def consent_sentence(consent: ConsentInfo | None, name: str, *, you: bool = False) -> str:
    """A model's consent in one sentence, e.g. for the consent screen.

    Args:
        consent: Her signed consent (None: she has not given it).
        name: The model's display name.
        you: Address her directly ("You allow ...") instead of "Milo allows ...".
    """
    who = "You" if you else name
    if consent is None:
        if you:
            return "You have not given your consent yet: none of your images can be approved."
        return f"{name} has not given consent yet: none of {name}'s images can be approved."
    if consent.withdrawn:
        when = date_words(consent.ts) if consent.ts else ""
        on = f" on {when}" if when else ""
        have = "You" if you else name
        images = "your" if you else f"{name}'s"
        return f"{have} withdrew consent{on}: none of {images} images can be approved."
    verb = "allow" if you else "allows"
    if consent.uses is None:
        uses = "any use"
    elif not consent.uses:
        uses = "no use at all"
    else:
        uses = f"only {_and(list(consent.uses))}"
    if consent.expires:
        until = f"until {date_words(consent.expires)}"
    elif consent.no_expiry:
        until = "with no end date (chosen)"
    else:
        until = "with no end date"
    others = [r for r in consent.require if r != "model"]
    if you:
        needed = _and(["you", *(f"your {r}" if r == "agent" else _ROLE_WORDS[r] for r in others)])
    else:
        needed = _and([name, *(_ROLE_WORDS.get(r, r) for r in others)])
    purpose = f" For “{consent.purpose}”." if consent.purpose else " No purpose recorded."
    return f"{who} {verb} {uses}, {until}; each image needs the approval of {needed}.{purpose}"


#: Verification problems the owner can accept (``twinreview roster accept``): the log's name is
#: the key fingerprint the problem names.
_GAP_KINDS = ("rolled_back", "log_missing")
_LOG_FP = re.compile(r"\blog (SHA256:[A-Za-z0-9+/]+)")


@dataclass(frozen=True)
class LogGap:
    """A log shorter than someone saw, or gone: what blocks the images it could decide on."""

    log: str
    message: str


def log_gaps(problem_lines: Iterable[str]) -> tuple[LogGap, ...]:
    """Logs the owner may accept as ending where they do, one per log, in order.

    Read from verification problem lines (``file:seq kind: message``); the message is said in
    the app's words.
    """
    out: dict[str, LogGap] = {}
    for line in problem_lines:
        head, _, message = line.partition(": ")
        if not any(head.endswith(kind) for kind in _GAP_KINDS):
            continue
        found = _LOG_FP.search(message)
        if found is not None and found.group(1) not in out:
            out[found.group(1)] = LogGap(found.group(1), app_message(message))
    return tuple(out.values())
