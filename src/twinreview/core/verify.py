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
        broken_chain, torn_tail, fork.

Rules, per line (the first failing rule gives the state; all failures are listed as problems):
    malformed      not ``{"payload","sig"}`` JSON, payload not a JSON object, bad header fields
    bad_signature  the SSHSIG over the payload bytes (namespace twinreview-entry-v1) fails, or
                   was made by another key than the payload's ``log`` fingerprint
    replayed       the entry belongs to another log (its ``log`` differs from this file's log,
                   the fingerprint most lines of the file carry)
    revoked_key    the key is in roster/revoked
    unknown_key    allowed_signers does not let the payload's principal sign with this key
    wrong_role     people.toml has no such person, or another role than the payload claims
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

import gc
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from twinreview.core.declog import KINDS, LOG_SUFFIX, LOGS_DIR, RawLine, line_hash, read_log
from twinreview.core.roster import Roster
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
STATES: tuple[str, ...] = (
    GOOD,
    MALFORMED,
    BAD_SIGNATURE,
    REPLAYED,
    REVOKED_KEY,
    UNKNOWN_KEY,
    WRONG_ROLE,
    BROKEN_CHAIN,
    TORN_TAIL,
    FORK,
)
# Problem kinds that are not about one entry.
ROSTER_PROBLEM = "roster"
UNREADABLE = "unreadable"

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
    """Everything :func:`verify_workspace` found."""

    root: Path
    entries: list[VerifiedEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    logs: list[LogSummary] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if every entry of every file is good and the roster could be read."""
        return not self.problems

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
        out: dict[str, Any] = {
            "ok": self.ok,
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


def verify_workspace(ws: Path | _HasRoot, roster: Roster | None = None) -> VerifyReport:
    """Verify every log of a workspace against its roster.

    Args:
        ws: The workspace root, or an object with a ``root`` attribute.
        roster: The roster to check against; read from ``<root>/roster`` when omitted.

    Returns:
        The report; never raises for bad log contents (those are problems in the report).
    """
    root = ws if isinstance(ws, Path) else ws.root
    if roster is None:
        roster = Roster.load(root / "roster")
    logs = root / LOGS_DIR
    if logs.is_dir() and not logs.resolve().is_relative_to(root.resolve()):
        # A hostile workspace must not make verification wander over the reviewer's disk.
        report = verify_logs([], roster, root)
        report.problems.append(
            Problem(
                LOGS_DIR, None, None, UNREADABLE, "logs/ is a link leading outside the workspace"
            )
        )
        return report
    return verify_logs(find_log_files(root), roster, root)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


class _Checker:
    def __init__(self, roster: Roster) -> None:
        self.roster = roster
        self._revoked: dict[bytes, bool] = {}
        self._allowed: dict[tuple[str, bytes], bool] = {}

    def revoked(self, key: SshPublicKey) -> bool:
        hit = self._revoked.get(key.raw)
        if hit is None:
            hit = self.roster.is_revoked(key)
            self._revoked[key.raw] = hit
        return hit

    def allowed(self, principal: str, key: SshPublicKey) -> bool:
        cache_key = (principal, key.raw)
        hit = self._allowed.get(cache_key)
        if hit is None:
            hit = self.roster.signer_allowed(principal, key, NS_ENTRY)
            self._allowed[cache_key] = hit
        return hit


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


def _check_line(raw: RawLine, rel: str, file_log: str | None, checker: _Checker) -> VerifiedEntry:
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
    if payload.get("kind") == "genesis":
        try:
            named = SshPublicKey.parse(str(payload.get("key", "")))
        except SshsigError:
            named = None
        if named != key:
            entry.flag(MALFORMED, "the genesis entry does not name the key that signed it")
    if file_log is not None and entry.log != file_log:
        entry.flag(REPLAYED, f"this entry belongs to log {entry.log}, not to this file's log")
    principal = entry.principal or ""
    if checker.revoked(key):
        entry.flag(REVOKED_KEY, f"key {key.fingerprint} is revoked (roster/revoked)")
    elif not checker.allowed(principal, key):
        others = checker.roster.principals_for(key)
        where = f" (it is listed for {', '.join(others)})" if others else ""
        entry.flag(
            UNKNOWN_KEY,
            f"roster/allowed_signers does not allow {principal} to sign with "
            f"{key.fingerprint}{where}",
        )
    person = checker.roster.person(principal)
    if person is None:
        entry.flag(WRONG_ROLE, f"{principal} is not in roster/people.toml")
    elif person.role != entry.role:
        entry.flag(WRONG_ROLE, f"{principal} signed as {entry.role}, but is a {person.role}")
    return entry


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


def _check_chain(entries: list[VerifiedEntry]) -> None:
    prev_entry: VerifiedEntry | None = None
    closed_at: int | None = None
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
            expected_prev = line_hash(prev_entry.data)
            if entry.payload.get("prev") != expected_prev:
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
        variants: dict[int, dict[bytes, list[str]]] = defaultdict(lambda: defaultdict(list))
        for rel in rels:
            for entry in files[rel][1]:
                # Only entries the key really signed can prove a fork; a forged or garbled line
                # in one copy is tampering, reported as such.
                if entry.seq is not None and entry.log == log and entry.state not in _FORGED:
                    variants[entry.seq][entry.data].append(rel)
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


def verify_logs(paths: Iterable[Path], roster: Roster, root: Path) -> VerifyReport:
    """Verify the given log files against ``roster``; paths are reported relative to ``root``."""
    # Verifying allocates a few objects per entry and frees none until the end: the cyclic
    # collector would rescan the growing heap again and again (~7 % of the time for 100k
    # entries) for cycles that do not exist. It runs once, afterwards, as usual.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _verify_logs(paths, roster, root)
    finally:
        if was_enabled:
            gc.enable()


def _verify_logs(paths: Iterable[Path], roster: Roster, root: Path) -> VerifyReport:
    report = VerifyReport(root)
    for message in roster.problems:
        report.problems.append(Problem("roster", None, None, ROSTER_PROBLEM, message))
    checker = _Checker(roster)
    per_file: dict[str, tuple[str | None, list[VerifiedEntry]]] = {}
    torn: list[VerifiedEntry] = []
    for path in paths:
        rel = _rel(path, root)
        try:
            content = read_log(path)
        except OSError as exc:
            report.problems.append(
                Problem(rel, None, None, UNREADABLE, f"cannot read the log ({exc.strerror})")
            )
            continue
        file_log = _file_log(content.lines)
        entries = [_check_line(raw, rel, file_log, checker) for raw in content.lines]
        _check_chain(entries)
        per_file[rel] = (file_log, entries)
        if content.torn_tail:
            last_seq = next((e.seq for e in reversed(entries) if e.seq is not None), -1)
            pseudo = VerifiedEntry(
                rel, len(content.lines) + 1, last_seq + 1, None, file_log, None, None, {}
            )
            pseudo.flag(
                TORN_TAIL,
                f"the file ends with {len(content.torn_tail)} bytes of an incomplete line "
                "(an interrupted write; the next append moves it aside)",
            )
            torn.append(pseudo)
    fork_problems = _check_forks(per_file)
    for rel, (file_log, entries) in per_file.items():
        report.entries.extend(entries)
        file_torn = [t for t in torn if t.file == rel]
        report.entries.extend(file_torn)
        principal = next((e.principal for e in entries if e.principal), None)
        ok = all(e.ok for e in entries) and not file_torn
        report.logs.append(LogSummary(rel, file_log, principal, len(entries), ok))
        for entry in entries + file_torn:
            report.problems.extend(p for p in entry.problems if p.kind != FORK)
    report.problems.extend(fork_problems)
    return report
