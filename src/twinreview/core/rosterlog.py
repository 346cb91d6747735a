r"""The signed roster: ``roster/roster.dlog``, the workspace's root of trust (DESIGN 3.1).

Same line format as the decision logs (``{"payload": <base64>, "sig": <armored SSHSIG>}``,
one JSON line per entry, hash-chained by ``prev``), namespace ``twinreview-roster-v1``. Unlike a
decision log, several keys write to it: the owner, the admins the owner appointed, and each
model, who signs her own consent. Every entry says which key signed it, and replaying the log
decides whether that key was allowed to make that change at that point.

Payload header::

    v          1
    log        "roster"
    seq        0, 1, 2, ...
    prev       sha256 hex of the previous full line (null for seq 0)
    ts         UTC, ISO 8601 with milliseconds and Z
    principal  the signer's principal
    key        the signer's OpenSSH public key (``ssh-ed25519 AAAA...``)
    kind       see KINDS
    ws         the workspace id (every entry after the genesis)
    heads      the heads of the decision logs the signing device had seen (may be empty)

Kinds and their fields:

    genesis        name (workspace name), person {principal, name, role, models}: the owner
    add_person     person (the principal added), name, role, models, keys [openssh], admin
                   (bool), request (sha256 of the join request it approves, or null)
    update_person  person, and any of: name, role, models, admin
    add_key        person, new_key (openssh)
    revoke_key     person, fingerprint, after {log fingerprint: last valid seq}
    remove_person  person, after {log fingerprint: last valid seq}
    policy         policy {"disclosure": {...}, "similarity": {...}}: the workspace's rules
    consent        model, uses (list or null: any), expires ("YYYY-MM-DD" or null), require
                   (roles), veto (bool), withdrawn (bool). Signed by the model herself.
    accept_head    target_log (fingerprint), target_seq (-1: the log is gone), target_hash (null
                   when gone): the
                   owner or an admin accepts that a log now ends there (a laptop lost before its
                   log was synced); its rollback stops blocking, and verify still reports it.

Who may sign what (checked against the roster as it stood just before the entry):
- genesis: seq 0 only; its signer is the **owner**. The workspace id is the sha256 hex of the
  genesis payload bytes.
- add/update/remove person, add/revoke key, policy: the owner, or a person the owner made admin,
  each signing with one of their own active keys. Only the owner appoints admins; nobody but the
  owner changes the owner. Anyone may add or revoke keys of their own (a new laptop, a lost one);
  a model's keys are added only by herself (they sign her consent).
- consent: the person with role ``model`` for that model id, with her own active key. One model
  person per model id, so nobody else can give, widen or extend her consent; the owner can only
  remove her (her consent then stops counting, also if she is added back later).

An entry that fails any check is reported and does not change the roster. A broken chain (an edited,
deleted or reordered line) stops the replay there: nothing after it can be placed.

Public API:
    KINDS, ROSTER_DIR, ROSTER_LOG, REQUESTS_DIR, NS_ROSTER.
    RosterPerson: principal, display_name, role, models, admin, keys (fingerprint -> key).
    RosterState: the roster after some entry; ``signer_allowed``, ``person``, ``people``,
        ``may_decide``, ``is_revoked``, ``consent_for``, ``policy``.
    Consent: a model's signed consent.
    Revocation / Removal: the effective points that invalidate later entries.
    SignedRoster: the replayed log: ``load(roster_dir)``, ``workspace_id``, ``owner``, ``head``,
        ``current``, ``state_at(seq, hash)``, ``problems``, ``entries``.
    RosterWriter: appends signed entries (under a file lock, fsync'ed).
    JoinRequest: ``make``, ``read``; ``render_views`` / ``view_problems`` for the generated files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock

from twinreview.core.declog import (
    FORMAT_VERSION,
    LogError,
    LogLockedError,
    encode_line,
    format_ts,
    line_hash,
    parse_line,
    read_log,
    utc_now,
    write_all,
)
from twinreview.core.errors import TwinreviewError
from twinreview.core.roster import (
    ALLOWED_SIGNERS,
    PEOPLE,
    REVOKED,
    ROLES,
    Person,
    Revocations,
    Roster,
    format_allowed_signer,
    format_people,
    parse_allowed_signers,
)
from twinreview.core.sshsig import NS_ROSTER, SigningKey, SshPublicKey, SshsigError, SshSignature
from twinreview.core.sshsig import verify as sshsig_verify

ROSTER_DIR = "roster"
ROSTER_LOG = "roster.dlog"
REQUESTS_DIR = "requests"
REQUEST_SUFFIX = ".req"
ROSTER_LOG_ID = "roster"
KINDS: tuple[str, ...] = (
    "genesis",
    "add_person",
    "update_person",
    "add_key",
    "revoke_key",
    "remove_person",
    "policy",
    "consent",
    "accept_head",
)
ADMIN_KINDS = frozenset(
    {
        "add_person",
        "update_person",
        "add_key",
        "revoke_key",
        "remove_person",
        "policy",
        "accept_head",
    }
)
POLICY_TABLES: tuple[str, ...] = ("disclosure", "similarity")
JOIN_KIND = "join_request"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RosterLogError(TwinreviewError, ValueError):
    """A roster change was refused or cannot be written; one line for the user."""


@dataclass(frozen=True)
class RosterPerson:
    """A person on the signed roster.

    Attributes:
        principal: Identity (usually an email address).
        display_name: Name shown in the app and reports.
        role: model | agent | brand.
        models: Model ids this person may decide for.
        admin: May change the roster (the owner is always admin).
        keys: Active keys by fingerprint.
    """

    principal: str
    display_name: str
    role: str
    models: tuple[str, ...] = ()
    admin: bool = False
    keys: Mapping[str, SshPublicKey] = field(default_factory=dict)

    def as_person(self) -> Person:
        """The plain :class:`~twinreview.core.roster.Person` view."""
        return Person(self.principal, self.display_name, self.role, self.models)


@dataclass(frozen=True)
class Consent:
    """A model's own signed consent.

    Attributes:
        model_id: The model it is about.
        principal: The model person who signed it.
        uses: Allowed uses (lower case), or None for any.
        expires: ``YYYY-MM-DD`` (consent holds through that day, UTC) or None.
        require: Roles that must approve.
        veto: A reject by the model always stands.
        withdrawn: Consent withdrawn: nothing of this model can be cleared.
        seq: The roster entry that set it.
        ts: Its time, as signed.
    """

    model_id: str
    principal: str
    uses: tuple[str, ...] | None
    expires: str | None
    require: tuple[str, ...]
    veto: bool
    withdrawn: bool
    seq: int
    ts: str

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``roster show --json`` and reports."""
        return {
            "model": self.model_id,
            "signed_by": self.principal,
            "uses": list(self.uses) if self.uses is not None else None,
            "expires": self.expires,
            "require": list(self.require),
            "veto": self.veto,
            "withdrawn": self.withdrawn,
            "roster_seq": self.seq,
            "ts": self.ts,
        }


@dataclass(frozen=True)
class Revocation:
    """A key revoked at roster ``seq``; entries of its logs past ``after`` do not count."""

    fingerprint: str
    principal: str
    seq: int
    after: Mapping[str, int]


@dataclass(frozen=True)
class Removal:
    """A person removed at roster ``seq``; entries of their logs past ``after`` do not count."""

    principal: str
    seq: int
    after: Mapping[str, int]


@dataclass(frozen=True)
class PolicySetting:
    """The signed workspace policy and who set it."""

    tables: Mapping[str, Any]
    principal: str
    seq: int
    ts: str


@dataclass(frozen=True)
class RosterState:
    """The roster as it stood after one entry (immutable; each entry makes a new one)."""

    seq: int
    head_hash: str
    owner: str
    persons: Mapping[str, RosterPerson]
    consents: Mapping[str, Consent]
    policy: PolicySetting | None
    revoked: Mapping[str, Revocation]
    removed: Mapping[str, tuple[Removal, ...]]
    accepted: Mapping[str, tuple[int, str | None, int]] = field(default_factory=dict)

    # -- the interface verification and policy evaluation use --------------------------------

    @property
    def people(self) -> dict[str, Person]:
        """Principal -> plain person (role, models)."""
        return {p: rp.as_person() for p, rp in self.persons.items()}

    def person(self, principal: str) -> Person | None:
        """The person, if on the roster at this point."""
        rp = self.persons.get(principal)
        return rp.as_person() if rp is not None else None

    def signer_allowed(self, principal: str, key: SshPublicKey) -> bool:
        """True if ``key`` is an active key of ``principal`` at this point."""
        rp = self.persons.get(principal)
        return rp is not None and key.fingerprint in rp.keys

    def is_revoked(self, key: SshPublicKey) -> bool:
        """True if ``key`` was revoked at or before this point."""
        return key.fingerprint in self.revoked

    def may_decide(self, principal: str, model_id: str) -> bool:
        """True if ``principal`` may decide for ``model_id`` at this point."""
        rp = self.persons.get(principal)
        return rp is not None and model_id in rp.models

    def principal_of(self, key: SshPublicKey) -> str | None:
        """The person holding ``key`` as an active key, if any."""
        for rp in self.persons.values():
            if key.fingerprint in rp.keys:
                return rp.principal
        return None

    def is_admin(self, principal: str) -> bool:
        """Owner or appointed admin."""
        rp = self.persons.get(principal)
        return principal == self.owner or (rp is not None and rp.admin)

    def consent_for(self, model_id: str) -> Consent | None:
        """The model's consent, when it was signed by the person who is her model now."""
        consent = self.consents.get(model_id)
        if consent is None:
            return None
        rp = self.persons.get(consent.principal)
        if rp is None or rp.role != "model" or model_id not in rp.models:
            return None
        return consent

    def model_person(self, model_id: str) -> RosterPerson | None:
        """The person with role model for ``model_id``."""
        return next(
            (p for p in self.persons.values() if p.role == "model" and model_id in p.models), None
        )


@dataclass(frozen=True)
class RosterEntry:
    """One line of roster.dlog and what replay made of it."""

    seq: int | None
    line: int
    kind: str | None
    principal: str | None
    payload: Mapping[str, Any]
    line_hash: str
    ok: bool
    problem: str | None = None
    state: str = "good"
    data: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class RosterProblem:
    """Something wrong with the roster log (or its views)."""

    seq: int | None
    line: int | None
    kind: str
    message: str


@dataclass
class SignedRoster:
    """``roster/roster.dlog`` replayed. Build with :meth:`load` or :meth:`from_bytes`.

    Attributes:
        entries: Every line and its verdict.
        states: The state after each good entry, in seq order (``states[i].seq == i`` for the
            good prefix; bad entries do not produce a state).
        problems: Everything wrong (empty when every entry is good).
        workspace_id: sha256 hex of the genesis payload, or None when there is no valid genesis.
        owner_key: The owner's key (signer of the genesis).
        name: The workspace name from the genesis.
        exists: False when there is no roster.dlog at all.
    """

    entries: list[RosterEntry] = field(default_factory=list)
    states: list[RosterState] = field(default_factory=list)
    problems: list[RosterProblem] = field(default_factory=list)
    workspace_id: str | None = None
    owner_key: SshPublicKey | None = None
    name: str = ""
    exists: bool = True
    torn_tail: bytes = b""

    @classmethod
    def load(cls, roster_dir: Path) -> SignedRoster:
        """Replay ``roster_dir/roster.dlog``; never raises for bad contents."""
        path = roster_dir / ROSTER_LOG
        if not path.exists() and not path.is_symlink():
            out = cls(exists=False)
            out.problems.append(
                RosterProblem(
                    None,
                    None,
                    "no_signed_roster",
                    "this workspace has no signed roster (roster/roster.dlog): no decision can "
                    "count; the owner runs 'twinreview init' or 'twinreview roster migrate'",
                )
            )
            return out
        if path.is_symlink() or not path.is_file():
            out = cls(exists=False)
            out.problems.append(
                RosterProblem(None, None, "unreadable", "roster/roster.dlog is not a regular file")
            )
            return out
        try:
            content = read_log(path)
        except OSError as exc:
            out = cls(exists=False)
            out.problems.append(
                RosterProblem(None, None, "unreadable", f"cannot read roster.dlog ({exc.strerror})")
            )
            return out
        return cls._replay([(r.lineno, r.data) for r in content.lines], content.torn_tail)

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedRoster:
        """Replay roster log bytes (an export's copy, a test's)."""
        end = data.rfind(b"\n") + 1
        lines: list[tuple[int, bytes]] = []
        start = 0
        n = 1
        while start < end:
            nl = data.index(b"\n", start)
            lines.append((n, data[start : nl + 1]))
            start = nl + 1
            n += 1
        return cls._replay(lines, data[end:])

    @classmethod
    def _replay(cls, lines: Sequence[tuple[int, bytes]], torn: bytes) -> SignedRoster:
        out = cls(torn_tail=torn)
        state: RosterState | None = None
        prev_hash: str | None = None
        broken = False
        for lineno, data in lines:
            h = line_hash(data)
            if broken:
                out._bad(lineno, None, None, {}, h, "broken_chain", "follows a broken chain", data)
                continue
            raw = parse_line(data, lineno)
            payload = raw.payload or {}
            seq = payload.get("seq")
            seq_i = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
            kind = payload.get("kind") if isinstance(payload.get("kind"), str) else None
            principal = payload.get("principal")
            principal = principal if isinstance(principal, str) else None
            if raw.error is not None or raw.payload_bytes is None or raw.sig is None:
                out._bad(lineno, seq_i, kind, payload, h, "malformed", raw.error or "", data)
                broken = True
                continue
            # The chain first: an edited, deleted or moved line breaks it for everything after.
            expected_seq = 0 if state is None else state.seq + 1
            if seq_i != expected_seq or payload.get("prev") != prev_hash:
                what = "edited, deleted or moved" if seq_i != 0 else "replaced"
                out._bad(
                    lineno,
                    seq_i,
                    kind,
                    payload,
                    h,
                    "broken_chain",
                    f"roster entry seq {seq_i} does not follow the entry before it (a roster "
                    f"line was {what})",
                    data,
                )
                broken = True
                continue
            try:
                signer = _check_signature(payload, raw.payload_bytes, raw.sig)
            except RosterLogError as exc:
                out._bad(lineno, seq_i, kind, payload, h, "bad_signature", str(exc), data)
                broken = True
                continue
            if state is None:
                try:
                    state = _apply_genesis(payload, signer, h)
                except RosterLogError as exc:
                    out._bad(lineno, seq_i, kind, payload, h, "malformed", str(exc), data)
                    broken = True
                    continue
                assert raw.payload_bytes is not None
                out.workspace_id = hashlib.sha256(raw.payload_bytes).hexdigest()
                out.owner_key = signer
                name = payload.get("name")
                out.name = name if isinstance(name, str) else ""
            else:
                try:
                    if payload.get("ws") != out.workspace_id:
                        raise RosterLogError(
                            "the entry names another workspace (copied from another roster)"
                        )
                    state = _apply(state, payload, signer, h)
                except RosterLogError as exc:
                    # A signed but unauthorised or invalid change: reported, and the roster
                    # cannot be trusted past it (the chain continues, but nothing more applies).
                    out._bad(lineno, seq_i, kind, payload, h, "unauthorised", str(exc), data)
                    broken = True
                    continue
            out.states.append(state)
            out.entries.append(
                RosterEntry(seq_i, lineno, kind, principal, payload, h, True, data=data)
            )
            prev_hash = h
        if not lines:
            out.problems.append(
                RosterProblem(None, None, "malformed", "roster/roster.dlog is empty")
            )
        if torn:
            out.problems.append(
                RosterProblem(
                    None,
                    None,
                    "torn_tail",
                    f"roster/roster.dlog ends with {len(torn)} bytes of an incomplete line",
                )
            )
        return out

    def _bad(
        self,
        lineno: int,
        seq: int | None,
        kind: str | None,
        payload: Mapping[str, Any],
        h: str,
        state: str,
        message: str,
        data: bytes,
    ) -> None:
        principal = payload.get("principal") if isinstance(payload.get("principal"), str) else None
        self.entries.append(
            RosterEntry(seq, lineno, kind, principal, payload, h, False, message, state, data)
        )
        self.problems.append(RosterProblem(seq, lineno, state, f"roster/roster.dlog: {message}"))

    # -- queries --------------------------------------------------------------------------

    @property
    def ok(self) -> bool:
        """True when the log exists and every entry is good.

        A torn tail (an append that never finished, so never counted) is reported but does not
        make the roster untrustworthy; the next roster change finishes or sets it aside.
        """
        return (
            self.exists and bool(self.states) and all(p.kind == "torn_tail" for p in self.problems)
        )

    @property
    def current(self) -> RosterState | None:
        """The state after the last good entry."""
        return self.states[-1] if self.states else None

    @property
    def head(self) -> tuple[int, str] | None:
        """(seq, line hash) of the last good entry."""
        if not self.states:
            return None
        s = self.states[-1]
        return s.seq, s.head_hash

    @property
    def owner(self) -> str | None:
        """The owner's principal."""
        return self.states[0].owner if self.states else None

    def state_at(self, seq: int, head_hash: str) -> RosterState | None:
        """The state after entry ``seq`` when its hash is ``head_hash``; None otherwise."""
        if 0 <= seq < len(self.states) and self.states[seq].head_hash == head_hash:
            return self.states[seq]
        return None

    def revocations(self) -> list[Revocation]:
        """Every revocation in the current state."""
        cur = self.current
        return list(cur.revoked.values()) if cur else []

    def removals(self) -> list[Removal]:
        """Every removal in the current state."""
        cur = self.current
        return [r for rs in cur.removed.values() for r in rs] if cur else []

    def known_keys(self) -> dict[str, tuple[str, SshPublicKey]]:
        """Fingerprint -> (principal, key) for every key ever added (active or not)."""
        out: dict[str, tuple[str, SshPublicKey]] = {}
        for st in self.states:
            for rp in st.persons.values():
                for fp, key in rp.keys.items():
                    out.setdefault(fp, (rp.principal, key))
        return out

    def heads_named(self) -> list[tuple[int, Mapping[str, Any]]]:
        """``(roster seq, head)`` for every decision-log head a good roster entry names."""
        out: list[tuple[int, Mapping[str, Any]]] = []
        for e in self.entries:
            if e.ok and e.seq is not None:
                for head in _heads(e.payload):
                    out.append((e.seq, head))
        return out


def _heads(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    heads = payload.get("heads")
    if not isinstance(heads, list):
        return []
    return [h for h in heads if isinstance(h, Mapping)]


def _check_signature(payload: Mapping[str, Any], payload_bytes: bytes, sig: str) -> SshPublicKey:
    if payload.get("v") != FORMAT_VERSION or payload.get("log") != ROSTER_LOG_ID:
        raise RosterLogError("not a roster entry (v/log fields)")
    if payload.get("kind") not in KINDS:
        raise RosterLogError(f"unknown roster entry kind {payload.get('kind')!r}")
    if not isinstance(payload.get("principal"), str) or not isinstance(payload.get("ts"), str):
        raise RosterLogError("principal and ts must be text")
    try:
        named = SshPublicKey.parse(str(payload.get("key", "")))
        parsed = SshSignature.parse(sig)
        sshsig_verify(parsed, payload_bytes, NS_ROSTER)
    except SshsigError as exc:
        raise RosterLogError(f"the signature does not verify ({exc})") from None
    if parsed.public_key != named:
        raise RosterLogError("signed by another key than the entry names")
    return named


def _text(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise RosterLogError(f"{name} is missing or not text")
    return value


def _models(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
        raise RosterLogError("models must be a list of model ids")
    return tuple(dict.fromkeys(value))


def _role(value: object) -> str:
    if value not in ROLES:
        raise RosterLogError(f"role must be one of {', '.join(ROLES)}, not {value!r}")
    return str(value)


def _apply_genesis(payload: Mapping[str, Any], signer: SshPublicKey, h: str) -> RosterState:
    if payload.get("kind") != "genesis" or payload.get("seq") != 0:
        raise RosterLogError("the roster does not start with a genesis entry")
    person = payload.get("person")
    if not isinstance(person, Mapping):
        raise RosterLogError("the genesis entry names no owner")
    principal = _text(person, "principal")
    if principal != payload.get("principal"):
        raise RosterLogError("the genesis entry is signed by someone else than the owner it names")
    owner = RosterPerson(
        principal,
        str(person.get("name") or principal),
        _role(person.get("role")),
        _models(person.get("models", [])),
        True,
        {signer.fingerprint: signer},
    )
    return RosterState(0, h, principal, {principal: owner}, {}, None, {}, {})


def _after(value: object) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise RosterLogError("after must map log fingerprints to seq numbers")
    return dict(value)


def _apply(
    state: RosterState, payload: Mapping[str, Any], signer: SshPublicKey, h: str
) -> RosterState:
    """The state after one (non-genesis) entry, or RosterLogError when it is not allowed."""
    kind = payload["kind"]
    signer_principal = payload["principal"]
    if not state.signer_allowed(signer_principal, signer):
        raise RosterLogError(
            f"{signer_principal} signed with {signer.fingerprint}, which is not their active key "
            "on the roster"
        )
    seq = state.seq + 1
    persons = dict(state.persons)
    consents = dict(state.consents)
    revoked = dict(state.revoked)
    removed = dict(state.removed)
    accepted = dict(state.accepted)
    policy = state.policy
    own_keys = kind in ("add_key", "revoke_key") and payload.get("person") == signer_principal
    if kind in ADMIN_KINDS and not own_keys and not state.is_admin(signer_principal):
        raise RosterLogError(f"{signer_principal} is not the owner or an admin: cannot {kind}")
    if kind == "add_key" and not own_keys:
        target = state.persons.get(str(payload.get("person")))
        if target is not None and target.role == "model":
            # A key of hers signs her consent: only she adds one (from a device she has).
            raise RosterLogError("only the model herself adds a key to her entry")
    if kind == "genesis":
        raise RosterLogError("a second genesis entry")
    if kind == "add_person":
        principal = _text(payload, "person")
        if principal in persons:
            raise RosterLogError(f"{principal} is already on the roster")
        role = _role(payload.get("role"))
        models = _models(payload.get("models", []))
        admin = payload.get("admin") is True
        if admin and signer_principal != state.owner:
            raise RosterLogError("only the owner appoints admins")
        keys = _keys(payload.get("keys"), state)
        new = RosterPerson(
            principal, str(payload.get("name") or principal), role, models, admin, keys
        )
        _check_one_model_person(state, new)
        persons[principal] = new
    elif kind == "update_person":
        principal, old = _target(state, payload, signer_principal, "changes the owner's entry")
        new = old
        if "name" in payload:
            new = replace(new, display_name=str(payload["name"]))
        if "role" in payload:
            new = replace(new, role=_role(payload["role"]))
        if "models" in payload:
            new = replace(new, models=_models(payload["models"]))
        if "admin" in payload:
            if signer_principal != state.owner:
                raise RosterLogError("only the owner appoints or removes admins")
            new = replace(new, admin=payload["admin"] is True)
        _check_one_model_person(state, new)
        persons[principal] = new
    elif kind == "add_key":
        principal, old = _target(state, payload, signer_principal, "adds keys to the owner")
        keys = dict(old.keys)
        keys.update(_keys([payload.get("new_key")], state))
        persons[principal] = replace(old, keys=keys)
    elif kind == "revoke_key":
        principal, old = _target(state, payload, signer_principal, "revokes the owner's keys")
        fp = _text(payload, "fingerprint")
        if fp not in old.keys:
            raise RosterLogError(f"{fp} is not an active key of {principal}")
        keys = dict(old.keys)
        del keys[fp]
        persons[principal] = replace(old, keys=keys)
        revoked[fp] = Revocation(fp, principal, seq, _after(payload.get("after")))
    elif kind == "remove_person":
        principal = _text(payload, "person")
        if principal not in persons:
            raise RosterLogError(f"{principal} is not on the roster")
        if principal == state.owner:
            raise RosterLogError("the owner cannot be removed")
        if persons[principal].admin and signer_principal != state.owner:
            raise RosterLogError("only the owner removes an admin")
        del persons[principal]
        removed[principal] = (
            *removed.get(principal, ()),
            Removal(principal, seq, _after(payload.get("after"))),
        )
        # Her consent goes with her: a person added back later must give it again.
        consents = {m: c for m, c in consents.items() if c.principal != principal}
    elif kind == "policy":
        tables = payload.get("policy")
        if not isinstance(tables, Mapping) or set(tables) - set(POLICY_TABLES):
            raise RosterLogError(f"policy must be a table of {', '.join(POLICY_TABLES)}")
        policy = PolicySetting(dict(tables), signer_principal, seq, str(payload.get("ts")))
    elif kind == "consent":
        consents[_text(payload, "model")] = _consent(state, payload, signer_principal, seq)
    elif kind == "accept_head":
        log = _text(payload, "target_log")
        head_seq, head_hash = payload.get("target_seq"), payload.get("target_hash")
        if (
            not isinstance(head_seq, int)
            or isinstance(head_seq, bool)
            or head_seq < -1
            or not (head_hash is None or isinstance(head_hash, str))
            or (head_seq == -1) != (head_hash is None)
        ):
            raise RosterLogError(
                "accept_head needs target_seq (>= -1) and target_hash (null only for -1)"
            )
        accepted[log] = (head_seq, head_hash, seq)
    return RosterState(seq, h, state.owner, persons, consents, policy, revoked, removed, accepted)


def _target(
    state: RosterState, payload: Mapping[str, Any], signer: str, owner_only: str
) -> tuple[str, RosterPerson]:
    """The person an entry changes; only the owner changes the owner."""
    principal = _text(payload, "person")
    person = state.persons.get(principal)
    if person is None:
        raise RosterLogError(f"{principal} is not on the roster")
    if principal == state.owner and signer != state.owner:
        raise RosterLogError(f"only the owner {owner_only}")
    return principal, person


def _keys(value: object, state: RosterState) -> dict[str, SshPublicKey]:
    if not isinstance(value, list) or not value:
        raise RosterLogError("keys must be a non-empty list of OpenSSH public keys")
    out: dict[str, SshPublicKey] = {}
    for text in value:
        try:
            key = SshPublicKey.parse(str(text))
        except SshsigError as exc:
            raise RosterLogError(f"bad key: {exc}") from None
        holder = state.principal_of(key)
        if holder is not None:
            raise RosterLogError(f"key {key.fingerprint} already belongs to {holder}")
        if key.fingerprint in state.revoked:
            raise RosterLogError(f"key {key.fingerprint} was revoked and cannot come back")
        out[key.fingerprint] = key
    return out


def _check_one_model_person(state: RosterState, new: RosterPerson) -> None:
    if new.role != "model":
        return
    for mid in new.models:
        other = state.model_person(mid)
        if other is not None and other.principal != new.principal:
            raise RosterLogError(
                f"model {mid!r} already has her own person on the roster ({other.principal})"
            )


def _consent(state: RosterState, payload: Mapping[str, Any], signer: str, seq: int) -> Consent:
    model_id = _text(payload, "model")
    rp = state.persons.get(signer)
    if rp is None or rp.role != "model" or model_id not in rp.models:
        raise RosterLogError(
            f"{signer} is not the model {model_id!r}: only she can give or change her consent"
        )
    uses_raw = payload.get("uses")
    uses: tuple[str, ...] | None = None
    if uses_raw is not None:
        if not isinstance(uses_raw, list) or not all(isinstance(u, str) for u in uses_raw):
            raise RosterLogError("consent uses must be a list of uses or null")
        uses = tuple(dict.fromkeys(u.strip().lower() for u in uses_raw if u.strip()))
    expires = payload.get("expires")
    if expires is not None and (not isinstance(expires, str) or not _DATE.match(expires)):
        raise RosterLogError("consent expires must be YYYY-MM-DD or null")
    require_raw = payload.get("require", ["model", "agent"])
    if not isinstance(require_raw, list) or not require_raw:
        raise RosterLogError("consent require must name at least one role")
    require = tuple(dict.fromkeys(_role(r) for r in require_raw))
    if "model" not in require:
        # Her consent is hers: approving her likeness always needs her own approval.
        raise RosterLogError("consent require must include the model herself")
    return Consent(
        model_id,
        signer,
        uses,
        expires if isinstance(expires, str) else None,
        require,
        payload.get("veto", True) is not False,
        payload.get("withdrawn") is True,
        seq,
        str(payload.get("ts")),
    )


# -- writing -------------------------------------------------------------------------------


def build_roster_line(
    key: SigningKey,
    principal: str,
    *,
    seq: int,
    prev: str | None,
    ts: datetime,
    kind: str,
    fields: Mapping[str, Any],
    workspace_id: str | None,
    heads: Sequence[Mapping[str, Any]] = (),
) -> tuple[bytes, bytes]:
    """Sign one roster entry; returns ``(payload bytes, full line)``."""
    payload: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "log": ROSTER_LOG_ID,
        "seq": seq,
        "prev": prev,
        "ts": format_ts(ts),
        "principal": principal,
        "key": key.public.openssh(),
        "kind": kind,
    }
    if workspace_id is not None:
        payload["ws"] = workspace_id
    payload["heads"] = [dict(h) for h in heads]
    clash = sorted(set(fields) & set(payload))
    if clash:
        raise RosterLogError(f"fields may not override header fields: {', '.join(clash)}")
    payload.update(fields)
    try:
        payload_bytes = json.dumps(
            payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise RosterLogError(f"roster fields are not JSON-serialisable: {exc}") from None
    sig = key.sign(payload_bytes, NS_ROSTER)
    return payload_bytes, encode_line(payload_bytes, sig)


class RosterWriter:
    """Appends signed entries to ``roster/roster.dlog`` (under a lock; fsync'ed).

    Each append replays the log first and applies the new entry to the current state, so a change
    the roster would not accept is refused here (``RosterLogError``) instead of being written.
    """

    def __init__(
        self,
        roster_dir: Path,
        key: SigningKey,
        principal: str,
        *,
        clock: Callable[[], datetime] | None = None,
        lock_timeout: float = 30.0,
    ) -> None:
        """Write as ``principal`` with ``key`` into ``roster_dir``."""
        self.roster_dir = roster_dir
        self.path = roster_dir / ROSTER_LOG
        self.key = key
        self.principal = principal
        self._clock = clock or utc_now
        self._lock = filelock.FileLock(
            str(roster_dir / f".{ROSTER_LOG}.lock"), timeout=lock_timeout
        )

    def genesis(self, name: str, person: Person) -> SignedRoster:
        """Create the roster with this key as the owner; refuses when one exists."""
        self.roster_dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if self.path.exists() and self.path.stat().st_size > 0:
                raise RosterLogError("this workspace already has a signed roster")
            fields = {
                "name": name,
                "person": {
                    "principal": person.principal,
                    "name": person.display_name,
                    "role": person.role,
                    "models": list(person.models),
                },
            }
            _, line = build_roster_line(
                self.key,
                self.principal,
                seq=0,
                prev=None,
                ts=self._clock(),
                kind="genesis",
                fields=fields,
                workspace_id=None,
            )
            self._write(line, create=True)
            return SignedRoster.load(self.roster_dir)

    def append(
        self, kind: str, fields: Mapping[str, Any], heads: Sequence[Mapping[str, Any]] = ()
    ) -> SignedRoster:
        """Sign and append one change; returns the roster replayed with it.

        Raises:
            RosterLogError: the roster is damaged, or the change is not allowed.
            OSError: the disk refused.
        """
        if kind not in KINDS or kind == "genesis":
            raise RosterLogError(f"cannot append a roster entry of kind {kind!r}")
        with self._locked():
            self._recover_tail()
            roster = SignedRoster.load(self.roster_dir)
            state = roster.current
            if not roster.ok or state is None:
                first = roster.problems[0].message if roster.problems else "no roster"
                raise RosterLogError(f"the signed roster is not intact: {first}")
            payload_bytes, line = build_roster_line(
                self.key,
                self.principal,
                seq=state.seq + 1,
                prev=state.head_hash,
                ts=self._clock(),
                kind=kind,
                fields=fields,
                workspace_id=roster.workspace_id,
                heads=heads,
            )
            payload = json.loads(payload_bytes)
            _apply(state, payload, self.key.public, line_hash(line))  # refuse before writing
            self._write(line, create=False)
            return SignedRoster.load(self.roster_dir)

    def set_aside_bad_lines(self) -> Path | None:
        """Move every line after the last good entry into ``roster.dlog.rejected-<time>``.

        Lines that failed the replay never counted, so nothing that counted is lost; without
        this, one unauthorised line appended by anyone would stop every roster change for good.
        Returns the file the lines were moved to (None: nothing to do).
        """
        with self._locked():
            data = self.path.read_bytes()
            roster = SignedRoster.load(self.roster_dir)
            if not roster.states:
                raise RosterLogError("the roster has no good entry to keep")
            good = sum(len(e.data) for e in roster.entries[: len(roster.states)] if e.ok)
            if good >= len(data):
                return None
            return self._move_aside(data, good, "rejected")

    def _recover_tail(self) -> None:
        """Deal with a last line that has no newline (an interrupted append).

        When it is a whole, good next entry, its newline is added; otherwise it is moved aside,
        as the decision logs do, and the roster goes on from its last good entry.
        """
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        if not data or data.endswith(b"\n"):
            return
        end = data.rfind(b"\n") + 1
        before = SignedRoster.from_bytes(data[:end])
        after = SignedRoster.from_bytes(data + b"\n")
        if after.ok and len(after.states) == len(before.states) + 1:
            self._write(b"\n", create=False)
        else:
            self._move_aside(data, end, "torn")

    def _move_aside(self, data: bytes, keep: int, what: str) -> Path:
        stamp = self._clock().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = self.path.with_name(f"{ROSTER_LOG}.{what}-{stamp}")
        aside.write_bytes(data[keep:])
        with self.path.open("r+b") as fh:
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
        return aside

    def _locked(self) -> contextlib.AbstractContextManager[object]:
        self.roster_dir.mkdir(parents=True, exist_ok=True)
        try:
            lock = self._lock.acquire()
        except filelock.Timeout:
            raise LogLockedError("another twinreview process is writing the roster") from None
        return lock

    def _write(self, line: bytes, *, create: bool) -> None:
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0)
        if create:
            flags |= os.O_CREAT
        try:
            fd = os.open(self.path, flags, 0o644)
        except FileNotFoundError:
            raise LogError("roster/roster.dlog disappeared") from None
        try:
            write_all(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


# -- join requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class JoinRequest:
    """A signed request to join a workspace (``roster/requests/<principal>--<fp16>.req``).

    Attributes:
        principal, display_name, role, models: What the requester asks for.
        key: The requester's key (the request is signed with it).
        workspace_id: The workspace it is for.
        sha256: sha256 hex of the request line (what an approval names).
        file: The file name.
    """

    principal: str
    display_name: str
    role: str
    models: tuple[str, ...]
    key: SshPublicKey
    workspace_id: str
    sha256: str
    file: str

    @staticmethod
    def make(
        roster_dir: Path,
        key: SigningKey,
        person: Person,
        workspace_id: str,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> Path:
        """Write a signed join request; returns its path."""
        from twinreview.core.declog import log_filename

        fields = {
            "name": person.display_name,
            "role": person.role,
            "models": list(person.models),
        }
        payload: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "log": ROSTER_LOG_ID,
            "seq": 0,
            "prev": None,
            "ts": format_ts((clock or utc_now)()),
            "principal": person.principal,
            "key": key.public.openssh(),
            "kind": JOIN_KIND,
            "ws": workspace_id,
            **fields,
        }
        payload_bytes = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        line = encode_line(payload_bytes, key.sign(payload_bytes, NS_ROSTER))
        folder = roster_dir / REQUESTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / log_filename(person.principal, key.public).replace(".dlog", REQUEST_SUFFIX)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(line)
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, path: Path, workspace_id: str) -> JoinRequest:
        """Read and check one request file.

        Raises:
            RosterLogError: unreadable, badly signed, or for another workspace.
        """
        try:
            if not path.is_file() or path.stat().st_size > 64 * 1024:
                raise RosterLogError(f"{path.name}: not a join request")
            data = path.read_bytes()
        except OSError as exc:
            raise RosterLogError(f"{path.name}: cannot read ({exc.strerror})") from None
        raw = parse_line(data if data.endswith(b"\n") else data + b"\n", 1)
        p = raw.payload
        if p is None or raw.payload_bytes is None or raw.sig is None or p.get("kind") != JOIN_KIND:
            raise RosterLogError(f"{path.name}: not a join request")
        try:
            key = SshPublicKey.parse(str(p.get("key", "")))
            parsed = SshSignature.parse(raw.sig)
            sshsig_verify(parsed, raw.payload_bytes, NS_ROSTER)
        except SshsigError as exc:
            raise RosterLogError(f"{path.name}: the signature does not verify ({exc})") from None
        if parsed.public_key != key:
            raise RosterLogError(f"{path.name}: signed by another key than it names")
        if p.get("ws") != workspace_id:
            raise RosterLogError(f"{path.name}: a request for another workspace")
        try:
            return cls(
                _text(p, "principal"),
                str(p.get("name") or p.get("principal")),
                _role(p.get("role")),
                _models(p.get("models", [])),
                key,
                workspace_id,
                hashlib.sha256(raw.data).hexdigest(),
                path.name,
            )
        except RosterLogError as exc:
            raise RosterLogError(f"{path.name}: {exc}") from None


def pending_requests(roster_dir: Path, roster: SignedRoster) -> tuple[list[JoinRequest], list[str]]:
    """Join requests not yet on the roster, and one message per unusable request file."""
    folder = roster_dir / REQUESTS_DIR
    state = roster.current
    if roster.workspace_id is None or state is None or not folder.is_dir():
        return [], []
    out: list[JoinRequest] = []
    problems: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.name.endswith(REQUEST_SUFFIX):
            continue
        try:
            req = JoinRequest.read(path, roster.workspace_id)
        except RosterLogError as exc:
            problems.append(str(exc))
            continue
        if state.principal_of(req.key) is None and req.key.fingerprint not in state.revoked:
            out.append(req)
    return out, problems


# -- generated views ----------------------------------------------------------------------


def render_views(roster: SignedRoster) -> dict[str, str]:
    """The generated files: allowed_signers (for stock ssh-keygen), people.toml, revoked."""
    state = roster.current
    if state is None:
        return {}
    header = (
        "# Generated from roster/roster.dlog by twinreview. Do not edit: hand edits are ignored\n"
        "# and reported by 'twinreview verify'.\n"
    )
    lines = [header]
    for rp in sorted(state.persons.values(), key=lambda p: p.principal):
        for fp in sorted(rp.keys):
            lines.append(format_allowed_signer(rp.principal, rp.keys[fp]) + "\n")
    people = header + format_people(
        sorted((rp.as_person() for rp in state.persons.values()), key=lambda p: p.principal),
        header=False,
    )
    known = roster.known_keys()
    revoked = [header]
    for fp in sorted(state.revoked):
        item = known.get(fp)
        revoked.append((item[1].openssh() if item else fp) + "\n")
    return {ALLOWED_SIGNERS: "".join(lines), PEOPLE: people, REVOKED: "".join(revoked)}


def write_views(roster_dir: Path, roster: SignedRoster) -> None:
    """Regenerate the view files (atomic replace each)."""
    for name, text in render_views(roster).items():
        path = roster_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def view_problems(roster_dir: Path, roster: SignedRoster) -> list[str]:
    """One message per view file that differs from what the signed roster generates."""
    out: list[str] = []
    for name, text in render_views(roster).items():
        path = roster_dir / name
        try:
            if path.is_symlink() or (path.exists() and not path.is_file()):
                actual: str | None = None
            else:
                actual = path.read_text(encoding="utf-8") if path.exists() else None
        except (OSError, UnicodeDecodeError):
            actual = None
        if actual is None and not path.exists():
            out.append(f"roster/{name} is missing (it is regenerated from roster/roster.dlog)")
        elif actual != text:
            out.append(
                f"roster/{name} was edited by hand; the edit is ignored (the signed roster "
                "roster/roster.dlog decides)"
            )
    return out


def effective_config(config: Mapping[str, Any], roster: SignedRoster) -> dict[str, Any]:
    """``twinreview.toml`` with the policy tables replaced by the signed policy.

    Display data (``[workspace] name`` and the like) stays from the file; the tables that decide
    what may be cleared (``[disclosure]``, ``[similarity]``) come only from a signed ``policy``
    entry (defaults when there is none), so editing the plain file changes nothing.
    """
    out = {k: v for k, v in config.items() if k not in POLICY_TABLES and k != "consent"}
    state = roster.current
    if state is not None and state.policy is not None:
        out.update(json.loads(json.dumps(state.policy.tables)))
    return out


def policy_tables(config: Mapping[str, Any]) -> dict[str, Any]:
    """The policy tables of a ``twinreview.toml`` (for signing them as the workspace policy)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        return str(value)

    return {k: plain(config[k]) for k in POLICY_TABLES if isinstance(config.get(k), Mapping)}


def iter_heads(payload: Mapping[str, Any]) -> Iterable[tuple[str, int, str]]:
    """``(log fingerprint, seq, hash)`` for each well-formed head an entry names."""
    for h in _heads(payload):
        log, seq, hh = h.get("log"), h.get("seq"), h.get("hash")
        if (
            isinstance(log, str)
            and isinstance(seq, int)
            and not isinstance(seq, bool)
            and isinstance(hh, str)
        ):
            yield log, seq, hh


def plain_roster(roster: SignedRoster) -> Roster:
    """The signed roster's current state as a plain :class:`~twinreview.core.roster.Roster`.

    For code that checks OpenSSH-style signatures against allowed_signers lines (export
    signatures): the lines are generated from the signed log, never read from the view files.
    """
    state = roster.current
    if state is None:
        return Roster(problems=[p.message for p in roster.problems] or ["no signed roster"])
    signers, problems = parse_allowed_signers(render_views(roster)[ALLOWED_SIGNERS])
    known = roster.known_keys()
    revoked_keys = frozenset(known[fp][1].raw for fp in state.revoked if fp in known)
    return Roster(
        signers=signers,
        people=state.people,
        revoked=Revocations(keys=revoked_keys),
        problems=problems,
    )
