"""Handing freed memory back to the system between the scan's phases.

A scan decodes thousands of images on several threads; glibc's allocator keeps much of what
they free in its per-thread arenas, so the process's resident memory would stay near the
largest amount ever in use (hundreds of MB) long after the phase that needed it, and an idle
app's scan process would hold its peak. :func:`release_freed` asks glibc to return it
(``malloc_trim``); elsewhere it does nothing (macOS and Windows return freed pages themselves).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import sys
from typing import Any


@functools.cache
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c") or "libc.so.6"
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL(name)
        if hasattr(libc, "malloc_trim"):  # glibc only (not musl)
            return libc
    return None


def release_freed() -> None:
    """Return the memory the process freed to the system, where the allocator keeps it."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
