"""The checks of one log file.

Each line's format and signature, its signer as the roster stood when it was signed, time and
roster order, the hash chain, and forks between copies of a log.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from twinreview.core.logs.log import (
    KINDS,
    RawLine,
    line_hash,
)
from twinreview.core.logs.model import (
    BAD_SIGNATURE,
    BROKEN_CHAIN,
    FORGED,
    FORK,
    FUTURE_SLACK,
    MALFORMED,
    OUT_OF_ORDER,
    REPLAYED,
    REVOKED_KEY,
    UNKNOWN_KEY,
    WRONG_ROLE,
    Problem,
    VerifiedEntry,
)
from twinreview.core.logs.sshsig import NS_ENTRY, SshPublicKey, SshsigError, SshSignature, verify
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import RosterState


def header_error(payload: Mapping[str, Any]) -> str | None:
    """What is wrong with an entry's header fields, or None."""
    seq = payload.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return "seq is not a non-negative integer"
    for name in ("log", "ts", "principal", "role"):
        if not isinstance(payload.get(name), str):
            return f"{name} is missing or not text"
    if payload.get("kind") not in KINDS:
        return f"unknown kind {payload.get('kind')!r}"
    prev = payload.get("prev")
    if prev is not None and not isinstance(prev, str):
        return "prev is not text"
    if payload.get("v") != 1:
        return f"unsupported version {payload.get('v')!r}"
    return None


def check_line(raw: RawLine, rel: str, file_log: str | None) -> VerifiedEntry:
    """Format and signature checks of one line (the roster checks come later, in order)."""
    payload = raw.payload or {}
    seq = payload.get("seq")
    entry = VerifiedEntry(
        file=rel,
        line=raw.lineno,
        seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
        kind=payload.get("kind") if isinstance(payload.get("kind"), str) else None,
        log=payload.get("log") if isinstance(payload.get("log"), str) else None,
        principal=payload.get("principal") if isinstance(payload.get("principal"), str) else None,
        role=payload.get("role") if isinstance(payload.get("role"), str) else None,
        payload=payload,
        # Only the line's hash is ever needed again: keeping 100k lines' bytes would cost
        # memory (and time) for nothing.
        cached_hash=line_hash(raw.data),
    )
    if raw.error is not None or raw.payload_bytes is None or raw.sig is None:
        entry.flag(MALFORMED, raw.error or "malformed line")
        return entry
    wrong = header_error(payload)
    if wrong is not None:
        entry.flag(MALFORMED, f"bad payload: {wrong}")
        return entry
    try:
        parsed = SshSignature.parse(raw.sig)
        key = parsed.public_key
        verify(parsed, raw.payload_bytes, NS_ENTRY)
    except SshsigError as exc:
        entry.flag(BAD_SIGNATURE, f"the signature does not verify ({exc})")
        return entry
    if key.fingerprint != entry.log:
        entry.flag(
            BAD_SIGNATURE, f"signed by {key.fingerprint}, but the entry claims log {entry.log}"
        )
        return entry
    entry.key = key
    if payload.get("kind") == "genesis":
        try:
            named = SshPublicKey.parse(str(payload.get("key", "")))
        except SshsigError:
            named = None
        if named != key:
            entry.flag(MALFORMED, "the genesis entry does not name the key that signed it")
    if file_log is not None and entry.log != file_log:
        entry.flag(REPLAYED, f"this entry belongs to log {entry.log}, not to this file's log")
    return entry


class RosterJudge:
    """Finds the roster state each entry was signed under and checks the signer against it."""

    def __init__(self, roster: SignedRoster) -> None:
        self.roster = roster
        cur = roster.current
        self.revoked = dict(cur.revoked) if cur else {}
        self.removed = dict(cur.removed) if cur else {}
        # Legacy entries (signed before the roster was): the first roster entry whose heads cover
        # them (a migration names every log it took over).
        self.cover: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for roster_seq, head in roster.heads_named():
            log, hseq = head.get("log"), head.get("seq")
            if isinstance(log, str) and isinstance(hseq, int):
                self.cover[log].append((hseq, roster_seq))

    def state_for(self, entry: VerifiedEntry) -> tuple[RosterState | None, str | None]:
        """The roster state the entry was signed under, or None and why not."""
        named = entry.payload.get("roster")
        if isinstance(named, Mapping):
            seq, h = named.get("seq"), named.get("hash")
            if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(h, str):
                return None, "names a malformed roster head"
            state = self.roster.state_at(seq, h)
            if state is not None:
                return state, None
            if seq >= len(self.roster.states):
                return None, (
                    f"was signed under roster entry {seq}, but the signed roster has only "
                    f"{len(self.roster.states)} good entries: the roster was rolled back"
                )
            return None, f"names roster entry {seq} with another hash: the roster was rewritten"
        if entry.log is not None and entry.seq is not None:
            best: int | None = None
            for hseq, roster_seq in self.cover.get(entry.log, ()):
                if hseq >= entry.seq and (best is None or roster_seq < best):
                    best = roster_seq
            if best is not None:
                return self.roster.states[best], None
        return None, "names no roster head and no signed roster entry took it over"

    def _veto_kept(self, entry: VerifiedEntry, revoker: str, state: RosterState | None) -> bool:
        """True when ``entry`` is a model's reject and neither she nor the owner revoked her.

        Such a reject keeps counting past the revocation's (or removal's) ``after`` point.
        """
        cur = self.roster.current
        if cur is None or revoker in ("", cur.owner, entry.principal):
            return False
        if entry.kind != "decision" or entry.role != "model":
            return False
        if entry.payload.get("decision") != "reject":
            return False
        person = state.person(entry.principal or "") if state is not None else None
        return person is not None and person.role == "model"

    def judge(self, entry: VerifiedEntry, ws_id: str | None) -> int | None:
        """Flag what is wrong; returns the roster seq the entry was judged under."""
        key = entry.key
        if key is None or (not entry.ok and entry.state in (MALFORMED, BAD_SIGNATURE)):
            return None
        ws = entry.payload.get("ws")
        if ws is not None and ws != ws_id:
            entry.flag(REPLAYED, "this entry was signed for another workspace")
        principal = entry.principal or ""
        revocation = self.revoked.get(key.fingerprint)
        state, why = self.state_for(entry)
        # Her veto is never discarded on the word of someone else than her or the owner: an
        # admin's revocation or removal chooses its "after" point by hand, and a reject can
        # only hold an image back (a removed model's rejects keep counting, too).
        if revocation is not None and self._veto_kept(entry, revocation.by, state):
            revocation = None
        if revocation is not None and entry.log is not None and entry.seq is not None:
            # The effective point: what the revoker's device had verified of this key's logs.
            # Anything it had not seen counts as signed after the revocation (a stolen key can
            # name an old roster head; it cannot make the revoker have seen its entries).
            after = revocation.after.get(entry.log, -1)
            past = entry.seq > after and not revocation.head_only
            if past or (state is not None and state.seq >= revocation.seq):
                entry.flag(
                    REVOKED_KEY,
                    f"key {key.fingerprint} was revoked at roster entry {revocation.seq}; this "
                    "entry was signed after that",
                )
                return state.seq if state else None
        for removal in self.removed.get(principal, ()):
            # Past what the remover had seen, and not signed under a roster that lists the
            # person again (added back later): signed after the removal.
            if (
                not self._veto_kept(entry, removal.by, state)
                and entry.log is not None
                and entry.seq is not None
                and entry.seq > removal.after.get(entry.log, -1)
                and (state is None or state.seq < removal.seq)
            ):
                entry.flag(
                    REVOKED_KEY,
                    f"{principal} was removed at roster entry {removal.seq}; this entry was "
                    "signed after that",
                )
                return state.seq if state else None
        if state is None:
            entry.flag(UNKNOWN_KEY, f"the entry {why}")
            return None
        if not state.signer_allowed(principal, key):
            holder = state.principal_of(key)
            where = f" (it is {holder}'s key)" if holder else ""
            entry.flag(
                UNKNOWN_KEY,
                f"the signed roster (entry {state.seq}) does not give {principal} the key "
                f"{key.fingerprint}{where}",
            )
            return state.seq
        person = state.person(principal)
        if person is not None and person.role != entry.role:
            entry.flag(WRONG_ROLE, f"{principal} signed as {entry.role}, but is a {person.role}")
        return state.seq


def check_order(
    entries: list[VerifiedEntry],
    judged: list[int | None],
    now: dt.datetime,
    last_ts: dt.datetime | None = None,
    last_roster: int = -1,
) -> tuple[dt.datetime | None, int]:
    """Within one log: times never go back nor lie in the future; roster heads never go back.

    Returns the last time and roster seq seen (where a later check of appended lines resumes).
    """
    limit = now + FUTURE_SLACK
    for entry, roster_seq in zip(entries, judged, strict=True):
        if entry.state in (MALFORMED, BAD_SIGNATURE):
            continue
        ts = parse_ts(entry.payload.get("ts"))
        if ts is None:
            entry.flag(MALFORMED, "ts is not an ISO 8601 UTC time")
            continue
        if ts > limit:
            entry.flag(OUT_OF_ORDER, f"dated {entry.payload.get('ts')}, more than 24 h ahead")
        if last_ts is not None and ts < last_ts:
            entry.flag(OUT_OF_ORDER, "dated before the entry before it in the same log")
        last_ts = ts if last_ts is None else max(ts, last_ts)
        if roster_seq is not None:
            if roster_seq < last_roster:
                entry.flag(
                    OUT_OF_ORDER,
                    f"names roster entry {roster_seq} after an entry that named {last_roster}",
                )
            last_roster = max(last_roster, roster_seq)
    return last_ts, last_roster


def parse_ts(value: object) -> dt.datetime | None:
    """An entry's ``ts`` as an aware datetime, or None when it is not ISO 8601."""
    if not isinstance(value, str):
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        ts = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=dt.UTC)


def file_log_of(lines: list[RawLine]) -> str | None:
    """The log a file belongs to: the fingerprint most of its lines name (first on a tie)."""
    votes: Counter[str] = Counter()
    for raw in lines:
        log = raw.payload.get("log") if raw.payload else None
        if isinstance(log, str):
            votes[log] += 1
    if not votes:
        return None
    best = max(votes.values())
    return next(log for log in votes if votes[log] == best)


def check_chain(
    entries: list[VerifiedEntry],
    prev_entry: VerifiedEntry | None = None,
    closed_at: int | None = None,
) -> None:
    """Flag entries whose seq or prev do not follow the line before them."""
    for entry in entries:
        if entry.state == MALFORMED:
            prev_entry = entry
            continue
        if prev_entry is None:
            if entry.seq != 0 or entry.kind != "genesis" or entry.payload.get("prev") is not None:
                entry.flag(
                    BROKEN_CHAIN,
                    f"the file starts at seq {entry.seq} ({entry.kind}), not with the seq 0 "
                    "genesis entry: entries before it are missing",
                )
        else:
            if entry.payload.get("prev") != prev_entry.hash:
                entry.flag(
                    BROKEN_CHAIN,
                    "prev does not match the line before it: a line was edited, deleted or moved",
                )
            elif prev_entry.seq is not None and entry.seq != prev_entry.seq + 1:
                entry.flag(
                    BROKEN_CHAIN, f"seq {entry.seq} follows seq {prev_entry.seq}: not contiguous"
                )
            if entry.kind == "genesis":
                entry.flag(BROKEN_CHAIN, "a second genesis entry inside the log")
            if closed_at is not None:
                entry.flag(BROKEN_CHAIN, f"entry after the log was closed at seq {closed_at}")
        if entry.kind == "close" and closed_at is None:
            closed_at = entry.seq
        prev_entry = entry


def check_forks(files: dict[str, tuple[str | None, list[VerifiedEntry]]]) -> list[Problem]:
    """Copies of one log that differ at some seq: flag every entry from there on."""
    groups: dict[str, list[str]] = defaultdict(list)
    for rel, (log, _) in files.items():
        if log is not None:
            groups[log].append(rel)
    problems: list[Problem] = []
    for log, rels in groups.items():
        if len(rels) < 2:
            continue
        variants: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for rel in rels:
            for entry in files[rel][1]:
                # Only entries the key really signed can prove a fork; a forged or garbled line
                # in one copy is tampering, reported as such.
                if entry.seq is not None and entry.log == log and entry.state not in FORGED:
                    variants[entry.seq][entry.hash].append(rel)
        forked = sorted(seq for seq, v in variants.items() if len(v) > 1)
        if not forked:
            continue
        first = forked[0]
        copies = sorted({r for v in variants[first].values() for r in v})
        for rel in copies:
            others = ", ".join(c for c in copies if c != rel)
            problems.append(
                Problem(
                    rel,
                    first,
                    None,
                    FORK,
                    f"log {log} holds a different entry for seq {first} in {others}: "
                    "the log forked",
                )
            )
        for rel in rels:
            for entry in files[rel][1]:
                if entry.seq is not None and entry.seq >= first and entry.log == log:
                    entry.flag(
                        FORK, f"log {log} forked at seq {first} (copies: {', '.join(copies)})"
                    )
    return problems
