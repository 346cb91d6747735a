"""Verification of every decision log in a workspace. Reads only; never repairs anything.

Public API:
    verify_workspace(ws, roster=None) -> VerifyReport
        ``ws`` is the workspace root (a Path) or any object with a ``root`` Path (a Workspace).
        Scans ``logs/`` recursively for ``*.dlog`` (copies from other laptops may sit in
        sub-folders under any name) and checks them against ``roster/`` (loaded unless given).
    verify_logs(files, roster, root) -> VerifyReport: the same for explicit files.
    VerifyReport: ``ok``, ``entries`` (every line of every file, as VerifiedEntry),
        ``problems`` (list[Problem]), ``logs`` (list[LogSummary]), ``merged()`` (the good entries
        once each across copies, ordered by log then seq: what status/decisions consume),
        ``counts()``, ``to_json()``.
    VerifiedEntry: file, line, seq, kind, log, principal, role, payload (dict), state, ok.
    Problem: file, seq, line, kind (one of the non-good STATES or ``roster``/``unreadable``),
        message.
    STATES: good, malformed, bad_signature, replayed, unknown_key, revoked_key, wrong_role,
        broken_chain, out_of_order, torn_tail, fork.

Rules, per line (the first failing rule gives the state; all failures are listed as problems):
    malformed      not ``{"payload","sig"}`` JSON, payload not a JSON object, bad header fields
    bad_signature  the SSHSIG over the payload bytes (namespace twinreview-entry-v1) fails, or
                   was made by another key than the payload's ``log`` fingerprint
    replayed       the entry belongs to another log (its ``log`` differs from this file's log,
                   the fingerprint most lines of the file carry)
    revoked_key    the signed roster revoked the key (or removed its person) and the entry was
                   signed under a later roster head, or past the revocation's ``after`` point
    unknown_key    the roster state the entry names does not give its principal this key, or the
                   entry names a roster head the signed roster does not have
    wrong_role     at that roster state the person has another role than the payload claims
    broken_chain   seq is not the previous seq + 1, ``prev`` is not the sha256 of the previous
                   line, the first line is not a seq-0 genesis, or an entry follows ``close``
    torn_tail      a last line without its newline (reported as a pseudo-entry)
    fork           copies of one log (same fingerprint) hold different entries for the same seq:
                   every entry from the first differing seq on, in every copy, is marked
Merging: the union of the files; copies of one log must be prefixes of each other.
A deleted *last* line cannot be seen inside one file (nothing follows it); a longer copy elsewhere,
or a ``close`` entry, is what makes that visible.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from twinreview.core.declog import (
    KINDS,
    LOG_SUFFIX,
    LOGS_DIR,
    RawLine,
    StreamedLog,
    line_hash,
    stream_log,
)
from twinreview.core.rosterlog import SignedRoster, iter_heads
from twinreview.core.rostermodel import ROSTER_DIR, ROSTER_LOG_ID, RosterState
from twinreview.core.rosterviews import view_problems
from twinreview.core.sshsig import NS_ENTRY, SshPublicKey, SshsigError, SshSignature, verify

GOOD = "good"
MALFORMED = "malformed"
BAD_SIGNATURE = "bad_signature"
REPLAYED = "replayed"
REVOKED_KEY = "revoked_key"
UNKNOWN_KEY = "unknown_key"
WRONG_ROLE = "wrong_role"
BROKEN_CHAIN = "broken_chain"
TORN_TAIL = "torn_tail"
FORK = "fork"
OUT_OF_ORDER = "out_of_order"
STATES: tuple[str, ...] = (
    GOOD,
    MALFORMED,
    BAD_SIGNATURE,
    REPLAYED,
    REVOKED_KEY,
    UNKNOWN_KEY,
    WRONG_ROLE,
    BROKEN_CHAIN,
    OUT_OF_ORDER,
    TORN_TAIL,
    FORK,
)
# Problem kinds that are not about one entry.
ROSTER_PROBLEM = "roster"
UNREADABLE = "unreadable"
ROLLED_BACK = "rolled_back"
LOG_MISSING = "log_missing"
VIEW_EDITED = "view_edited"
NOT_A_LOG = "not_a_log"
ACCEPTED_GAP = "accepted_gap"
# Problems that are reported but make no decision untrustworthy.
NON_BLOCKING = frozenset({TORN_TAIL, VIEW_EDITED, ACCEPTED_GAP})
FUTURE_SLACK = dt.timedelta(hours=24)

_RANK = {state: i for i, state in enumerate(STATES)}
_FORGED = frozenset({MALFORMED, BAD_SIGNATURE})


class _HasRoot(Protocol):
    @property
    def root(self) -> Path: ...


@dataclass(frozen=True)
class Problem:
    """Something verification found wrong.

    Attributes:
        file: Workspace-relative posix path (``roster/...`` for roster problems).
        seq: The entry's seq if known.
        line: 1-based line number if about a line.
        kind: A non-good state, or ``roster`` / ``unreadable``.
        message: One plain sentence.
    """

    file: str
    seq: int | None
    line: int | None
    kind: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "file": self.file,
            "seq": self.seq,
            "line": self.line,
            "kind": self.kind,
            "message": self.message,
        }


@dataclass
class VerifiedEntry:
    """One line of one log file and its verdict.

    Attributes:
        file: Workspace-relative posix path of the file.
        line: 1-based line number.
        seq: ``seq`` from the payload (None if malformed).
        kind: Entry kind from the payload (None if malformed).
        log: The payload's ``log`` fingerprint (None if malformed).
        principal: The payload's principal (None if malformed).
        role: The payload's role (None if malformed).
        payload: The decoded payload ({} if malformed).
        state: The worst finding (``good`` if none).
        problems: Everything found for this line.
    """

    file: str
    line: int
    seq: int | None
    kind: str | None
    log: str | None
    principal: str | None
    role: str | None
    payload: Mapping[str, Any]
    state: str = GOOD
    problems: list[Problem] = field(default_factory=list)
    data: bytes = field(default=b"", repr=False)
    key: SshPublicKey | None = field(default=None, repr=False)
    roster_seq: int | None = None
    cached_hash: str | None = field(default=None, repr=False)

    @property
    def hash(self) -> str:
        """sha256 hex of the line (what the next entry's ``prev`` holds)."""
        if self.cached_hash is None:
            self.cached_hash = line_hash(self.data)
        return self.cached_hash

    @property
    def ok(self) -> bool:
        """True if nothing was found wrong with this entry."""
        return self.state == GOOD

    def flag(self, state: str, message: str) -> None:
        """Record a problem; the entry's state becomes the worst seen."""
        self.problems.append(Problem(self.file, self.seq, self.line, state, message))
        if self.state == GOOD or _RANK[state] < _RANK[self.state]:
            self.state = state


@dataclass(frozen=True)
class LogSummary:
    """One file's outcome.

    Attributes:
        file: Workspace-relative posix path.
        log: The log's key fingerprint (None if no line could be decoded).
        principal: The principal of its genesis (or first decodable) entry.
        entries: Number of complete lines.
        ok: True if every line is good and there is no torn tail.
    """

    file: str
    log: str | None
    principal: str | None
    entries: int
    ok: bool


@dataclass
class VerifyReport:
    """Everything :func:`verify_workspace` found.

    Attributes:
        root: The workspace root.
        entries: Every line of every decision log, with its verdict.
        problems: Everything wrong (entries, roster, rollbacks, missing logs, edited views).
        logs: One summary per file.
        roster: The signed roster as replayed.
        heads: Log fingerprint (and ``"roster"``) -> (seq, line hash) of its longest good prefix:
            what this device has now verified (saved as its rollback record).
        prefixes: Files that verified wholly good, as verified-prefix records for the next run.
    """

    root: Path
    entries: list[VerifiedEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    logs: list[LogSummary] = field(default_factory=list)
    roster: SignedRoster = field(default_factory=SignedRoster)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    prefixes: dict[str, VerifiedPrefix] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True if every entry of every file is good and the roster could be read.

        A gap the owner accepted with a signed ``accept_head`` is still listed among the
        problems, for the record, but does not make the report fail.
        """
        return all(p.kind == ACCEPTED_GAP for p in self.problems)

    @property
    def blocking_problems(self) -> list[Problem]:
        """The problems that make decisions untrustworthy (not torn tails, not edited views)."""
        return [p for p in self.problems if p.kind not in NON_BLOCKING]

    def counts(self) -> dict[str, int]:
        """Number of entries per state (states with zero omitted)."""
        return dict(Counter(e.state for e in self.entries))

    def merged(self) -> list[VerifiedEntry]:
        """The good entries, each (log, seq) once across copies, ordered by log then seq."""
        seen: dict[tuple[str, int], VerifiedEntry] = {}
        for entry in self.entries:
            if entry.ok and entry.log is not None and entry.seq is not None:
                seen.setdefault((entry.log, entry.seq), entry)
        return [seen[k] for k in sorted(seen)]

    def to_json(self, *, with_entries: bool = True) -> dict[str, Any]:
        """JSON-ready dict: ok, counts, logs, problems and (optionally) every entry's state."""
        head = self.roster.head
        owner = self.roster.owner_key
        out: dict[str, Any] = {
            "ok": self.ok,
            "workspace_id": self.roster.workspace_id,
            "owner": (
                {"principal": self.roster.owner, "fingerprint": owner.fingerprint}
                if owner is not None
                else None
            ),
            "roster_head": {"seq": head[0], "hash": head[1]} if head else None,
            "counts": self.counts(),
            "logs": [
                {
                    "file": s.file,
                    "log": s.log,
                    "principal": s.principal,
                    "entries": s.entries,
                    "ok": s.ok,
                }
                for s in self.logs
            ],
            "heads": {k: {"seq": v[0], "hash": v[1]} for k, v in sorted(self.heads.items())},
            "problems": [p.to_json() for p in self.problems],
        }
        if with_entries:
            out["entries"] = [
                {
                    "file": e.file,
                    "line": e.line,
                    "seq": e.seq,
                    "kind": e.kind,
                    "principal": e.principal,
                    "state": e.state,
                }
                for e in self.entries
            ]
        return out


def find_log_files(root: Path) -> list[Path]:
    """Every ``*.dlog`` file under ``<root>/logs`` (recursively, sorted, symlinks not followed)."""
    logs = root / LOGS_DIR
    if not logs.is_dir():
        return []
    return sorted(p for p in logs.rglob(f"*{LOG_SUFFIX}") if p.is_file() and not p.is_symlink())


def stray_files(root: Path) -> list[str]:
    """Anything under ``logs/`` that is not a log (sync conflict copies, renamed logs, links).

    Lock files (``.<name>.lock``) and the set-aside torn tails (``<name>.torn-*``) are expected.
    """
    logs = root / LOGS_DIR
    if not logs.is_dir():
        return []
    out: list[str] = []
    for p in sorted(logs.rglob("*")):
        name = p.name
        if p.is_dir() and not p.is_symlink():
            continue
        if name.endswith(LOG_SUFFIX) and p.is_file() and not p.is_symlink():
            continue
        if (name.startswith(".") and name.endswith(".lock")) or ".dlog.torn-" in name:
            continue
        out.append(_rel(p, root))
    return out


def verify_workspace(
    ws: Path | _HasRoot,
    roster: SignedRoster | None = None,
    *,
    seen: Mapping[str, tuple[int, str]] | None = None,
    now: dt.datetime | None = None,
    prefixes: Mapping[str, VerifiedPrefix] | None = None,
) -> VerifyReport:
    """Verify every log of a workspace against its signed roster.

    Args:
        ws: The workspace root, or an object with a ``root`` attribute.
        roster: The signed roster; replayed from ``<root>/roster/roster.dlog`` when omitted.
        seen: This device's record of the longest prefix it verified before, per log
            fingerprint (and ``"roster"``): a log that is shorter now, or different at that
            seq, was rolled back or rewritten.
        now: The time to judge "dated in the future" against (default: now).
        prefixes: Verified-prefix records of an earlier run (see :class:`VerifiedPrefix`).

    Returns:
        The report; never raises for bad log contents (those are problems in the report).
    """
    root = ws if isinstance(ws, Path) else ws.root
    if roster is None:
        roster = SignedRoster.load(root / ROSTER_DIR)
    logs = root / LOGS_DIR
    if logs.is_dir() and not logs.resolve().is_relative_to(root.resolve()):
        # A hostile workspace must not make verification wander over the reviewer's disk.
        report = verify_logs([], roster, root, seen=seen, now=now)
        report.problems.append(
            Problem(
                LOGS_DIR, None, None, UNREADABLE, "logs/ is a link leading outside the workspace"
            )
        )
        return report
    report = verify_logs(
        find_log_files(root), roster, root, seen=seen, now=now, prefixes=prefixes
    )
    if roster.exists:
        for message in view_problems(root / ROSTER_DIR, roster):
            report.problems.append(Problem(ROSTER_DIR, None, None, VIEW_EDITED, message))
    for rel in stray_files(root):
        report.problems.append(
            Problem(
                rel,
                None,
                None,
                NOT_A_LOG,
                "not a decision log (a sync conflict copy or a renamed log?): its entries are "
                "not counted; merge or remove it",
            )
        )
    return report


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _header_error(payload: Mapping[str, Any]) -> str | None:
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


def _check_line(raw: RawLine, rel: str, file_log: str | None) -> VerifiedEntry:
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
        data=raw.data,
    )
    if raw.error is not None or raw.payload_bytes is None or raw.sig is None:
        entry.flag(MALFORMED, raw.error or "malformed line")
        return entry
    header_error = _header_error(payload)
    if header_error is not None:
        entry.flag(MALFORMED, f"bad payload: {header_error}")
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


class _RosterJudge:
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
        if revocation is not None and entry.log is not None and entry.seq is not None:
            # The effective point: what the revoker's device had verified of this key's logs.
            # Anything it had not seen counts as signed after the revocation (a stolen key can
            # name an old roster head; it cannot make the revoker have seen its entries).
            after = revocation.after.get(entry.log, -1)
            if entry.seq > after or (state is not None and state.seq >= revocation.seq):
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
                entry.log is not None
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


def _check_order(
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
        ts = _parse_ts(entry.payload.get("ts"))
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


def _parse_ts(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        ts = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=dt.UTC)


def _file_log(lines: list[RawLine]) -> str | None:
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


def _check_chain(
    entries: list[VerifiedEntry],
    prev_entry: VerifiedEntry | None = None,
    closed_at: int | None = None,
) -> None:
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


def _check_forks(files: dict[str, tuple[str | None, list[VerifiedEntry]]]) -> list[Problem]:
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
                if entry.seq is not None and entry.log == log and entry.state not in _FORGED:
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


def verify_logs(
    paths: Iterable[Path],
    roster: SignedRoster,
    root: Path,
    *,
    seen: Mapping[str, tuple[int, str]] | None = None,
    now: dt.datetime | None = None,
    prefixes: Mapping[str, VerifiedPrefix] | None = None,
) -> VerifyReport:
    """Verify the given log files against ``roster``; paths are reported relative to ``root``.

    See :func:`verify_workspace` for ``seen`` and ``now``; ``prefixes`` (by relative path) are
    the verified-prefix records of an earlier run (:class:`VerifiedPrefix`).
    """
    # Verifying allocates a few objects per entry and frees none until the end: the cyclic
    # collector would rescan the growing heap again and again (~7 % of the time for 100k
    # entries) for cycles that do not exist. It runs once, afterwards, as usual.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _verify_logs(
            paths, roster, root, seen or {}, now or dt.datetime.now(dt.UTC), prefixes or {}
        )
    finally:
        if was_enabled:
            gc.enable()


def _verify_logs(
    paths: Iterable[Path],
    roster: SignedRoster,
    root: Path,
    seen: Mapping[str, tuple[int, str]],
    now: dt.datetime,
    prefixes: Mapping[str, VerifiedPrefix],
) -> VerifyReport:
    report = VerifyReport(root, roster=roster)
    for rp in roster.problems:
        kind = TORN_TAIL if rp.kind == "torn_tail" else ROSTER_PROBLEM
        report.problems.append(
            Problem(f"{ROSTER_DIR}/roster.dlog", rp.seq, rp.line, kind, rp.message)
        )
    judge = _RosterJudge(roster)
    roster_hash = roster.head[1] if roster.head else ""
    per_file: dict[str, tuple[str | None, list[VerifiedEntry]]] = {}
    torn: list[VerifiedEntry] = []
    sizes: dict[str, tuple[int, str]] = {}
    reuse: dict[str, VerifiedPrefix] = {}
    cached_named: dict[str, tuple[int, Mapping[str, tuple[int, str, str]]]] = {}
    stats: dict[str, tuple[int, int, int, int, int]] = {}
    for path in paths:
        rel = _rel(path, root)
        record = prefixes.get(rel)
        streamed: StreamedLog | None = None
        try:
            st = _stat_key(path.stat())
            usable = (
                record
                if record is not None
                and roster_hash
                and record.roster_head == roster_hash
                and st[0] >= record.size
                else None
            )
            cached: VerifiedPrefix | None = None
            if usable is not None and usable.stat == st and usable.size == st[0]:
                cached = usable  # unchanged since it was verified: the record is the file
            elif usable is not None:
                # Grown: hash the verified prefix, decode only what was appended.
                streamed = stream_log(path, skip=usable.size, first_lineno=len(usable.rows) + 1)
                if streamed.prefix_sha256 == usable.digest:
                    cached = usable
                elif streamed.prefix_sha256 is not None:
                    streamed = stream_log(path)  # the prefix changed: everything again
            else:
                streamed = stream_log(path)
            old: list[VerifiedEntry] = []
            if cached is not None:
                try:
                    old = [_entry_from_row(rel, cached.log, row) for row in cached.rows]
                except (ValueError, TypeError, KeyError, AttributeError):
                    cached = None  # a damaged cache record: verify the whole file
                    streamed = stream_log(path)
        except OSError as exc:
            report.problems.append(
                Problem(rel, None, None, UNREADABLE, f"cannot read the log ({exc.strerror})")
            )
            continue
        stats[rel] = st
        content = streamed.content if streamed is not None else None
        file_log: str | None
        if cached is None:
            assert content is not None
            file_log = _file_log(content.lines)
            last_ts, last_roster, closed_at = None, -1, None
        else:
            file_log = cached.log
            last_ts, last_roster = _parse_ts(cached.last_ts), cached.last_roster
            closed_at = cached.closed_at
            cached_named[rel] = (len(old), cached.named)
        lines = content.lines if content is not None else []
        entries = [_check_line(raw, rel, file_log) for raw in lines]
        _check_chain(entries, old[-1] if old else None, closed_at)
        judged = [judge.judge(e, roster.workspace_id) for e in entries]
        for e, roster_seq in zip(entries, judged, strict=True):
            e.roster_seq = roster_seq
        _check_order(entries, judged, now, last_ts, last_roster)
        entries = old + entries
        per_file[rel] = (file_log, entries)
        if content is not None and content.torn_tail:
            last_seq = next((e.seq for e in reversed(entries) if e.seq is not None), -1)
            pseudo = VerifiedEntry(
                rel, len(entries) + 1, last_seq + 1, None, file_log, None, None, {}
            )
            pseudo.flag(
                TORN_TAIL,
                f"the file ends with {len(content.torn_tail)} bytes of an incomplete line "
                "(an interrupted write; the next append moves it aside)",
            )
            torn.append(pseudo)
        elif cached is not None and not lines:
            reuse[rel] = cached  # nothing appended: the record stands as it is
        elif streamed is not None:
            sizes[rel] = (streamed.size, streamed.sha256)
    fork_problems = _check_forks(per_file)
    all_good: dict[str, bool] = {}
    for rel, (file_log, entries) in per_file.items():
        report.entries.extend(entries)
        file_torn = [t for t in torn if t.file == rel]
        report.entries.extend(file_torn)
        principal = next((e.principal for e in entries if e.principal), None)
        bad = [e for e in entries if e.state != GOOD]
        all_good[rel] = not bad
        ok = not bad and not file_torn
        report.logs.append(LogSummary(rel, file_log, principal, len(entries), ok))
        for entry in bad + file_torn:
            report.problems.extend(p for p in entry.problems if p.kind != FORK)
    report.problems.extend(fork_problems)
    named = _check_heads(report, per_file, roster, seen, cached_named)
    for rel, (file_log, entries) in per_file.items():
        if not entries or not all_good[rel]:
            continue
        if rel in reuse:
            record = reuse[rel]
            report.prefixes[rel] = replace(record, stat=stats[rel]) if (
                record.stat != stats[rel]
            ) else record
        elif rel in sizes and file_log is not None:
            size, digest = sizes[rel]
            report.prefixes[rel] = _prefix_of(
                size, digest, stats[rel], file_log, roster_hash, entries, named.get(rel, {})
            )
    return report


# -- the verified-prefix cache ---------------------------------------------------------------

# Payload fields a cached entry does not keep: implied by the file (v, ws), only needed for
# checks that already passed (prev), or never read after verification (findings: large).
_DROPPED = ("v", "ws", "prev", "findings")
# Kept in the row itself (read without parsing the payload), so left out of the payload text.
_IN_ROW = ("log", "seq", "ts", "principal", "role", "kind", "asset")


class _CachedEntry(VerifiedEntry):
    """An entry from a verified-prefix record: its payload is parsed only when someone reads it.

    Status reads a few fields of every entry (kind, asset, time) and whole payloads only of the
    entries about assets that are present; the record keeps those fields apart from the payload
    text so that a long, unchanged history is not parsed again.
    """

    _text: str = ""
    _parsed: Mapping[str, Any] | None = None
    asset: str | None = None
    ts: str = ""

    @property
    def payload(self) -> Mapping[str, Any]:
        if self._parsed is None:
            value = json.loads(self._text)
            if not isinstance(value, dict):
                raise ValueError("damaged verified-prefix record")
            value.update(
                log=self.log,
                seq=self.seq,
                ts=self.ts,
                principal=self.principal,
                role=self.role,
                kind=self.kind,
            )
            if self.asset is not None:
                value["asset"] = self.asset
            self._parsed = value
        return self._parsed

    @payload.setter
    def payload(self, value: Mapping[str, Any]) -> None:
        self._parsed = value or None


@dataclass(frozen=True)
class VerifiedPrefix:
    """A log file whose every line verified good under one roster head.

    Kept by the caller (``services.trust.Verifier``, in the user cache folder) and passed back.
    When the file is unchanged (same size, mtime, ctime, inode and device: the change time cannot
    be set back) only the record is read; when it grew and its first ``size`` bytes still hash to
    ``digest``, only the lines appended since are verified. In both cases the roster head must be
    the same (a roster change can change old verdicts). A workspace where nothing changed thus
    gets its verification, and its status, without reading or checking 100k entries again.

    Attributes:
        size: Bytes of the file that were verified (whole lines).
        digest: sha256 hex of those bytes.
        stat: (size, mtime_ns, ctime_ns, inode, device) of the file when it was verified.
        log: The log's key fingerprint.
        roster_head: Hash of the roster head the entries were judged under.
        rows: Per entry: ``[line hash, roster seq, seq, kind, principal, role, asset, ts,
            payload JSON without the _DROPPED fields and those in the row]``.
        named: The heads of other logs (and of the roster) the entries name: log -> [seq, hash,
            who], for the rollback checks.
        last_ts: The time of the last entry (appended lines must not go back).
        last_roster: The highest roster seq named so far.
        closed_at: Seq of a ``close`` entry, if any.
    """

    size: int
    digest: str
    stat: tuple[int, int, int, int, int]
    log: str
    roster_head: str
    rows: list[list[Any]]
    named: Mapping[str, tuple[int, str, str]]
    last_ts: str
    last_roster: int
    closed_at: int | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (for the cache file)."""
        return {
            "v": 3,
            "size": self.size,
            "digest": self.digest,
            "stat": list(self.stat),
            "log": self.log,
            "roster_head": self.roster_head,
            "rows": self.rows,
            "named": {k: list(v) for k, v in self.named.items()},
            "last_ts": self.last_ts,
            "last_roster": self.last_roster,
            "closed_at": self.closed_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VerifiedPrefix:
        """Read :meth:`to_json` output back.

        Rows are checked where they are used; a damaged one makes the caller verify the file in
        full.

        Raises:
            ValueError, TypeError, KeyError: not a cache record (the caller drops it).
        """
        if data.get("v") != 3:
            raise ValueError("old cache record")
        rows = data["rows"]
        stat = tuple(int(x) for x in data["stat"])
        if not isinstance(rows, list) or len(stat) != 5:
            raise TypeError("not a cache record")
        named = {
            str(k): (int(v[0]), str(v[1]), str(v[2])) for k, v in dict(data["named"]).items()
        }
        closed = data["closed_at"]
        return cls(
            int(data["size"]),
            str(data["digest"]),
            stat,
            str(data["log"]),
            str(data["roster_head"]),
            rows,
            named,
            str(data["last_ts"]),
            int(data["last_roster"]),
            int(closed) if closed is not None else None,
        )


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _entry_from_row(rel: str, log: str, row: Sequence[Any]) -> VerifiedEntry:
    h, roster_seq, seq, kind, principal, role, asset, ts, text = row
    if (
        not isinstance(h, str)
        or not isinstance(seq, int)
        or not isinstance(text, str)
        or not (roster_seq is None or isinstance(roster_seq, int))
    ):
        raise ValueError("damaged verified-prefix record")
    # Built without the dataclass __init__ (a long history has 100k of these): the same
    # attributes, set at once; the payload stays text until someone reads it.
    entry = _CachedEntry.__new__(_CachedEntry)
    entry.__dict__.update(
        file=rel,
        line=seq + 1,
        seq=seq,
        kind=kind,
        log=log,
        principal=principal,
        role=role,
        state=GOOD,
        problems=[],
        data=b"",
        key=None,
        roster_seq=roster_seq,
        cached_hash=h,
        _text=text,
        _parsed=None,
        asset=asset if isinstance(asset, str) else None,
        ts=ts if isinstance(ts, str) else "",
    )
    return entry


def _row_of(e: VerifiedEntry) -> list[Any]:
    if isinstance(e, _CachedEntry) and e._parsed is None:
        text = e._text  # never parsed: the stored text stands
    else:
        kept = {k: v for k, v in e.payload.items() if k not in _DROPPED and k not in _IN_ROW}
        text = json.dumps(kept, ensure_ascii=False, separators=(",", ":"))
    asset = e.payload.get("asset") if not isinstance(e, _CachedEntry) else e.asset
    ts = e.payload.get("ts") if not isinstance(e, _CachedEntry) else e.ts
    return [e.hash, e.roster_seq, e.seq, e.kind, e.principal, e.role, asset, ts, text]


def _prefix_of(
    size: int,
    digest: str,
    stat: tuple[int, int, int, int, int],
    log: str,
    roster_hash: str,
    entries: list[VerifiedEntry],
    named: Mapping[str, tuple[int, str, str]],
) -> VerifiedPrefix:
    rows = [_row_of(e) for e in entries]
    closed = next((e.seq for e in entries if e.kind == "close"), None)
    last_roster = max((e.roster_seq for e in entries if e.roster_seq is not None), default=-1)
    return VerifiedPrefix(
        size,
        digest,
        stat,
        log,
        roster_hash,
        rows,
        dict(named),
        str(rows[-1][7]),
        last_roster,
        closed,
    )


def entry_asset(entry: VerifiedEntry) -> str | None:
    """The asset a decision entry is about, without parsing a cached entry's whole payload."""
    if isinstance(entry, _CachedEntry):
        return entry.asset
    asset = entry.payload.get("asset")
    return asset if isinstance(asset, str) else None


def entry_ts(entry: VerifiedEntry) -> str:
    """An entry's signed time as written (ISO 8601 UTC), without parsing a cached payload."""
    if isinstance(entry, _CachedEntry):
        return entry.ts
    ts = entry.payload.get("ts")
    return ts if isinstance(ts, str) else ""


def _named_by(
    rel: str, entries: Iterable[VerifiedEntry], keys: Mapping[str, Any]
) -> dict[str, tuple[int, str, str]]:
    """The highest head of each other log (and of the roster) that good entries name."""
    named: dict[str, tuple[int, str, str]] = {}

    def note(log: str, seq: int, h: str, who: str) -> None:
        best = named.get(log)
        if best is None or seq > best[0]:
            named[log] = (seq, h, who)

    for e in entries:
        # An entry that names a roster head this roster lacks is unknown_key; when its key was
        # on this roster, the head it names is still evidence that the roster was cut back
        # (which blocks everything, not only that signer's assets).
        cut_back = e.state == UNKNOWN_KEY and e.key is not None and e.key.fingerprint in keys
        if not e.ok and not cut_back:
            continue
        if e.ok:
            for log, seq, h in iter_heads(e.payload):
                if log != e.log:
                    note(log, seq, h, f"{rel} seq {e.seq} ({e.principal})")
        named_roster = e.payload.get("roster")
        if isinstance(named_roster, Mapping):
            rs, rh = named_roster.get("seq"), named_roster.get("hash")
            if isinstance(rs, int) and isinstance(rh, str):
                note(ROSTER_LOG_ID, rs, rh, f"{rel} seq {e.seq} ({e.principal})")
    return named


def _check_heads(
    report: VerifyReport,
    per_file: Mapping[str, tuple[str | None, list[VerifiedEntry]]],
    roster: SignedRoster,
    seen: Mapping[str, tuple[int, str]],
    cached: Mapping[str, tuple[int, Mapping[str, tuple[int, str, str]]]] | None = None,
) -> dict[str, dict[str, tuple[int, str, str]]]:
    """Rollback, truncation and deletion: compare each log with every head anyone saw of it.

    ``cached`` maps a file to (number of its entries that came from a verified-prefix record,
    the heads those entries named): only the entries after them are read again. Returns the heads
    each file's entries name (for the next record).
    """
    cached = cached or {}
    # The longest verified prefix of each log over all its copies: copies are prefixes of each
    # other unless forked (reported elsewhere).
    prefix_of: dict[str, list[VerifiedEntry]] = {}
    files_of: dict[str, list[str]] = defaultdict(list)
    for rel, (file_log, entries) in per_file.items():
        if file_log is None:
            continue
        files_of[file_log].append(rel)
        n = 0
        for e in entries:
            if e.log != file_log or e.seq != n or e.state in _FORGED:
                break
            n += 1
        if n > len(prefix_of.get(file_log, ())):
            prefix_of[file_log] = entries[:n]
    for log, prefix in prefix_of.items():
        report.heads[log] = (len(prefix) - 1, prefix[-1].hash)
    if roster.head is not None:
        report.heads[ROSTER_LOG_ID] = roster.head

    # Every head named by a good entry (decision logs and roster), and this device's record.
    keys = roster.known_keys()
    per_file_named: dict[str, dict[str, tuple[int, str, str]]] = {}
    named: dict[str, tuple[int, str, str]] = {}

    def note(log: str, seq: int, h: str, who: str) -> None:
        best = named.get(log)
        if best is None or seq > best[0]:
            named[log] = (seq, h, who)

    for rel, (_, entries) in per_file.items():
        start, earlier = cached.get(rel, (0, {}))
        mine = dict(earlier)
        for log, (seq, h, who) in _named_by(rel, entries[start:], keys).items():
            if log not in mine or seq > mine[log][0]:
                mine[log] = (seq, h, who)
        per_file_named[rel] = mine
        for log, (seq, h, who) in mine.items():
            note(log, seq, h, who)
    for roster_seq, head in roster.heads_named():
        for log, seq, h in iter_heads({"heads": [head]}):
            note(log, seq, h, f"roster entry {roster_seq}")
    for log, (seq, h) in seen.items():
        best = named.get(log)
        if best is None or seq >= best[0]:
            named[log] = (seq, h, "this device's last verification")

    current = roster.current
    accepted_heads = dict(current.accepted) if current is not None else {}
    for log, (seq, h, who) in sorted(named.items()):
        have = report.heads.get(log)
        is_roster = log == ROSTER_LOG_ID
        where = f"{ROSTER_DIR}/roster.dlog" if is_roster else ", ".join(files_of.get(log, []))
        owner = keys.get(log)
        label = (
            "the signed roster" if is_roster else f"log {log}" + (f" ({owner[0]})" if owner else "")
        )
        accepted = accepted_heads.get(log)
        now_at = (have[0], have[1]) if have is not None else (-1, None)
        if accepted is not None and (accepted[0], accepted[1]) == now_at:
            ok_note = f"; the owner accepted this at roster entry {accepted[2]}"
        else:
            ok_note = ""
        if have is None:
            if is_roster and not roster.exists:
                continue  # already reported: there is no signed roster at all
            report.problems.append(
                Problem(
                    where or f"{LOGS_DIR}/",
                    seq,
                    None,
                    ACCEPTED_GAP if ok_note else LOG_MISSING,
                    f"{label} is missing, but {who} saw it at seq {seq}: it was deleted{ok_note}",
                )
            )
            continue
        if have[0] < seq:
            report.problems.append(
                Problem(
                    where,
                    seq,
                    None,
                    ACCEPTED_GAP if ok_note else ROLLED_BACK,
                    f"{label} has {have[0] + 1} entries, but {who} saw {seq + 1}: it was "
                    f"rolled back or truncated{ok_note}",
                )
            )
            continue
        if is_roster:
            actual = roster.states[seq].head_hash if seq < len(roster.states) else None
        else:
            prefix = prefix_of.get(log, [])
            actual = prefix[seq].hash if seq < len(prefix) else None
        if actual is not None and actual != h:
            report.problems.append(
                Problem(
                    where,
                    seq,
                    None,
                    FORK,
                    f"{label} holds another entry at seq {seq} than {who} saw: it was rewritten",
                )
            )
    return per_file_named
