"""The agent's keyboard model, driven by real key events on the focused widget.

Tab moves between the window's areas (queue, images, findings, decision bar, filters), arrows
move inside one; Shift+arrows and Shift+PageUp/PageDown extend the queue's selection; a filter
key leaves the focus in the queue, so Ctrl+A selects what the filter shows and A decides exactly
that, after a confirmation that says what the selection carries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QMessageBox, QWidget

from conftest import FakeBackend, Harness, make_workspace, open_and_scan
from twinreview.core.findings import Finding, Severity
from twinreview.ui.queue_model import ItemRole

SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier
NONE = Qt.KeyboardModifier.NoModifier

WARN = Finding(
    "likeness_unconfirmed", Severity.WARN, "The face check could not confirm the model.", {}
)
STRANGER = Finding("unknown_person", Severity.WARN, "Someone not in the workspace.", {})


def _press(qtbot: Any, key: Qt.Key | str, modifier: Any = NONE) -> QWidget:
    """Press ``key`` on the widget that has the focus; return the widget that has it after."""
    target = QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    qtbot.keyClick(target, key, modifier)
    QApplication.processEvents()
    after = QApplication.focusWidget()
    assert after is not None
    return after


def _area(h: Harness, widget: QWidget) -> str:
    """Which of the review page's areas ``widget`` is in."""
    for name, widgets in h.window.review.focus_areas():
        if any(widget is c or c.isAncestorOf(widget) for c in widgets):
            return name
    return f"outside ({type(widget).__name__})"


@pytest.fixture
def flagged_backend(backend: FakeBackend) -> FakeBackend:
    backend.findings_for = {"look-1.jpg": (WARN,), "look-2.jpg": (WARN, STRANGER)}
    return backend


def _open(qtbot: Any, h: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, h, workspace)
    h.window.review.table.setFocus()
    qtbot.waitUntil(lambda: h.window.review.table.hasFocus())


def test_tab_walks_the_areas_and_never_changes_the_image(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    current = harness.window.current_item().rel
    seen = [_area(harness, QApplication.focusWidget())]
    for _ in range(5):
        seen.append(_area(harness, _press(qtbot, Qt.Key.Key_Tab)))
    assert seen == ["queue", "images", "findings", "decision", "filters", "queue"]
    back = [_area(harness, _press(qtbot, Qt.Key.Key_Backtab, SHIFT)) for _ in range(5)]
    assert back == ["filters", "decision", "findings", "images", "queue"]
    assert harness.window.current_item().rel == current


def test_arrows_move_inside_the_decision_bar_and_the_filters(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    for _ in range(3):
        _press(qtbot, Qt.Key.Key_Tab)
    first = QApplication.focusWidget()
    assert _area(harness, first) == "decision"
    second = _press(qtbot, Qt.Key.Key_Right)
    assert second is not first and _area(harness, second) == "decision"
    assert _press(qtbot, Qt.Key.Key_Left) is first
    filters = _press(qtbot, Qt.Key.Key_Tab)
    assert isinstance(filters, QAbstractButton) and _area(harness, filters) == "filters"
    nxt = _press(qtbot, Qt.Key.Key_Right)
    assert nxt is not filters and _area(harness, nxt) == "filters"


def test_shift_arrows_and_pages_extend_the_selection(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    w = harness.window
    view = w.review.view
    before = (view.right.frame_rect(), view.left.frame_rect())
    _press(qtbot, Qt.Key.Key_Down, SHIFT)
    _press(qtbot, Qt.Key.Key_Down, SHIFT)
    assert len(w.selected_items()) == 3
    _press(qtbot, Qt.Key.Key_Up, SHIFT)
    assert len(w.selected_items()) == 2
    _press(qtbot, Qt.Key.Key_PageDown, SHIFT)
    assert len(w.selected_items()) == w.review.proxy.rowCount()
    _press(qtbot, Qt.Key.Key_PageUp, SHIFT)
    assert len(w.selected_items()) == 1
    # The reference photo did not move: it has keys of its own.
    assert (view.right.frame_rect(), view.left.frame_rect()) == before


def test_the_key_table_has_no_duplicate() -> None:
    from twinreview.ui.actions import key_table

    rows = key_table()
    window = [QKeySequence(k).toString() for r in rows if r.scope == "window" for k in r.keys]
    assert len(window) == len(set(window)), sorted({k for k in window if window.count(k) > 1})
    for scope in {r.scope for r in rows} - {"window"}:
        local = [QKeySequence(k).toString() for r in rows if r.scope == scope for k in r.keys]
        clash = sorted({k for k in local if local.count(k) > 1 or k in window})
        assert not clash, (scope, clash)
    extend = next(r for r in rows if r.what.startswith("Select several"))
    assert {"Shift+Up", "Shift+Down", "Shift+PgUp", "Shift+PgDown"} <= {
        QKeySequence(k).toString() for k in extend.keys
    }


def test_the_key_table_test_catches_a_duplicate(monkeypatch: pytest.MonkeyPatch) -> None:
    from twinreview.ui import actions

    dup = actions.Spec("dup", "Dup", None, ("Shift+Up",), "a clash")
    monkeypatch.setattr(actions, "ACTIONS", (*actions.ACTIONS, dup))
    with pytest.raises(AssertionError):
        test_the_key_table_has_no_duplicate()


def test_a_filter_key_leaves_the_focus_in_the_queue_and_ctrl_a_selects_it(
    qtbot: Any, flagged_backend: FakeBackend, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    w = harness.window
    after = _press(qtbot, "3", ALT)  # Flagged
    assert after is w.review.table
    shown = w.review.proxy.rowCount()
    assert 0 < shown < w.model.rowCount()
    _press(qtbot, "a", CTRL)
    assert len(w.selected_items()) == shown
    _press(qtbot, "a")
    box = w.dialogs.current
    assert isinstance(box, QMessageBox), "A must ask before deciding a selection"
    assert f"of the {shown} selected assets" in box.text()
    box.reject()
    assert harness.backend.decisions == []


def test_a_filter_key_from_another_area_brings_the_focus_back(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    _press(qtbot, Qt.Key.Key_Tab)
    _press(qtbot, Qt.Key.Key_Tab)
    assert _area(harness, QApplication.focusWidget()) == "findings"
    assert _press(qtbot, "2", ALT) is harness.window.review.table


def test_kind_model_and_disclosure_filters_by_keyboard(
    qtbot: Any, flagged_backend: FakeBackend, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    w = harness.window
    while _area(harness, QApplication.focusWidget()) != "filters":
        _press(qtbot, Qt.Key.Key_Tab)
    combos = (w.review.kind_filter, w.review.model_filter, w.review.verdict_filter)
    focus = QApplication.focusWidget()
    for _ in range(12):
        if focus is combos[0]:
            break
        focus = _press(qtbot, Qt.Key.Key_Right)
    assert focus is combos[0], "the finding filter is reachable with arrows"
    for combo in combos:
        assert QApplication.focusWidget() is combo
        total = w.review.proxy.rowCount()
        _press(qtbot, Qt.Key.Key_Down)
        assert combo.currentIndex() == 1
        assert isinstance(QApplication.focusWidget(), QComboBox)
        assert w.review.proxy.rowCount() <= total
        _press(qtbot, Qt.Key.Key_Up)
        assert combo.currentIndex() == 0
        _press(qtbot, Qt.Key.Key_Right)


def test_flagged_and_still_mine_to_decide(
    qtbot: Any, flagged_backend: FakeBackend, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    w = harness.window
    _press(qtbot, "7", ALT)
    proxy = w.review.proxy
    rels = {proxy.index(r, 0).data(ItemRole).rel for r in range(proxy.rowCount())}
    names = {rel.rsplit("/", 1)[-1] for rel in rels}
    assert names == {"copy-0.jpg", "look-1.jpg", "look-2.jpg"}
    target = next(r for r in rels if r.endswith("look-1.jpg"))
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        harness.session.decide(target, "reject", ["quality"])
    qtbot.waitUntil(lambda: proxy.rowCount() == len(rels) - 1)
    assert w.review.table.hasFocus()


def test_batch_confirmation_says_how_many_carry_warnings_and_which(
    qtbot: Any, flagged_backend: FakeBackend, harness: Harness, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws2", assets=5)
    _open(qtbot, harness, ws)
    w = harness.window
    _press(qtbot, "2", ALT)  # Pending: every asset
    _press(qtbot, Qt.Key.Key_Home, CTRL)
    _press(qtbot, "a", CTRL)
    selected = w.selected_items()
    assert len(selected) == 10
    _press(qtbot, "a")
    box = w.dialogs.current
    assert isinstance(box, QMessageBox)
    text = box.text()
    # Per model: a copy (blocking), two likeness warnings, one stranger in the picture.
    assert "6 of the 10 selected carry warnings" in text
    assert "a copy of one of the model's real photos (2)" in text
    assert "face not confirmed (4)" in text
    assert "someone who is not in the workspace (2)" in text
    assert "_" not in text, "no finding codes in the confirmation"
    box.reject()


def test_the_batch_button_counts_only_what_it_would_approve(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    _open(qtbot, harness, workspace)
    w = harness.window
    _press(qtbot, Qt.Key.Key_Down, SHIFT)  # the two copies: both blocking
    assert all(i.blocking for i in w.selected_items())
    _press(qtbot, "a")
    box = w.dialogs.current
    assert isinstance(box, QMessageBox)
    assert "None of the 2 selected can be approved together" in box.text()
    assert not any(b.text().startswith("&Approve") and b.isEnabled() for b in box.buttons())
    box.reject()
    w.activateWindow()  # the window, not the closed box, has the keyboard again
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.review.table)
    _press(qtbot, Qt.Key.Key_Down, SHIFT)  # and one without findings
    _press(qtbot, "a")
    box = w.dialogs.current
    assert any(b.text() == "&Approve 1" for b in box.buttons())
    box.reject()


def test_the_readme_lists_the_app_s_keys() -> None:
    from make_shortcut_list import shortcut_markdown

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    start, end = "<!-- keys -->\n", "\n<!-- /keys -->"
    assert start in readme and end in readme, "the README has no generated key list"
    listed = readme.split(start, 1)[1].split(end, 1)[0]
    assert listed == shortcut_markdown(), "run tests/ui/make_shortcut_list.py into the README"
