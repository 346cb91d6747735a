"""This device's own copy of every entry it signed, kept outside the workspace (DESIGN 3.1).

Anyone who can write the shared folder can cut the end off a log (her last reject) or put back an
older copy of it; a device that has not seen the cut-off lines cannot tell. The device that
signed them can: after each append (a decision log's, or the signed roster's) it keeps the file
as it was up to and including its own line, in its user data folder, laid out like the workspace
(``logs/<name>.dlog``, ``roster/roster.dlog``). Then:

- :meth:`SignedCopy.check` (before each append, under the writer's lock): the workspace file must
  still hold what this device signed, or appending would fork its own log;
- :meth:`SignedCopies.heads`: the head of each copy, which verification compares with the
  workspace (``rolled_back`` when the workspace holds less);
- :meth:`SignedCopy.restore`: puts the missing lines back, byte for byte, so that they verify as
  before. Never rewrites a line the workspace holds: a file that holds other entries than the
  copy is a fork, reported and left alone.

The copy is the device's own record, as trusted as its keyring; the workspace is not.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import filelock

from twinreview.core.errors import TwinreviewError, file_stamp
from twinreview.core.files import open_regular
from twinreview.core.logs import lines as logfile
from twinreview.core.logs.log import LOG_SUFFIX, MAX_LINE_BYTES, line_hash, parse_line, write_all

_CHUNK = 1 << 20


class CopyError(TwinreviewError):
    """A log cannot be put back from this device's copy; one line for the user."""


@dataclass(frozen=True)
class Restored:
    """What :meth:`SignedCopy.restore` put back.

    Attributes:
        file: The workspace file (relative, posix).
        lines: How many lines were put back (0: nothing was missing).
        created: True when the file was gone and was written anew.
        moved_aside: A damaged end set aside first (its file name), or None.
    """

    file: str
    lines: int
    created: bool = False
    moved_aside: str | None = None


@dataclass(frozen=True)
class SignedCopy:
    """The copy of one workspace file (a decision log, or the signed roster).

    Attributes:
        path: The copy, in this device's data folder.
        rel: The workspace file it copies (posix, relative to the workspace).
    """

    path: Path
    rel: str

    def size(self) -> int:
        """Bytes in the copy (0 when there is none)."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def last_line(self) -> bytes:
        """The copy's last line, newline included (empty when there is none)."""
        try:
            return logfile.last_line(self.path)
        except FileNotFoundError:
            return b""

    def head(self) -> tuple[str, int, str] | None:
        """``(log id, seq, line hash)`` of the last entry this device kept, or None."""
        last = self.last_line()
        payload = parse_line(last, 0).payload if last else None
        if payload is None:
            return None
        log, seq = payload.get("log"), payload.get("seq")
        if not isinstance(log, str) or not isinstance(seq, int) or isinstance(seq, bool):
            return None
        return log, seq, line_hash(last)

    def check(self, file: Path) -> str | None:
        """Why appending to ``file`` would fork what this device signed (None: it would not).

        ``file`` must still hold the copy's last line where the copy has it; a file that lacks
        only the final newline passes (the writer finishes that line first).
        """
        size = self.size()
        if size == 0:
            return None
        last = self.last_line()
        start = size - len(last)
        try:
            with open_regular(file) as fh:
                length = fh.seek(0, os.SEEK_END)
                fh.seek(start)
                found = fh.read(len(last))
        except FileNotFoundError:
            return f"{self.rel} is gone from the workspace, but this device signed entries into it"
        if found == last or (length == size - 1 and found == last[:-1]):
            return None
        return (
            f"{self.rel} in the workspace is shorter than, or differs from, what this device "
            "signed into it"
        )

    def record(self, file: Path, end: int) -> None:
        """Keep ``file`` up to offset ``end`` (just after this device's new line).

        Called under the writer's lock right after the append: the bytes after the copy's end
        are the ones appended since (by this device, or by others for the roster).
        """
        size = self.size()
        if size > end:
            return  # never shorten what this device kept
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if size and self.check(file) is not None:
            # Not a prefix any more (a writer without a copy, a file replaced by hand since):
            # keep what the workspace holds now, up to this device's new line.
            self._rewrite(file, end)
            return
        with open_regular(file) as src, self.path.open("ab") as dst:
            src.seek(size)
            _copy_synced(src, dst, end - size)

    def _rewrite(self, file: Path, end: int) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open_regular(file) as src, tmp.open("wb") as dst:
            _copy_synced(src, dst, end)
        os.replace(tmp, self.path)

    def restore(self, file: Path) -> Restored:
        """Put back what the workspace file lacks of this device's copy (under the file's lock).

        A damaged end (bytes after the last newline that do not start the copy's next line) is
        moved aside to ``<name>.torn-<time>`` first, as a writer would.

        Raises:
            CopyError: the file holds other entries than the copy (a fork): nothing is changed.
            OSError: the disk refused.
        """
        copy = self.path.read_bytes() if self.size() else b""
        lock = filelock.FileLock(str(file.with_name(f".{file.name}.lock")), timeout=30)
        file.parent.mkdir(parents=True, exist_ok=True)
        with lock:
            if not file.exists():
                if not copy:
                    return Restored(self.rel, 0)
                fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o644)
                try:
                    write_all(fd, copy)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                return Restored(self.rel, copy.count(b"\n"), created=True)
            current = _read_prefix(file, len(copy))
            end = current.rfind(b"\n") + 1
            complete, torn = current[:end], current[end:]
            if not copy.startswith(complete):
                if complete.startswith(copy):
                    return Restored(self.rel, 0)  # the workspace holds all of it, and more
                raise CopyError(
                    f"{self.rel} holds other entries than this device signed (a fork): it was "
                    "not changed; see 'twinreview verify'"
                )
            missing = copy[len(complete) :]
            if not missing:
                return Restored(self.rel, 0)
            aside = None
            if torn and not missing.startswith(torn):
                aside = _set_aside(file, end, torn)
                torn = b""
            fd = os.open(file, os.O_WRONLY | os.O_APPEND | _BINARY)
            try:
                write_all(fd, missing[len(torn) :])
                os.fsync(fd)
            finally:
                os.close(fd)
            return Restored(self.rel, missing.count(b"\n"), moved_aside=aside)


_BINARY = getattr(os, "O_BINARY", 0)


def _read_prefix(file: Path, limit: int) -> bytes:
    """The file's first ``limit`` bytes and the rest of the line they end in (if any).

    Raises:
        CopyError: that line is longer than any entry (nothing is restored over it).
    """
    with open_regular(file) as fh:
        head = fh.read(limit)
        if head.endswith(b"\n"):
            return head
        rest = fh.readline(MAX_LINE_BYTES + 1)
        if len(rest) > MAX_LINE_BYTES:
            raise CopyError(
                f"{file.name} ends with a line longer than any entry: it was not changed; move "
                "that file away, then restore again"
            )
        return head + rest


def _set_aside(file: Path, end: int, torn: bytes) -> str:
    stamp = file_stamp(dt.datetime.now(dt.UTC))
    aside = file.with_name(f"{file.name}.torn-{stamp}")
    n = 1
    while aside.exists():
        aside = file.with_name(f"{file.name}.torn-{stamp}-{n}")
        n += 1
    aside.write_bytes(torn)
    with file.open("r+b") as fh:
        fh.truncate(end)
        fh.flush()
        os.fsync(fh.fileno())
    return aside.name


class SignedCopies:
    """This device's copies for one workspace: ``<folder>/logs/...``, ``<folder>/roster/...``."""

    def __init__(self, folder: Path, root: Path) -> None:
        """Keep the copies of the workspace at ``root`` in ``folder``."""
        self.folder = folder
        self.root = root

    def for_file(self, file: Path) -> SignedCopy:
        """The copy of a workspace file (a path under the workspace root)."""
        try:
            rel = file.relative_to(self.root).as_posix()
        except ValueError:
            rel = file.absolute().relative_to(self.root.absolute()).as_posix()
        return SignedCopy(self.folder / rel, rel)

    def copies(self) -> Iterator[SignedCopy]:
        """Every copy this device keeps for the workspace."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.rglob(f"*{LOG_SUFFIX}")):
            if path.is_file() and not path.name.startswith("."):
                yield SignedCopy(path, path.relative_to(self.folder).as_posix())

    def heads(self) -> dict[str, tuple[int, str]]:
        """Log id (a key fingerprint, or ``roster``) -> (seq, hash) this device signed up to."""
        out: dict[str, tuple[int, str]] = {}
        for copy in self.copies():
            head = copy.head()
            if head is not None:
                log, seq, h = head
                if log not in out or seq > out[log][0]:
                    out[log] = (seq, h)
        return out

    def restore(self) -> list[Restored]:
        """Put back what each workspace file lacks of this device's copies.

        Raises:
            CopyError: naming the first file that forked (the others are restored).
        """
        done: list[Restored] = []
        failed: list[str] = []
        for copy in self.copies():
            target = self.root / copy.rel
            if not target.resolve().is_relative_to(self.root.resolve()):
                failed.append(f"{copy.rel} leads outside the workspace")
                continue
            try:
                done.append(copy.restore(target))
            except CopyError as exc:
                failed.append(str(exc))
        if failed:
            raise CopyError("; ".join(failed))
        return done


def _copy_synced(src: BinaryIO, dst: BinaryIO, length: int) -> None:
    """Copy up to ``length`` bytes from ``src`` (a file may be shorter) and sync them to disk."""
    left = length
    while left > 0:
        chunk = src.read(min(left, _CHUNK))
        if not chunk:
            break
        dst.write(chunk)
        left -= len(chunk)
    dst.flush()
    os.fsync(dst.fileno())
