"""Reading files of a workspace that may be hostile: regular files only, bounded, inside the root.

Every file of a workspace may be a trap: a FIFO (an ``open`` for reading waits for a writer that
never comes), a device, a link out of the folder, or something far larger than what it claims to
be. These helpers open without blocking, refuse anything that is not a regular file, and read at
most a limit.

Public API:
    NotRegularFile(OSError): the path is a FIFO, device, socket or folder.
    open_regular(path) -> BinaryIO: opened for reading, never blocking on a FIFO.
    read_regular(path, limit=None) -> bytes: the whole file (``OSError`` when larger than limit).
    resolve_inside(root, name) -> Path: a path named in the settings, which must resolve (links
        followed) inside ``root``; ``ValueError`` otherwise.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class NotRegularFile(OSError):
    """The path exists but is not a regular file."""


def open_regular(path: Path) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file.

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a writer; the type
    is then checked on the open descriptor (no race with a swap after a ``stat``), and blocking
    mode is restored for the read.

    Raises:
        NotRegularFile: a FIFO, device, socket or folder.
        OSError: it cannot be opened.
    """
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _BINARY)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them.

    Raises:
        NotRegularFile: not a regular file.
        OSError: cannot be read, or larger than ``limit`` (``errno.EFBIG``).
    """
    with open_regular(path) as fh:
        data = fh.read() if limit is None else fh.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes", str(path))
    return data


def resolve_inside(root: Path, name: str) -> Path:
    """The path ``name`` (relative to ``root``) after following links; it must stay inside.

    Raises:
        ValueError: an absolute path or a link leading outside ``root``.
    """
    base = root.resolve()
    candidate = (base / name).resolve()
    if not candidate.is_relative_to(base):
        raise ValueError(f"{name} is outside the workspace")
    return candidate
