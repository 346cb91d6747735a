"""Typed reads of JSON values at the edges (scan JSON, caches, signed findings).

A value of the wrong type raises ``TypeError`` with the value in its message; the typed records
(``core.similarity.evidence``, ``core.disclosure.model``) turn it into their own errors.
"""

from __future__ import annotations

import math
from typing import Any


def read_str(value: Any) -> str:
    """``value`` if it is a string."""
    if not isinstance(value, str):
        raise TypeError(f"not a string: {value!r}")
    return value


def read_bool(value: Any) -> bool:
    """``value`` if it is true or false (never a number)."""
    if not isinstance(value, bool):
        raise TypeError(f"not true or false: {value!r}")
    return value


def read_float(value: Any) -> float:
    """``value`` as a float if it is a finite number (never true or false)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"not a finite number: {value!r}")
    return float(value)
