"""Per-file analysis cache in SQLite, under the user cache dir (never in the workspace).

Two tables:

- ``files_v2``: the fast path. ``(path, size, mtime_ns, ctime_ns, inode, device) -> sha256``.
  Rescanning an unchanged file costs one ``stat`` and one indexed lookup, not a read. Size and
  mtime alone are not evidence: anyone can write other bytes of the same size and put the mtime
  back with ``os.utime``. The change time cannot be put back (every write, rename or ``utime``
  sets it to the current time, and only a change of the system clock moves it elsewhere), and a
  file replaced by another (a rename over it) has another inode. So a swap always misses the fast
  path and the new bytes are read. Limits: on Windows ``st_ctime`` is the creation time, which a
  write into the same file does not move; and a change made within the same filesystem clock tick
  (a few milliseconds) as the change before the recorded ``stat`` keeps that change time (the
  "racy clean" case of git). ``decide`` never relies on this cache: it hashes the bytes it signs.
- ``results``: ``(sha256, kind, version) -> JSON``. Keyed by content, so a renamed or copied file
  costs nothing, and by an algorithm version, so a change of hashing code invalidates old rows
  without a migration.

The connection is shared between threads behind a lock; the scan calls it from its coordinating
thread only, workers never touch it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

# Keys per query: well under SQLite's limit on bound parameters (999 in old builds).
_CHUNK = 500

# ``files`` held (path, size, mtime_ns) -> sha256: a key a same-size swap with the mtime put back
# went through unseen. Its rows are not evidence under the new key, so the table is dropped (the
# cache is only a cache: those files are read once more).
# Inode and device numbers are unsigned 64-bit (128-bit for st_ino on Windows ReFS) and SQLite
# integers are signed 64-bit: they are stored as decimal text.
_SCHEMA = """
DROP TABLE IF EXISTS files;
CREATE TABLE IF NOT EXISTS files_v2 (
    path BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    ino TEXT NOT NULL,
    dev TEXT NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (sha256, kind, version)
);
"""


class ResultCache:
    """SQLite-backed cache of per-file results.

    Args:
        path: Database file, or ``":memory:"`` for tests and ``--no-cache`` runs.
    """

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._connect(str(path))
        except sqlite3.DatabaseError as exc:
            # A corrupt cache is only a cache: start a fresh one beside it rather than failing.
            _log.warning("cache %s is damaged (%s): starting a fresh one", path, exc)
            broken = Path(path)
            broken.replace(broken.with_suffix(".corrupt"))
            self._db = self._connect(str(path))

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return db

    @classmethod
    def in_memory(cls) -> ResultCache:
        """Return a cache that lives only as long as the object."""
        return cls(":memory:")

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def lookup_sha(self, path: Path, st: os.stat_result) -> str | None:
        """Return the sha256 recorded for ``path`` if its ``stat`` shows no change since.

        ``st`` must be the full result of ``os.stat(path)`` taken now: size, mtime, change time,
        inode and device must all equal the recorded ones.
        """
        return self.lookup_shas([(path, st)])[0]

    def lookup_shas(self, files: Sequence[tuple[Path, os.stat_result]]) -> list[str | None]:
        """:meth:`lookup_sha` for many files: one query per few hundred of them.

        Returns:
            Per file, in order, the sha256 recorded for it, or None.
        """
        keys = [_key(path) for path, _st in files]
        rows: dict[bytes, tuple[Any, ...]] = {}
        with self._lock:
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                found = self._db.execute(
                    "SELECT path, size, mtime_ns, ctime_ns, ino, dev, sha256 FROM files_v2 "
                    f"WHERE path IN ({marks})",
                    chunk,
                ).fetchall()
                rows.update((bytes(r[0]), tuple(r[1:])) for r in found)
        out: list[str | None] = []
        for key, (_path, st) in zip(keys, files, strict=True):
            row = rows.get(key)
            out.append(str(row[5]) if row is not None and row[:5] == _stat_key(st) else None)
        return out

    def record_sha(self, path: Path, st: os.stat_result, sha256: str) -> None:
        """Remember the content hash of ``path`` for this ``stat`` of it.

        ``st`` must have been taken before the bytes were read, so that a change during the read
        gives a newer change time than the one recorded (a miss, never a stale hit).
        """
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO files_v2 "
                "(path, size, mtime_ns, ctime_ns, ino, dev, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_key(path), *_stat_key(st), sha256),
            )

    def get(self, sha256: str, kind: str, version: str) -> Any | None:
        """Return the cached JSON value, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM results WHERE sha256 = ? AND kind = ? AND version = ?",
                (sha256, kind, version),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def get_many(self, shas: Iterable[str], kind: str, version: str) -> dict[str, Any]:
        """Return ``{sha256: value}`` for the ones present."""
        rows = self.get_many_text(shas, kind, version)
        return {sha: json.loads(text) for sha, text in rows.items()}

    def get_many_text(self, shas: Iterable[str], kind: str, version: str) -> dict[str, str]:
        """Return ``{sha256: JSON text}`` for the ones present, not parsed.

        For a caller that parses identical rows once (many files share one disclosure report).
        """
        wanted = list(dict.fromkeys(shas))
        out: dict[str, str] = {}
        with self._lock:
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT sha256, data FROM results WHERE kind = ? AND version = ? "
                    f"AND sha256 IN ({marks})",
                    (kind, version, *chunk),
                ).fetchall()
                out.update((str(r[0]), str(r[1])) for r in rows)
        return out

    def put(self, sha256: str, kind: str, version: str, value: Any) -> None:
        """Store a JSON-serialisable value."""
        self.put_many([(sha256, value)], kind, version)

    def put_many(self, items: Iterable[tuple[str, Any]], kind: str, version: str) -> None:
        """Store several values in one transaction."""
        rows = [(sha, kind, version, json.dumps(v, separators=(",", ":"))) for sha, v in items]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO results (sha256, kind, version, data) "
                    "VALUES (?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def stats(self) -> Mapping[str, int]:
        """Row counts, for diagnostics."""
        with self._lock:
            files = self._db.execute("SELECT COUNT(*) FROM files_v2").fetchone()[0]
            results = self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        return {"files": int(files), "results": int(results)}


def _key(path: Path) -> bytes:
    # Raw bytes, not text: non-UTF-8 file names stay distinct and storable.
    return os.fsencode(path)


def _stat_key(st: os.stat_result) -> tuple[int, int, int, str, str]:
    # Everything about a file that changes when its bytes do and that a user cannot set back.
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, str(st.st_ino), str(st.st_dev))
