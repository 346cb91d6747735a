"""The agent's throughput: batch decisions, withdraw, filters, keyboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from conftest import Harness, open_and_scan
from twinreview.ui.dialogs import RejectDialog, ShortcutSheet
from twinreview.ui.queue_model import ItemRole, QueueFilter


def _select_rows(h: Harness, rows: list[int]) -> list[str]:
    w = h.window
    sm = w.review.table.selectionModel()
    sm.setCurrentIndex(
        w.review.proxy.index(rows[0], 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    for r in rows[1:]:
        sm.select(
            w.review.proxy.index(r, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    return [w.review.proxy.index(r, 0).data(ItemRole).rel for r in rows]


def _shown(h: Harness) -> list[str]:
    p = h.window.review.proxy
    return [p.index(r, 0).data(ItemRole).rel for r in range(p.rowCount())]


def test_batch_reject_one_reason_one_signature_each(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    rels = _select_rows(harness, [2, 3, 4])
    assert len(w.selected_items()) == 3
    assert "3 selected" in w.review.decision_label.text()
    w.acts["reject"].trigger()
    dialog = w.dialogs.current
    assert isinstance(dialog, RejectDialog)
    qtbot.keyClick(dialog.list, "6")  # quality
    dialog.note.setPlainText("all too dark")
    with qtbot.waitSignal(harness.session.batch_finished) as done:
        dialog.accept()
    ok, refused = done.args
    assert sorted(ok) == sorted(rels) and refused == []
    decisions = harness.backend.decisions
    assert sorted(d.asset for d in decisions) == sorted(rels)  # one entry each
    assert {(d.decision, d.reasons, d.note) for d in decisions} == {
        ("reject", ("quality",), "all too dark")
    }
    # The selection did not move.
    assert sorted(i.rel for i in w.selected_items()) == sorted(rels)


def test_batch_approve_lists_refusals_per_asset(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    # Row 0 is a blocked copy; row 3 is refused by the log.
    rels = _select_rows(harness, [0, 2, 3])
    harness.backend.refuse[rels[2]] = "the roster refused it"
    w.acts["approve"].trigger()
    box = w.dialogs.current
    assert isinstance(box, QMessageBox) and "blocking findings" in box.text()
    ok_button = next(b for b in box.buttons() if b.text().startswith("&Approve"))
    with qtbot.waitSignal(harness.session.batch_finished) as done:
        ok_button.click()
    ok, refused = done.args
    assert ok == [rels[1]]
    assert dict(refused).keys() == {rels[0], rels[2]}
    report = w.dialogs.current
    assert isinstance(report, QMessageBox)
    assert rels[0] in report.text() and "the roster refused it" in report.text()
    assert sorted(i.rel for i in w.selected_items()) == sorted(rels)
    assert "Signed 1 of 3" in w.status_line.text()
    report.accept()


def test_ctrl_z_withdraws_the_decision_just_signed(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    w.step(2)
    item = w.current_item()
    w.review.table.setFocus()
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        qtbot.keyClick(w.review.table, "a")
    assert w.current_item().rel != item.rel
    qtbot.waitUntil(lambda: item.latest_by("me@example.com") == "approve")
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        qtbot.keyClick(w.review.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [d.decision for d in harness.backend.decisions] == ["approve", "withdraw"]
    assert w.current_item().rel == item.rel  # back on the asset whose decision was withdrawn
    qtbot.waitUntil(lambda: item.latest_by("me@example.com") is None)
    assert "undecided" in w.status_line.text()
    # The menu action: nothing left to withdraw is said, not signed.
    w.acts["withdraw"].trigger()
    assert "no decision" in w.status_line.text()
    assert len(harness.backend.decisions) == 2


def _choose(combo: Any, value: str | None) -> None:
    """Pick the filter list's entry for ``value`` (None: the "Any …" entry), as a click would."""
    combo.setCurrentIndex(max(0, combo.findData(value or "")))


def test_filters_by_kind_model_and_verdict(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    assert w.review.kind_filter.findData("near_copy_of_reference") > 0
    _choose(w.review.kind_filter, "near_copy_of_reference")
    assert sorted(_shown(harness)) == ["assets/ana/copy-0.jpg", "assets/bo/copy-0.jpg"]
    _choose(w.review.model_filter, "bo")
    assert _shown(harness) == ["assets/bo/copy-0.jpg"]
    _choose(w.review.kind_filter, None)
    assert len(_shown(harness)) == 4
    _choose(w.review.verdict_filter, "missing")
    assert _shown(harness) == []
    _choose(w.review.verdict_filter, "partial")
    assert len(_shown(harness)) == 4


def test_flagged_ignores_notes_and_allowed_disclosure(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    from dataclasses import replace

    from twinreview.core.disclosure import Verdict
    from twinreview.core.findings import Finding, Severity

    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    items = {i.rel: i for i in harness.session.items}
    note = Finding("duplicate_in_batch", Severity.INFO, "same picture", {})
    partial = Finding("partial_disclosure", Severity.WARN, "only XMP", {})
    missing = Finding("missing_disclosure", Severity.BLOCK, "nothing", {})
    a, b, c = (
        items["assets/ana/look-1.jpg"],
        items["assets/ana/look-2.jpg"],
        items["assets/ana/look-3.jpg"],
    )
    a.result = replace(a.result, findings=(note,))
    b.result = replace(b.result, findings=(partial,))  # verdict partial: allowed by default
    assert c.result.disclosure is not None
    c.result = replace(
        c.result,
        findings=(missing,),
        disclosure=replace(c.result.disclosure, verdict=Verdict.MISSING),
    )
    harness.session.items_changed.emit([a.rel, b.rel, c.rel])
    w.review.set_filter(QueueFilter.FLAGGED)
    assert sorted(_shown(harness)) == [
        "assets/ana/copy-0.jpg",
        "assets/ana/look-3.jpg",
        "assets/bo/copy-0.jpg",
    ]


def test_escape_and_enter_leave_the_search_box(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    w.acts["search"].trigger()
    assert QApplication.focusWidget() is w.review.search
    qtbot.keyClicks(w.review.search, "look")
    qtbot.keyClick(w.review.search, Qt.Key.Key_Return)
    assert QApplication.focusWidget() is w.review.table
    assert w.review.proxy.rowCount() == 6  # the filter stays
    w.acts["search"].trigger()
    qtbot.keyClick(w.review.search, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is w.review.table
    # Back in the queue, single keys are shortcuts again (not typed into the box).
    qtbot.keyClick(w.review.table, "n")
    assert w.review.search.text() == "look"


def test_shortcut_sheet_lists_every_shortcut(qtbot: Any, harness: Harness) -> None:
    w = harness.window
    w.acts["shortcuts"].trigger()
    sheet = w.dialogs.current
    assert isinstance(sheet, ShortcutSheet)
    rows = {
        sheet.table.item(r, 0).text(): sheet.table.item(r, 1).text()
        for r in range(sheet.table.rowCount())
    }
    for a in w.acts.values():
        if a.shortcuts():
            assert a.text().replace("&", "") in rows
    assert rows["Show: Flagged"] == "Alt+3"
    assert "Ctrl+Z" in rows["Undo my last decision"]
    assert "Esc" in rows["Back to the queue from the search box (in the search)"]
    assert "Shift+Down" in rows["Select several assets (in the queue)"]
    assert "Shift+click" in rows["Select several assets (in the queue)"]
    sheet.reject()


def test_every_action_is_in_a_menu(harness: Harness) -> None:
    in_menus = {a for m in harness.window.menuBar().actions() for a in m.menu().actions()}
    missing = [n for n, a in harness.window.acts.items() if a not in in_menus]
    assert missing == [] or set(missing) <= {"search"}


def test_c_compares_two_selected_assets(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    a, b = _select_rows(harness, [2, 5])
    assert w.acts["compare_two"].isEnabled()
    w.acts["compare_two"].trigger()
    assert w.review.view.asset_rel == a
    assert w.review.view.reference is not None and w.review.view.reference.rel == b
