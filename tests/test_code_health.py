"""Checks on the source itself that no linter makes."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "twinreview"


def _write_only_private_attributes(source: str) -> set[str]:
    """Private attributes (``_name``) a module assigns but never reads."""
    stored: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            if isinstance(node.ctx, ast.Store):
                stored.add(node.attr)
            else:
                read.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            read.add(node.value)  # getattr(self, "_name"), __slots__
    return {a for a in stored - read if a.startswith("_") and not a.startswith("__")}


def test_the_check_finds_a_write_only_attribute() -> None:
    code = "class A:\n    def __init__(self):\n        self._kept = 1\n        self._used = 2\n"
    assert _write_only_private_attributes(
        code + "    def f(self):\n        return self._used\n"
    ) == {"_kept"}


def test_no_private_attribute_is_written_and_never_read() -> None:
    """A private attribute only its own module can read, and nothing does, is dead state."""
    found = {
        f"{path.relative_to(SRC)}: {name}"
        for path in sorted(SRC.rglob("*.py"))
        for name in _write_only_private_attributes(path.read_text(encoding="utf-8"))
    }
    assert not found, sorted(found)


def test_the_main_window_stays_a_thin_shell() -> None:
    """The window wires its parts; compare, dialogs and texts live in their own modules.

    The class regrew quickly every time a screen was added to it directly, so its size is held.
    """
    tree = ast.parse((SRC / "ui" / "main_window.py").read_text(encoding="utf-8"))
    (window,) = (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "MainWindow")
    assert window.end_lineno is not None
    length = window.end_lineno - window.lineno + 1
    assert length < 450, f"MainWindow is {length} lines"
