"""The one CSV writer (``scan --csv``, ``report --csv``): safe to open in a spreadsheet.

File names, model folders, notes and reasons come from files anyone with folder access can write.
A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is a formula to
Excel and LibreOffice, so a crafted name could run one in the reader's spreadsheet (OWASP "CSV
injection"). Every text cell that starts so gets a leading ``'``, which spreadsheets show as text;
numbers are written as they are. A cell holding a comma, a quote, a carriage return or a newline
is quoted (RFC 4180), so that a name cannot add a row or a column; lines end with a newline (LF).
Characters that drive a terminal (escape sequences, bidirectional overrides) are shown as visible
escapes (``core.visible``), as in every other output: ``scan --csv`` usually goes to a terminal.

Public API:
    safe_cell(value) -> str | int | float: one cell, neutralised.
    write_rows(out, fields, rows): a header line, then one line per row (missing cells empty).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import IO

from twinreview.core.visible import escape

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTES = frozenset(',"\r\n')


def safe_cell(value: object) -> str | int | float:
    """``value`` as a CSV cell that no spreadsheet runs as a formula (None is an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = escape(str(value))
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_rows(out: IO[str], fields: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    """Write ``fields`` as the header, then every row in that column order.

    Raises:
        ValueError: a row has a key that is not one of ``fields`` (a programming error).
    """
    names = list(fields)
    known = set(names)
    out.write(_line(names))
    for row in rows:
        unknown = set(row) - known
        if unknown:
            raise ValueError(f"CSV row has unknown columns: {sorted(unknown)}")
        out.write(_line([safe_cell(row.get(name)) for name in names]))


def _line(cells: Sequence[str | int | float]) -> str:
    return ",".join(_quoted(str(c)) for c in cells) + "\n"


def _quoted(text: str) -> str:
    if _NEEDS_QUOTES.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


__all__ = ["safe_cell", "write_rows"]
