"""What every twinreview error has in common, and the two small helpers each module needs.

Public API:
    TwinreviewError: the base of the errors a command reports to the user as one line
        (``str(err)``). Catching it is how a front end tells "refused, with a reason" from a bug.
    one_line(exc, limit=300) -> str: an exception as one line of text (never empty).
    iso_utc(value, timespec="seconds") -> str: a time as ISO 8601 UTC with ``Z``.
"""

from __future__ import annotations

import datetime as dt


class TwinreviewError(Exception):
    """An error whose message is one plain line for the user."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """``str(exc)`` with its white space folded, cut at ``limit``; the type name when empty."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:limit]


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC; a naive value is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def iso_utc(value: dt.datetime, timespec: str = "seconds") -> str:
    """``2026-03-01T09:00:00Z``: UTC, ISO 8601, naive times taken as UTC."""
    return as_utc(value).isoformat(timespec=timespec).replace("+00:00", "Z")


def file_stamp(value: dt.datetime) -> str:
    """``20260301T090000000000Z``: a UTC time for file names, sortable, no ``:`` (Windows)."""
    return as_utc(value).strftime("%Y%m%dT%H%M%S%fZ")
