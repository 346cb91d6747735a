"""Human-readable output that a hostile workspace cannot use to drive the terminal.

Everything a command prints for people goes through :func:`escape` (``core.visible``); JSON output
needs no such care (``json`` escapes control characters itself) and CSV output goes through the
shared CSV writer, which escapes the same characters.
"""

from __future__ import annotations

from typing import TextIO

from twinreview.core.visible import escape, escape_field

__all__ = ["escape", "escape_field", "say"]


def say(text: str, *, file: TextIO | None = None) -> None:
    """``print`` one line that may hold workspace content (a newline in it is shown, not obeyed)."""
    import sys

    print(escape_field(text), file=file if file is not None else sys.stdout)
