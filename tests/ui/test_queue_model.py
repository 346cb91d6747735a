from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QObject, Qt, Signal

from conftest import Harness, make_workspace, open_and_scan
from twinreview.core.findings import Severity
from twinreview.ui.queue_model import (
    COL_FINDINGS,
    COL_STATUS,
    ItemRole,
    QueueFilter,
    QueueModel,
    QueueProxy,
    SortKeyRole,
    severity_rank,
)
from twinreview.ui.session import _Landing


def test_models_pass_qtmodeltester(
    qtbot: Any, qtmodeltester: Any, check_model: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    assert harness.window.model.rowCount() == 8
    qtmodeltester.check(harness.window.model, force_py=True)
    check_model(harness.window.review.proxy)


def test_model_checked_while_rows_change(
    qtbot: Any, qtmodeltester: Any, check_model: Any, harness: Harness, workspace: Path
) -> None:
    # The testers watch the signals of the live models: open, scan, statuses, decisions.
    qtmodeltester.check(harness.window.model, force_py=True)
    check_model(harness.window.review.proxy)
    open_and_scan(qtbot, harness, workspace)
    rel = harness.window.current_item().rel
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        harness.session.decide(rel, "approve")


def test_results_land_in_slices_sorted_and_checked(
    qtbot: Any,
    qtmodeltester: Any,
    check_model: Any,
    harness: Harness,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A tiny budget forces many slices; the testers watch every one of them.
    monkeypatch.setattr("twinreview.ui.session.SLICE_BUDGET_S", 1e-9)
    # Small: the testers look at every row after every slice (seconds on a loaded machine).
    ws = make_workspace(tmp_path / "many", assets=12)
    slices: list[int] = []
    harness.session.items_changed.connect(lambda rels: slices.append(len(rels)))
    qtmodeltester.check(harness.window.model, force_py=True)
    check_model(harness.window.review.proxy)
    finished: list[bool] = []
    harness.session.scan_finished.connect(lambda _c: finished.append(harness.session.busy))
    open_and_scan(qtbot, harness, ws)
    # 24 results, then 24 statuses, one small slice at a time, all applied before the signals.
    assert len(slices) > 4
    assert sum(slices) == 48
    assert finished == [False]
    assert not harness.session.busy
    assert all(i.result is not None and i.status is not None for i in harness.session.items)
    proxy = harness.window.review.proxy
    ranks = [severity_rank(proxy.index(r, 0).data(ItemRole)) for r in range(proxy.rowCount())]
    assert ranks == sorted(ranks, reverse=True)
    assert proxy.index(0, 0).data(ItemRole).blocking


def test_unchanged_statuses_are_not_announced(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    seen: list[list[str]] = []
    harness.session.items_changed.connect(seen.append)
    rel = harness.window.current_item().rel
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        harness.session.decide(rel, "approve")
    # Only the asset just decided changed; the other seven are not redrawn or re-sorted.
    assert [r for batch in seen for r in batch] == [rel]


def test_sorted_by_severity_worst_first(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    proxy = harness.window.review.proxy
    ranks = [proxy.index(r, 0).data(ItemRole).worst for r in range(proxy.rowCount())]
    assert ranks[:2] == [Severity.BLOCK, Severity.BLOCK]
    assert ranks[2:] == [None] * 6
    # Ties keep the workspace order.
    rels = [proxy.index(r, 0).data(ItemRole).rel for r in range(2, proxy.rowCount())]
    assert rels == sorted(rels)


def test_badges_have_icon_and_text(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    proxy = harness.window.review.proxy
    idx = proxy.index(0, COL_FINDINGS)
    assert idx.data(Qt.ItemDataRole.DisplayRole) == "1 block"
    assert not idx.data(Qt.ItemDataRole.DecorationRole).isNull()
    status = proxy.index(0, COL_STATUS)
    assert status.data(Qt.ItemDataRole.DisplayRole) == "Pending: model, agent"
    assert not status.data(Qt.ItemDataRole.DecorationRole).isNull()
    assert "model" in status.data(Qt.ItemDataRole.ToolTipRole)


def test_filters(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    proxy: QueueProxy = w.review.proxy

    def count(mode: QueueFilter) -> int:
        w.review.set_filter(mode)
        return proxy.rowCount()

    assert count(QueueFilter.ALL) == 8
    assert count(QueueFilter.FLAGGED) == 2
    assert count(QueueFilter.PENDING) == 8
    assert count(QueueFilter.APPROVED) == 0
    assert count(QueueFilter.REJECTED) == 0
    assert count(QueueFilter.CLEARED) == 0

    items = [proxy.sourceModel().item_at(r) for r in range(8)]
    look = next(i for i in items if i.rel == "assets/ana/look-1.jpg")
    other = next(i for i in items if i.rel == "assets/bo/look-1.jpg")
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        harness.session.decide(look.rel, "approve")
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        harness.session.decide(other.rel, "reject", ["quality"])
    assert count(QueueFilter.APPROVED) == 1
    assert count(QueueFilter.REJECTED) == 1
    assert count(QueueFilter.PENDING) == 7
    w.review.set_filter(QueueFilter.REJECTED)
    assert proxy.index(0, 0).data(ItemRole).rel == other.rel

    # The agent's approval plus the model's clears the asset.
    harness.backend.identity = harness.backend.identity.__class__(
        "ana@example.com", "Ana", "model", "l"
    )
    harness.session.set_identity(harness.backend.identity, None)
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        harness.session.decide(look.rel, "approve")
    assert count(QueueFilter.CLEARED) == 1


def test_text_filter_and_model_restriction(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    proxy = harness.window.review.proxy
    harness.window.review.search.setText("copy")
    assert proxy.rowCount() == 2
    harness.window.review.search.clear()
    proxy.set_models(frozenset({"bo"}))
    assert proxy.rowCount() == 4
    assert {proxy.index(r, 0).data(ItemRole).ref.model_id for r in range(4)} == {"bo"}


def test_more_blocking_findings_sort_first(qtbot: Any, harness: Harness, workspace: Path) -> None:
    from twinreview.ui.queue_model import severity_rank

    open_and_scan(qtbot, harness, workspace)
    items = harness.session.items
    blocked = next(i for i in items if i.blocking)
    clean = next(i for i in items if not i.findings)
    assert severity_rank(blocked) > severity_rank(clean) > -2


def test_her_queue_holds_images_of_other_models_that_may_show_her(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    import dataclasses

    from twinreview.core.findings import ALSO_LOOKS_LIKE_MODEL, Finding

    open_and_scan(qtbot, harness, workspace)
    proxy = harness.window.review.proxy
    other = next(i for i in harness.session.items if i.ref.model_id != "bo")
    assert other.result is not None
    also = Finding(
        ALSO_LOOKS_LIKE_MODEL,
        Severity.BLOCK,
        "This image also looks like Bo: she must approve it too.",
        {"model": "bo"},
    )
    other.result = dataclasses.replace(other.result, findings=(*other.result.findings, also))
    proxy.set_models(frozenset({"bo"}))
    shown = {proxy.index(r, 0).data(ItemRole).rel for r in range(proxy.rowCount())}
    assert proxy.rowCount() == 5
    assert other.rel in shown


def test_filter_changes_keep_the_order_without_sorting_again(
    qtbot: Any, harness: Harness, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    proxy: QueueProxy = w.review.proxy

    def shown() -> list[tuple[int, str]]:
        items = [proxy.index(r, 0).data(ItemRole) for r in range(proxy.rowCount())]
        return [(severity_rank(i), i.rel) for i in items]

    # Either direction: ranks in order, ties in workspace order.
    w.review.table.sortByColumn(COL_FINDINGS, Qt.SortOrder.AscendingOrder)
    assert proxy.sortColumn() == COL_FINDINGS
    assert proxy.sortOrder() == Qt.SortOrder.AscendingOrder
    ascending = shown()
    assert ascending == sorted(ascending)
    assert ascending[0][0] < ascending[-1][0]
    w.review.table.sortByColumn(COL_FINDINGS, Qt.SortOrder.DescendingOrder)
    descending = shown()
    assert descending == sorted(descending, key=lambda rr: (-rr[0], rr[1]))

    # Filtering and clearing the filter show the same order, and never compare rows in Python.
    compared: list[int] = []
    sort_key = QueueModel.sort_key

    def spy(model: QueueModel, row: int, col: int) -> Any:
        compared.append(row)
        return sort_key(model, row, col)

    monkeypatch.setattr(QueueModel, "sort_key", spy)
    w.review.search.setText("look-1")
    assert 0 < proxy.rowCount() < len(descending)
    assert shown() == [rr for rr in descending if "look-1" in rr[1]]
    w.review.search.setText("")
    w.review.set_filter(QueueFilter.REJECTED)
    assert proxy.rowCount() == 0
    w.review.set_filter(QueueFilter.ALL)
    assert shown() == descending
    assert compared == []


def test_simple_mode_keeps_workspace_order_while_the_queue_is_sorted(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    queue = [harness.window.review.proxy.index(r, 0).data(ItemRole).rel for r in range(8)]
    simple = harness.window.simple_page.proxy
    rels = [simple.index(r, 0).data(ItemRole).rel for r in range(simple.rowCount())]
    assert len(rels) > 1
    assert rels == sorted(rels)
    assert queue != sorted(queue)


def test_a_change_that_moves_a_row_resorts_and_one_that_does_not_leaves_the_order(
    qtbot: Any, harness: Harness, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sorting costs two sorts of every row: a status update that moves nothing skips it."""
    import dataclasses

    from twinreview.core.findings import Finding

    open_and_scan(qtbot, harness, workspace)
    model = harness.window.review.proxy.sourceModel()
    assert isinstance(model, QueueModel)
    layouts: list[int] = []
    model.layoutChanged.connect(lambda *_: layouts.append(1))
    sorts: list[int] = []
    order = model._order
    monkeypatch.setattr(model, "_order", lambda: sorts.append(1) or order())
    clean = [i for i in harness.session.items if i.worst is None]
    last = clean[-1]
    # A status refresh that changes nothing the queue sorts by: no re-sort.
    harness.session.items_changed.emit([last.rel])
    assert layouts == [] and sorts == []
    # A blocking finding lands on the last clean image: it moves up among the worst.
    assert last.result is not None
    block = Finding("unreadable", Severity.BLOCK, "The file cannot be read.", {})
    last.result = dataclasses.replace(last.result, findings=(*last.result.findings, block))
    harness.session.items_changed.emit([last.rel])
    assert layouts == [1] and sorts == [1]
    ranks = [model.index(r, 0).data(ItemRole).worst for r in range(model.rowCount())]
    assert ranks[:3] == [Severity.BLOCK] * 3
    assert last.rel in {model.index(r, 0).data(ItemRole).rel for r in range(3)}


class _Announcer(QObject):
    changed = Signal(list)


def test_a_landing_stops_when_its_session_is_deleted(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A window closed while results are still landing: the slices left must not run against
    # the deleted session's signals ("Signal source has been deleted" in the event loop).
    monkeypatch.setattr("twinreview.ui.session.SLICE_BUDGET_S", 1e-9)
    owner = _Announcer()
    applied: list[int] = []
    finished: list[bool] = []

    def apply(update: int) -> str:
        applied.append(update)
        return str(update)

    landing = _Landing(
        owner, list(range(100)), apply, owner.changed.emit, lambda: finished.append(True)
    )
    landing.start()
    first = len(applied)
    assert 0 < first < 100
    shiboken6.delete(owner)
    qtbot.wait(50)
    assert len(applied) == first
    assert finished == []


def test_a_landing_of_many_results_resorts_the_queue_once(
    qtbot: Any, harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each re-sort costs every row (two sorts, and the filter proxy maps every row again): a
    # landing that re-sorted after each slice cost the square of its size (a warm load of
    # 10,000 results took 50 s). It re-sorts once, after its last slice.
    monkeypatch.setattr("twinreview.ui.session.SLICE_BUDGET_S", 1e-9)
    ws = make_workspace(tmp_path / "many", assets=30)
    model = harness.window.model
    layouts: list[bool] = []
    model.layoutChanged.connect(lambda *_: layouts.append(harness.session.busy))
    slices: list[int] = []
    harness.session.items_changed.connect(lambda rels: slices.append(len(rels)))
    open_and_scan(qtbot, harness, ws)
    assert len(slices) > 10  # many slices moved rows (findings, then statuses)...
    assert len(layouts) <= 2  # ...and the queue was re-sorted once per landing at most
    assert not any(layouts)  # never in the middle of one
    ranks = [severity_rank(model.item_at(r)) for r in range(model.rowCount())]
    assert ranks == sorted(ranks, reverse=True)


def test_sorting_by_another_column_uses_that_column_s_keys(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    model = harness.window.model
    model.sort(0, Qt.SortOrder.AscendingOrder)
    names = [model.item_at(r).ref.path.name.lower() for r in range(model.rowCount())]
    assert names == sorted(names)
    assert model.index(0, 0).data(SortKeyRole).startswith(names[0])
    # A key of a column the rows are not sorted by is still answered.
    assert model.index(0, COL_FINDINGS).data(SortKeyRole) == severity_rank(model.item_at(0))
    model.sort(COL_FINDINGS, Qt.SortOrder.DescendingOrder)
    ranks = [severity_rank(model.item_at(r)) for r in range(model.rowCount())]
    assert ranks == sorted(ranks, reverse=True)
