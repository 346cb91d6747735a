"""Reading append-only line files at the byte level: capped streaming, the last lines.

:mod:`twinreview.core.logs.log` gives the lines their meaning (signed entries) and writes them;
this module only finds lines: every line of a file without holding an oversized one
(:class:`CappedLines`), and, looking backwards from the end, the last line, the line before an
offset and a torn tail (bytes after the last newline).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TAIL_CHUNK = 64 * 1024
"""Bytes read at a time when looking backwards from the end of a file."""

_READ_CHUNK = 1 << 16


def _last_newline_end(fh: BinaryIO, end: int) -> int:
    """Offset just after the last newline before ``end`` (0 when there is none)."""
    while end > 0:
        start = max(0, end - TAIL_CHUNK)
        fh.seek(start)
        nl = fh.read(end - start).rfind(b"\n")
        if nl >= 0:
            return start + nl + 1
        end = start
    return 0


def torn_tail(path: Path) -> tuple[int, bytes] | None:
    """``(end of the last complete line, the bytes after it)``; None when the file ends a line."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        end = _last_newline_end(fh, size)
        if end == size:
            return None
        fh.seek(end)
        return end, fh.read()


def last_line(path: Path) -> bytes:
    """The file's last line (with its newline when it has one); empty for an empty file."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        # The last line starts after the newline before the final byte.
        start = _last_newline_end(fh, size - 1) if size else 0
        fh.seek(start)
        return fh.read()


def line_before(path: Path, end: int) -> bytes | None:
    """The complete line that ends at offset ``end`` (> 0), or None when it is too long to tell."""
    with path.open("rb") as fh:
        start = max(0, end - TAIL_CHUNK)
        fh.seek(start)
        chunk = fh.read(end - start)
    cut = chunk.rfind(b"\n", 0, len(chunk) - 1)
    if cut < 0 and start > 0:
        return None
    return chunk[cut + 1 :]


class CappedLines:
    """The lines of an open file, read one at a time, none kept longer than ``cap`` bytes.

    Iterating yields ``(lineno, line, dropped)``: a complete line (newline included) with
    ``dropped`` 0, or, for a line longer than ``cap``, ``b""`` and its length (``digest=False``:
    :attr:`sha256` is not computed, for a reader that keeps no record of the file). The first
    ``skip`` bytes (a prefix verified before) are only hashed, and numbering starts at
    ``first_lineno`` after them, unless they do not end a line: then every line is read
    from the start. After iteration: :attr:`torn` (bytes after the last newline, at most
    ``cap``), :attr:`size`, :attr:`sha256` and :attr:`prefix_sha256` (None when the prefix
    was not there).
    """

    def __init__(
        self, fh: BinaryIO, *, cap: int, skip: int = 0, first_lineno: int = 1, digest: bool = True
    ) -> None:
        self._fh = fh
        self._digest = digest
        self._cap = cap
        self._skip = skip
        self._first_lineno = first_lineno
        self._whole = hashlib.sha256()
        self.size = 0
        self.torn = b""
        self.prefix_sha256: str | None = None

    @property
    def sha256(self) -> str:
        """sha256 hex of every byte read so far (the whole file after iteration)."""
        return self._whole.hexdigest()

    def _read(self, line: bytes) -> bytes:
        if self._digest:
            self._whole.update(line)
        self.size += len(line)
        return line

    def _skip_prefix(self) -> int:
        remaining, last = self._skip, b""
        while remaining:
            chunk = self._fh.read(min(remaining, _READ_CHUNK))
            if not chunk:
                break
            self._read(chunk)
            remaining -= len(chunk)
            last = chunk[-1:]
        if not self._skip:
            return self._first_lineno
        if not remaining and last == b"\n":
            self.prefix_sha256 = self._whole.copy().hexdigest()
            return self._first_lineno
        # Not the prefix recorded: read the whole file after all.
        self._fh.seek(0)
        self._whole = hashlib.sha256()
        self.size = 0
        return 1

    def __iter__(self) -> Iterator[tuple[int, bytes, int]]:
        lineno = self._skip_prefix()
        while line := self._read(self._fh.readline(self._cap + 1)):
            if len(line) > self._cap and not line.endswith(b"\n"):
                # Too long: read past the rest of it in chunks, keeping only its start.
                start, dropped = line, len(line)
                while not line.endswith(b"\n"):
                    line = self._read(self._fh.readline(_READ_CHUNK))
                    if not line:
                        break
                    dropped += len(line)
                if not line.endswith(b"\n"):
                    self.torn = start  # an unfinished giant: reported as a torn tail
                    return
                yield lineno, b"", dropped
            elif not line.endswith(b"\n"):
                self.torn = line
                return
            else:
                yield lineno, line, 0
            lineno += 1
