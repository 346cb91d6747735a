"""The verified-prefix cache: a log that only grew is verified from where this device stopped."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from twinreview.core.logs.model import (
    GOOD,
    VerifiedEntry,
)

# -- the verified-prefix cache ---------------------------------------------------------------

# Payload fields a cached entry does not keep: implied by the file (v, ws), only needed for
# checks that already passed (prev), or large and read after verification only in part (findings:
# of an approval, status judges each kind's severity and the disclosure verdict again, so those
# are kept, compactly; see :func:`_judged_findings`).
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
            if isinstance(value.get("findings"), list):
                value["findings"] = _expanded_findings(value["findings"])
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
    rows: Sequence[list[Any]]
    named: Mapping[str, tuple[int, str, str]]
    last_ts: str
    last_roster: int
    closed_at: int | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (for the cache file)."""
        return {
            "v": 4,
            "size": self.size,
            "digest": self.digest,
            "stat": list(self.stat),
            "log": self.log,
            "roster_head": self.roster_head,
            "rows": list(self.rows),
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
        if data.get("v") != 4:
            raise ValueError("old cache record")
        rows = data["rows"]
        stat = tuple(int(x) for x in data["stat"])
        if not isinstance(rows, list) or len(stat) != 5:
            raise TypeError("not a cache record")
        named = {str(k): (int(v[0]), str(v[1]), str(v[2])) for k, v in dict(data["named"]).items()}
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


def stat_key(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What tells an unchanged file: size, mtime, ctime (cannot be set back), inode, device."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def entry_from_row(rel: str, log: str, row: Sequence[Any]) -> VerifiedEntry:
    """A good entry from a record row (``ValueError`` and the like when the row is damaged)."""
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


def row_of(e: VerifiedEntry) -> list[Any]:
    """The record row of a good entry."""
    if isinstance(e, _CachedEntry) and e._parsed is None:
        text = e._text  # never parsed: the stored text stands
    else:
        kept = {k: v for k, v in e.payload.items() if k not in _DROPPED and k not in _IN_ROW}
        if e.payload.get("decision") == "approve":
            kept["findings"] = _judged_findings(e.payload.get("findings"))
        text = json.dumps(kept, ensure_ascii=False, separators=(",", ":"))
    asset = e.payload.get("asset") if not isinstance(e, _CachedEntry) else e.asset
    ts = e.payload.get("ts") if not isinstance(e, _CachedEntry) else e.ts
    return [e.hash, e.roster_seq, e.seq, e.kind, e.principal, e.role, asset, ts, text]


def _judged_findings(findings: object) -> list[list[str]]:
    """What the approval rule reads of an approval's findings, compactly.

    ``[kind, severity]`` or ``[kind, severity, verdict]`` each: a long history holds tens of
    thousands of approvals.
    """
    out: list[list[str]] = []
    for f in findings if isinstance(findings, list) else ():
        if isinstance(f, Mapping) and isinstance(f.get("kind"), str):
            evidence = f.get("evidence")
            verdict = evidence.get("verdict") if isinstance(evidence, Mapping) else None
            words = [str(f["kind"]), str(f.get("severity"))]
            if isinstance(verdict, str):
                words.append(verdict)
            out.append(words)
    return out


def _expanded_findings(compact: list[Any]) -> list[dict[str, Any]]:
    """The findings of :func:`_judged_findings` as ``Finding.to_json()`` dicts (no message)."""
    out: list[dict[str, Any]] = []
    for item in compact:
        if isinstance(item, list) and len(item) in (2, 3):
            evidence = {"verdict": item[2]} if len(item) == 3 else {}
            out.append({"kind": item[0], "severity": item[1], "message": "", "evidence": evidence})
    return out


def prefix_of(
    size: int,
    digest: str,
    stat: tuple[int, int, int, int, int],
    log: str,
    roster_hash: str,
    entries: list[VerifiedEntry],
    named: Mapping[str, tuple[int, str, str]],
) -> VerifiedPrefix:
    """The record of a file whose every entry verified good (its rows made when first read)."""
    closed = next((e.seq for e in entries if e.kind == "close"), None)
    last_roster = max((e.roster_seq for e in entries if e.roster_seq is not None), default=-1)
    return VerifiedPrefix(
        size,
        digest,
        stat,
        log,
        roster_hash,
        _Rows(entries),
        dict(named),
        entry_ts(entries[-1]),
        last_roster,
        closed,
    )


class _Rows(Sequence[list[Any]]):
    """The rows of a new record, made from its entries only when first read.

    A verification whose records nobody keeps (``verify_workspace`` without a cache) never pays
    for them.
    """

    def __init__(self, entries: Sequence[VerifiedEntry]) -> None:
        self._entries = entries
        self._rows: list[list[Any]] | None = None

    def _all(self) -> list[list[Any]]:
        if self._rows is None:
            self._rows = [row_of(e) for e in self._entries]
        return self._rows

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> list[Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[list[Any]]: ...

    def __getitem__(self, index: int | slice) -> list[Any] | Sequence[list[Any]]:
        return self._all()[index]

    def __iter__(self) -> Iterator[list[Any]]:
        return iter(self._all())


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
