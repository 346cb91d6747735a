"""The action table: one loop builds every command; no key does two things."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QKeySequence

from conftest import Harness
from twinreview.ui.actions import ACTIONS, MENUS, TOOLBAR


def test_table_is_complete_and_unambiguous() -> None:
    ids = [s.id for s in ACTIONS]
    assert len(ids) == len(set(ids))
    for s in ACTIONS:
        assert s.text and s.tip, s.id
        assert s.keys, f"{s.id} has no shortcut"
    keys = [QKeySequence(k).toString() for s in ACTIONS for k in s.keys]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    placed = {n for _, names in MENUS for n in names if n} | {n for n in TOOLBAR if n}
    assert placed <= set(ids)
    assert set(ids) <= {n for _, names in MENUS for n in names if n}


def test_window_builds_every_action_from_the_table(harness: Harness) -> None:
    w: Any = harness.window
    assert list(w.acts) == [s.id for s in ACTIONS]
    for s in ACTIONS:
        a = w.acts[s.id]
        assert [k.toString() for k in a.shortcuts()] == [QKeySequence(k).toString() for k in s.keys]
        assert a.isCheckable() == s.checkable
        assert a.statusTip() == s.tip
