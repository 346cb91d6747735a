"""Rollback, truncation and deletion: every log against every head anyone (or this device) saw."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from twinreview.core.logs.log import (
    LOGS_DIR,
)
from twinreview.core.logs.model import (
    ACCEPTED_GAP,
    FORGED,
    FORK,
    LOG_MISSING,
    ROLLED_BACK,
    UNKNOWN_KEY,
    Problem,
    VerifiedEntry,
)
from twinreview.core.roster.log import SignedRoster, iter_heads
from twinreview.core.roster.model import ROSTER_DIR, ROSTER_LOG_ID


def named_by(
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


SIGNED_HERE = "this device signed"
_RESTORE = "run 'twinreview verify --restore' (or Restore in the app) to put them back"


def _against_own(
    log: str,
    label: str,
    where: str,
    seq: int,
    h: str,
    have: tuple[int, str] | None,
    ok_note: str,
    is_roster: bool,
    roster: SignedRoster,
    prefix_of: Mapping[str, list[VerifiedEntry]],
) -> Problem | None:
    """A log against this device's own copy of what it signed into it."""
    kind = ACCEPTED_GAP if ok_note else ROLLED_BACK
    if have is None:
        return Problem(
            where or f"{LOGS_DIR}/",
            seq,
            None,
            kind,
            f"{label} is gone from the workspace, but this device signed {seq + 1} entries "
            f"into it: {_RESTORE}{ok_note}",
            restorable=kind == ROLLED_BACK,
        )
    if have[0] < seq:
        return Problem(
            where,
            seq,
            None,
            kind,
            f"{label} has {have[0] + 1} entries, but this device signed {seq + 1}: it was rolled "
            f"back or truncated; {_RESTORE}{ok_note}",
            restorable=kind == ROLLED_BACK,
        )
    if is_roster:
        actual = roster.states[seq].head_hash if seq < len(roster.states) else None
    else:
        prefix = prefix_of.get(log, [])
        actual = prefix[seq].hash if seq < len(prefix) else None
    if actual is not None and actual != h:
        return Problem(
            where,
            seq,
            None,
            FORK,
            f"{label} holds another entry at seq {seq} than this device signed: it was rewritten",
        )
    return None


def check_heads(
    per_file: Mapping[str, tuple[str | None, list[VerifiedEntry]]],
    roster: SignedRoster,
    seen: Mapping[str, tuple[int, str]],
    cached: Mapping[str, tuple[int, Mapping[str, tuple[int, str, str]]]] | None = None,
    own: Mapping[str, tuple[int, str]] | None = None,
) -> tuple[dict[str, tuple[int, str]], list[Problem], dict[str, dict[str, tuple[int, str, str]]]]:
    """Rollback, truncation and deletion: compare each log with every head anyone saw of it.

    ``cached`` maps a file to (number of its entries that came from a verified-prefix record,
    the heads those entries named): only the entries after them are read again. ``own`` holds
    the heads of what this device signed itself (its copies, ``core.logs.signedcopy``): a log that
    holds less is reported with the way to put it back.

    Returns:
        The head of each log's longest verified prefix (and of the roster), the problems found,
        and the heads each file's entries name (for the next verified-prefix record).
    """
    cached = cached or {}
    found: dict[str, tuple[int, str]] = {}
    problems: list[Problem] = []
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
            if e.log != file_log or e.seq != n or e.state in FORGED:
                break
            n += 1
        if n > len(prefix_of.get(file_log, ())):
            prefix_of[file_log] = entries[:n]
    for log, prefix in prefix_of.items():
        found[log] = (len(prefix) - 1, prefix[-1].hash)
    if roster.head is not None:
        found[ROSTER_LOG_ID] = roster.head

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
        for log, (seq, h, who) in named_by(rel, entries[start:], keys).items():
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
    for log, (seq, h) in (own or {}).items():
        best = named.get(log)
        if best is None or seq >= best[0]:
            named[log] = (seq, h, SIGNED_HERE)

    current = roster.current
    accepted_heads = dict(current.accepted) if current is not None else {}
    for log, (seq, h, who) in sorted(named.items()):
        have = found.get(log)
        is_roster = log == ROSTER_LOG_ID
        where = f"{ROSTER_DIR}/roster.dlog" if is_roster else ", ".join(files_of.get(log, []))
        owner = keys.get(log)
        label = (
            "the signed roster" if is_roster else f"log {log}" + (f" ({owner[0]})" if owner else "")
        )
        accepted = accepted_heads.get(log)
        now_at = (have[0], have[1]) if have is not None else (-1, None)
        if accepted is not None and (accepted[0], accepted[1]) == now_at:
            ok_note = f"; accepted as it is, signed at roster entry {accepted[2]}"
        else:
            ok_note = ""
        if who == SIGNED_HERE:
            problem = _against_own(
                log, label, where, seq, h, have, ok_note, is_roster, roster, prefix_of
            )
            if problem is not None:
                problems.append(problem)
            continue
        if have is None:
            if is_roster and not roster.exists:
                continue  # already reported: there is no signed roster at all
            problems.append(
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
            problems.append(
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
            problems.append(
                Problem(
                    where,
                    seq,
                    None,
                    FORK,
                    f"{label} holds another entry at seq {seq} than {who} saw: it was rewritten",
                )
            )
    return found, problems, per_file_named
