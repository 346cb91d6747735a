"""Workspace text made safe to show: every character that could drive a terminal made visible.

File names, notes, principals and messages come from files anyone with folder access can write. A
note holding ``ESC [2K`` could erase the line a reviewer is reading and print a fake "cleared" in
its place, and a right-to-left override could make ``gpj.exe`` read as ``exe.jpg``. Whatever a
command prints for people (``cli.text``) and every CSV cell (``services.csvout``, often printed
to a terminal too) goes through :func:`escape`.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, and the Unicode bidirectional overrides,
# embeddings and isolates plus the line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every terminal-controlling character shown as a visible escape."""
    return _UNSAFE.sub(_visible, text)


def escape_field(text: str) -> str:
    """Workspace text for one field of a line: controls and newlines made visible too."""
    return escape(text).replace("\n", "\\n")
