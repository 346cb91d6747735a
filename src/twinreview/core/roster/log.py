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
                   (bool), request (sha256 of the join request it approves, or null), reset
                   (true when it resets a model, see below)
    update_person  person, and any of: name, role, models, admin
    add_key        person, new_key (openssh), reset (true when it resets a model)
    revoke_key     person, fingerprint, after {log fingerprint: last valid seq}
    remove_person  person, after {log fingerprint: last valid seq}
    policy         policy {"disclosure": {...}, "similarity": {...}}: the workspace's rules
    consent        model, uses (list or null: any), expires ("YYYY-MM-DD" or null), require
                   (roles), veto (bool), withdrawn (bool). Signed by the model herself.
    accept_head    target_log (fingerprint), target_seq (-1: the log is gone), target_hash (null
                   when gone): a log now ends there (a laptop lost before its log was synced);
                   its rollback stops blocking, and verify still reports it. A gap in a model's
                   log is accepted only by herself (it may hide her veto); any other log's by
                   its own person or the owner, never by an admin.

Who may sign what (checked against the roster as it stood just before the entry):
- genesis: seq 0 only; its signer is the **owner**. The workspace id is the sha256 hex of the
  genesis payload bytes.
- add/update/remove person, add/revoke key, policy: the owner, or a person the owner made admin,
  each signing with one of their own active keys. Only the owner appoints admins; nobody but the
  owner changes the owner. Anyone may add or revoke keys of their own (a new laptop, a lost one).
- The trust anchors of the policy (``disclosure.trust_anchors`` and the certificates signed with
  them) are the owner's alone: an admin's policy entry must keep them as they are.
- Nobody speaks for a model: her keys sign her consent and her decisions, so a key she never
  signed may come to speak for her only by a **reset**, which only the owner signs, with
  ``reset: true``: adding a key to her entry (by anyone but herself), adding her back after she
  was removed, or giving a model id that had its model person to another person. A role never
  changes into or out of ``model`` (a key added while she was "not a model" would otherwise
  become hers). A reset drops her consent for those model ids (she signs it again with the new
  key); verification shows every reset, and her decisions from before it are never superseded
  by the reset key's (her rejects stand).
- consent: the person with role ``model`` for that model id, with her own active key. One model
  person per model id, so nobody else can give, widen or extend her consent; an admin can only
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

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinreview.core.logs.log import (
    line_hash,
    parse_line,
    read_log,
)
from twinreview.core.logs.sshsig import SshPublicKey
from twinreview.core.roster.model import (
    ROSTER_LOG,
    Removal,
    Revocation,
    RosterEntry,
    RosterLogError,
    RosterProblem,
    RosterState,
)
from twinreview.core.roster.rules import (
    apply_entry,
    apply_genesis,
    check_signature,
)


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
        torn_tail: The bytes after the last newline (``b""`` for a clean file).
        tail_counted: The torn tail is a whole, good entry missing only its newline: it counts.
            Otherwise a torn tail cannot be read, and may hide a change: no image is cleared
            until it is set aside.
    """

    entries: list[RosterEntry] = field(default_factory=list)
    states: list[RosterState] = field(default_factory=list)
    problems: list[RosterProblem] = field(default_factory=list)
    workspace_id: str | None = None
    owner_key: SshPublicKey | None = None
    name: str = ""
    exists: bool = True
    torn_tail: bytes = b""
    tail_counted: bool = False

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
        if torn:
            # A whole entry that lacks only its newline counts (it may be her withdrawal).
            tail_line = (lines[-1][0] + 1 if lines else 1, torn + b"\n")
            with_tail = cls._replay_lines([*lines, tail_line], torn)
            last = with_tail.entries[-1] if with_tail.entries else None
            if last is not None and last.ok and last.line == tail_line[0]:
                with_tail.tail_counted = True
                with_tail.problems.append(
                    RosterProblem(
                        last.seq,
                        last.line,
                        "torn_tail",
                        "roster/roster.dlog: the last line lacks its final newline; it is a "
                        "whole, signed entry and counts (the next roster change finishes it)",
                    )
                )
                return with_tail
        out = cls._replay_lines(lines, torn)
        if torn:
            out.problems.append(
                RosterProblem(
                    None,
                    None,
                    "torn_tail",
                    f"roster/roster.dlog ends with {len(torn)} bytes of a line that cannot be "
                    "read (perhaps a model's consent or a revocation): no image can be cleared "
                    "until it is set aside (the next roster change, or 'twinreview roster "
                    "repair')",
                )
            )
        return out

    @classmethod
    def _replay_lines(cls, lines: Sequence[tuple[int, bytes]], torn: bytes) -> SignedRoster:
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
                signer = check_signature(payload, raw.payload_bytes, raw.sig)
            except RosterLogError as exc:
                out._bad(lineno, seq_i, kind, payload, h, "bad_signature", str(exc), data)
                broken = True
                continue
            if state is None:
                try:
                    state = apply_genesis(payload, signer, h)
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
                    state = apply_entry(state, payload, signer, h)
                except RosterLogError as exc:
                    # A signed but unauthorised or invalid change: reported, and the roster
                    # cannot be trusted past it (the chain continues, but nothing more applies).
                    why = f"entry {seq_i} ({kind}, signed by {principal}) does not count: {exc}"
                    out._bad(lineno, seq_i, kind, payload, h, "unauthorised", why, data)
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
