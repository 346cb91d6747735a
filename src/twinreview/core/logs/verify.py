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
    torn_tail      a last line without its newline: when it is a whole, good entry it counts
                   (and the missing newline is reported); otherwise it cannot be read and is
                   reported as a pseudo-entry, which blocks what that log's key may decide
    fork           copies of one log (same fingerprint) hold different entries for the same seq:
                   every entry from the first differing seq on, in every copy, is marked
Merging: the union of the files; copies of one log must be prefixes of each other.
A deleted *last* line cannot be seen inside one file (nothing follows it); a longer copy elsewhere,
or a ``close`` entry, is what makes that visible.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from twinreview.core.logs.cache import (
    VerifiedPrefix,
    entry_asset,
    entry_from_row,
    entry_ts,
    prefix_of,
    stat_key,
)
from twinreview.core.logs.heads import check_heads
from twinreview.core.logs.log import (
    LOG_SUFFIX,
    LOGS_DIR,
    StreamedLog,
    log_filename_of,
    parse_line,
    stream_log,
)
from twinreview.core.logs.model import (  # re-exported: the verification API
    ACCEPTED_GAP,
    BAD_SIGNATURE,
    BROKEN_CHAIN,
    FORGED,
    FORK,
    FUTURE_SLACK,
    GOOD,
    LOG_MISSING,
    MALFORMED,
    MODEL_RESET,
    NOT_A_LOG,
    NOTICES,
    OUT_OF_ORDER,
    RANK,
    REPLAYED,
    REVOKED_KEY,
    ROLLED_BACK,
    ROSTER_PROBLEM,
    STATES,
    SYNC_CONFLICT,
    TORN_TAIL,
    UNKNOWN_KEY,
    UNREADABLE,
    VIEW_EDITED,
    WRONG_ROLE,
    LogSummary,
    Problem,
    VerifiedEntry,
)
from twinreview.core.logs.rules import (
    RosterJudge,
    check_chain,
    check_forks,
    check_line,
    check_order,
    file_log_of,
    parse_ts,
)
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import ROSTER_DIR
from twinreview.core.roster.views import view_problems

__all__ = [
    "ACCEPTED_GAP",
    "BAD_SIGNATURE",
    "BROKEN_CHAIN",
    "FORGED",
    "FORK",
    "FUTURE_SLACK",
    "GOOD",
    "LOG_MISSING",
    "MALFORMED",
    "MODEL_RESET",
    "NOTICES",
    "NOT_A_LOG",
    "OUT_OF_ORDER",
    "RANK",
    "REPLAYED",
    "REVOKED_KEY",
    "ROLLED_BACK",
    "ROSTER_PROBLEM",
    "STATES",
    "SYNC_CONFLICT",
    "TORN_TAIL",
    "UNKNOWN_KEY",
    "UNREADABLE",
    "VIEW_EDITED",
    "WRONG_ROLE",
    "LogSummary",
    "Problem",
    "VerifiedEntry",
    "VerifiedPrefix",
    "VerifyReport",
    "entry_asset",
    "entry_ts",
    "find_log_files",
    "is_log_name",
    "stray_files",
    "verify_logs",
    "verify_workspace",
]


class _HasRoot(Protocol):
    @property
    def root(self) -> Path: ...


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

        A gap accepted with a signed ``accept_head`` and a model's key reset by the owner are
        listed among the problems, for everyone to see, but do not make the report fail.
        """
        return all(p.kind in NOTICES for p in self.problems)

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
            "resets": [r.to_json() for r in self.roster.current.resets]
            if self.roster.current is not None
            else [],
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
    """Every log file under ``<root>/logs``, sorted, symlinks not followed.

    At any depth, and any name with ``.dlog`` in it (:func:`is_log_name`): a sync tool's copy
    keeps its entries.
    """
    logs = root / LOGS_DIR
    if not logs.is_dir():
        return []
    return sorted(
        p for p in logs.rglob("*") if is_log_name(p.name) and p.is_file() and not p.is_symlink()
    )


def is_log_name(name: str) -> bool:
    """True for the name of a log file or of a copy of one: ``.dlog`` in it, in any case.

    ``x.dlog``, ``X.DLOG``, ``x.dlog (1)``, ``x.dlog~``: a copy under any name holds the log's
    entries, and a veto among them counts. A log's companions are not logs: its lock file
    (``.x.dlog.lock``), a torn tail set aside (``x.dlog.torn-...``), an export signature
    (``x.dlog.sig``).
    """
    low = name.lower()
    if low.endswith(LOG_SUFFIX):
        return True
    if LOG_SUFFIX not in low or low.endswith((".lock", ".sig")):
        return False
    return f"{LOG_SUFFIX}.torn-" not in low


# The names file syncs give a copy they could not merge (Dropbox's "x (Kim's conflicted copy
# 2026-12-07).dlog", Syncthing's "x.sync-conflict-20261207-101500-DEVICE.dlog", Google Drive's
# "x (1).dlog", OneDrive's "x-LAPTOP.dlog"...) differ from tool to tool and version to version.
# What they share: the copy does not sit where the log's own writer puts it. Every log file has
# exactly one such place, logs/<principal>--<fp16>.dlog (core.logs.log.log_filename); a file of
# that log anywhere else, under any other name, in a subfolder or in another case, is a copy.
def canonical_log_file(principal: str, log: str) -> str:
    """Where the writer of ``log`` (a key fingerprint) signing as ``principal`` keeps it."""
    return f"{LOGS_DIR}/{log_filename_of(principal, log)}"


def sync_conflicts(report: VerifyReport) -> list[Problem]:
    """Copies of a log beside (or instead of) its own file: the longer chain counts, all named.

    Copies of one log are merged like any copies (the longest common chain counts; copies that
    differ are a fork, reported as such); each copy is named so that someone tidies up.
    """
    by_log: dict[str, list[LogSummary]] = {}
    for s in report.logs:
        if s.log is not None:
            by_log.setdefault(s.log, []).append(s)
    out: list[Problem] = []
    for s in report.logs:
        if s.log is None or s.principal is None:
            continue
        home = canonical_log_file(s.principal, s.log)
        if s.file == home:
            continue
        others = [o for o in by_log[s.log] if o.file != s.file]
        longest = max([s, *others], key=lambda o: o.entries)
        beside = ", ".join(o.file for o in others) or f"{home} (gone)"
        out.append(
            Problem(
                s.file,
                None,
                None,
                SYNC_CONFLICT,
                f"a file sync left this copy of log {s.log} ({s.entries} entries) beside "
                f"{beside}: they are merged, and the longest chain ({longest.file}, "
                f"{longest.entries} entries) counts; once every laptop has synced, put the longest "
                f"chain at {home} and remove the others",
            )
        )
    return out


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
        if is_log_name(name) and p.is_file() and not p.is_symlink():
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
    own: Mapping[str, tuple[int, str]] | None = None,
) -> VerifyReport:
    """Verify every log of a workspace against its signed roster.

    Args:
        ws: The workspace root, or an object with a ``root`` attribute.
        roster: The signed roster; replayed from ``<root>/roster/roster.dlog`` when omitted.
        seen: This device's record of the longest prefix it verified before, per log
            fingerprint (and ``"roster"``): a log that is shorter now, or different at that
            seq, was rolled back or rewritten.
        now: The time to judge "dated in the future" against (default: now).
        prefixes: Verified-prefix records of an earlier run (see :class:`VerifiedPrefix`); pass
            ``{}`` for none yet. Only then does the report carry records for the next run
            (``prefixes``): without a cache to keep them in, nothing is spent on them.
        own: The heads of what this device signed itself, per log (and ``"roster"``), from its
            own copies (``core.logs.signedcopy``): a log that holds less now was cut back.

    Returns:
        The report; never raises for bad log contents (those are problems in the report).
    """
    root = ws if isinstance(ws, Path) else ws.root
    if roster is None:
        roster = SignedRoster.load(root / ROSTER_DIR)
    logs = root / LOGS_DIR
    if logs.is_dir() and not logs.resolve().is_relative_to(root.resolve()):
        # A hostile workspace must not make verification wander over the reviewer's disk.
        report = verify_logs([], roster, root, seen=seen, now=now, own=own)
        report.problems.append(
            Problem(
                LOGS_DIR, None, None, UNREADABLE, "logs/ is a link leading outside the workspace"
            )
        )
        return report
    report = verify_logs(
        find_log_files(root), roster, root, seen=seen, now=now, prefixes=prefixes, own=own
    )
    if roster.exists:
        for message in view_problems(root / ROSTER_DIR, roster):
            report.problems.append(Problem(ROSTER_DIR, None, None, VIEW_EDITED, message))
    if roster.current is not None:
        for reset in roster.current.resets:
            report.problems.append(
                Problem(f"{ROSTER_DIR}/roster.dlog", reset.seq, None, MODEL_RESET, reset.sentence())
            )
    report.problems.extend(sync_conflicts(report))
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


def unfinished_in(problems: Iterable[Problem], rel: str) -> bool:
    """True when ``rel`` ends with a whole entry that lacks its newline (it counts)."""
    return any(p.file == rel for p in problems)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def verify_logs(
    paths: Iterable[Path],
    roster: SignedRoster,
    root: Path,
    *,
    seen: Mapping[str, tuple[int, str]] | None = None,
    now: dt.datetime | None = None,
    prefixes: Mapping[str, VerifiedPrefix] | None = None,
    own: Mapping[str, tuple[int, str]] | None = None,
) -> VerifyReport:
    """Verify the given log files against ``roster``; paths are reported relative to ``root``.

    See :func:`verify_workspace` for ``seen``, ``now`` and ``own``; ``prefixes`` (by relative
    path) are the verified-prefix records of an earlier run (:class:`VerifiedPrefix`).
    """
    # Verifying allocates a few objects per entry and frees none until the end: the cyclic
    # collector would rescan the growing heap again and again (~7 % of the time for 100k
    # entries) for cycles that do not exist. It runs once, afterwards, as usual.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _verify_logs(
            paths,
            roster,
            root,
            seen or {},
            now or dt.datetime.now(dt.UTC),
            prefixes,
            own or {},
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
    given: Mapping[str, VerifiedPrefix] | None,
    own: Mapping[str, tuple[int, str]],
) -> VerifyReport:
    report = VerifyReport(root, roster=roster)
    # Records for the next run are made only for a caller that keeps them (it passes records of
    # an earlier run, or an empty mapping): without one, nothing is hashed or kept for them.
    keep = given is not None
    prefixes = given or {}
    for rp in roster.problems:
        kind = TORN_TAIL if rp.kind == "torn_tail" else ROSTER_PROBLEM
        report.problems.append(
            Problem(f"{ROSTER_DIR}/roster.dlog", rp.seq, rp.line, kind, rp.message)
        )
    judge = RosterJudge(roster)
    roster_hash = roster.head[1] if roster.head else ""
    per_file: dict[str, tuple[str | None, list[VerifiedEntry]]] = {}
    torn: list[VerifiedEntry] = []
    unfinished: list[Problem] = []
    sizes: dict[str, tuple[int, str]] = {}
    reuse: dict[str, VerifiedPrefix] = {}
    cached_named: dict[str, tuple[int, Mapping[str, tuple[int, str, str]]]] = {}
    stats: dict[str, tuple[int, int, int, int, int]] = {}
    for path in paths:
        rel = _rel(path, root)
        record = prefixes.get(rel)
        streamed: StreamedLog | None = None
        try:
            st = stat_key(path.stat())
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
                streamed = stream_log(path, digest=keep)
            old: list[VerifiedEntry] = []
            if cached is not None:
                try:
                    old = [entry_from_row(rel, cached.log, row) for row in cached.rows]
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
            file_log = file_log_of(content.lines)
            last_ts, last_roster, closed_at = None, -1, None
        else:
            file_log = cached.log
            last_ts, last_roster = parse_ts(cached.last_ts), cached.last_roster
            closed_at = cached.closed_at
            cached_named[rel] = (len(old), cached.named)
        lines = content.lines if content is not None else []
        tail = content.torn_tail if content is not None else b""
        if tail:
            # A whole entry that lacks only its newline (a crash between the two writes, or a
            # hand that stripped it) is an entry: hiding it must not hide a veto.
            lines = [*lines, parse_line(tail + b"\n", len(old) + len(lines) + 1)]
        appended = len(lines)
        entries = [check_line(raw, rel, file_log) for raw in lines]
        del lines  # the lines' bytes are not needed again (each entry keeps its hash)
        if content is not None:
            content.lines = []
        check_chain(entries, old[-1] if old else None, closed_at)
        judged = [judge.judge(e, roster.workspace_id) for e in entries]
        for e, roster_seq in zip(entries, judged, strict=True):
            e.roster_seq = roster_seq
        check_order(entries, judged, now, last_ts, last_roster)
        finished = bool(tail) and entries[-1].ok
        if finished:
            unfinished.append(
                Problem(
                    rel,
                    entries[-1].seq,
                    entries[-1].line,
                    TORN_TAIL,
                    "the last line lacks its final newline; it is a whole, signed entry and "
                    "counts (the next append finishes the line)",
                )
            )
        elif tail:
            entries.pop()
        entries = old + entries
        per_file[rel] = (file_log, entries)
        if tail and not finished:
            last_seq = next((e.seq for e in reversed(entries) if e.seq is not None), -1)
            pseudo = VerifiedEntry(
                rel, len(entries) + 1, last_seq + 1, None, file_log, None, None, {}
            )
            pseudo.flag(
                TORN_TAIL,
                f"the file ends with {len(tail)} bytes of a line that cannot be read (an "
                "interrupted write, or a damaged entry: until the next append moves it aside, "
                "the images this log's key may decide for stay blocked)",
            )
            torn.append(pseudo)
        elif tail:
            pass  # no verified-prefix record for a file that lacks its final newline
        elif cached is not None and not appended:
            reuse[rel] = cached  # nothing appended: the record stands as it is
        elif streamed is not None and keep:
            sizes[rel] = (streamed.size, streamed.sha256)
    fork_problems = check_forks(per_file)
    all_good: dict[str, bool] = {}
    for rel, (file_log, entries) in per_file.items():
        report.entries.extend(entries)
        file_torn = [t for t in torn if t.file == rel]
        report.entries.extend(file_torn)
        principal = next((e.principal for e in entries if e.principal), None)
        bad = [e for e in entries if e.state != GOOD]
        all_good[rel] = not bad
        ok = not bad and not file_torn and not unfinished_in(unfinished, rel)
        report.problems.extend(p for p in unfinished if p.file == rel)
        report.logs.append(LogSummary(rel, file_log, principal, len(entries), ok))
        for entry in bad + file_torn:
            report.problems.extend(p for p in entry.problems if p.kind != FORK)
    report.problems.extend(fork_problems)
    heads, head_problems, named = check_heads(per_file, roster, seen, cached_named, own)
    report.heads.update(heads)
    report.problems.extend(head_problems)
    for rel, (file_log, entries) in per_file.items():
        if not entries or not all_good[rel]:
            continue
        if rel in reuse:
            record = reuse[rel]
            report.prefixes[rel] = (
                replace(record, stat=stats[rel]) if (record.stat != stats[rel]) else record
            )
        elif rel in sizes and file_log is not None:
            size, digest = sizes[rel]
            report.prefixes[rel] = prefix_of(
                size, digest, stats[rel], file_log, roster_hash, entries, named.get(rel, {})
            )
    return report
