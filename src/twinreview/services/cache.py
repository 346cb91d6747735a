"""Per-file analysis cache in SQLite, under the user cache dir (never in the workspace).

Two tables:

- ``files``: the fast path. ``(path, size, mtime_ns) -> sha256``. Rescanning an unchanged file
  costs one ``stat`` and one indexed lookup, not a read.
- ``results``: ``(sha256, kind, version) -> JSON``. Keyed by content, so a renamed or copied file
  costs nothing, and by an algorithm version, so a change of hashing code invalidates old rows
  without a migration.

The connection is shared between threads behind a lock; the scan calls it from its coordinating
thread only, workers never touch it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path BLOB PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
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
        except sqlite3.DatabaseError:
            # A corrupt cache is only a cache: start a fresh one beside it rather than failing.
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
        """Return the sha256 recorded for ``path`` if its size and mtime are unchanged."""
        with self._lock:
            row = self._db.execute(
                "SELECT sha256 FROM files WHERE path = ? AND size = ? AND mtime_ns = ?",
                (_key(path), st.st_size, st.st_mtime_ns),
            ).fetchone()
        return str(row[0]) if row else None

    def record_sha(self, path: Path, st: os.stat_result, sha256: str) -> None:
        """Remember the content hash of ``path`` for its current size and mtime."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO files (path, size, mtime_ns, sha256) VALUES (?, ?, ?, ?)",
                (_key(path), st.st_size, st.st_mtime_ns, sha256),
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
        wanted = list(dict.fromkeys(shas))
        out: dict[str, Any] = {}
        with self._lock:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT sha256, data FROM results WHERE kind = ? AND version = ? "
                    f"AND sha256 IN ({marks})",
                    (kind, version, *chunk),
                ).fetchall()
                out.update((str(r[0]), json.loads(r[1])) for r in rows)
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
            files = self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
            results = self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        return {"files": int(files), "results": int(results)}


def _key(path: Path) -> bytes:
    # Raw bytes, not text: non-UTF-8 file names stay distinct and storable.
    return os.fsencode(path)
