"""The review page at laptop widths.

At 1280, 1024 and 800 px the queue keeps file names readable, its badge columns inside the
table, its filter boxes uncut, and the decision text wraps between words. Set
``TWINREVIEW_SHOTS`` to a folder to also save the window at each width.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QComboBox, QStyle, QStyleOptionComboBox

from conftest import Harness, make_workspace, open_and_scan
from twinreview.ui.queue_model import COL_ASSET, COL_FINDINGS, COL_STATUS, ItemRole

LONG_NAME = "campaign-spring-2026-look-0042.jpg"


def _shot(widget: Any, name: str) -> None:
    folder = os.environ.get("TWINREVIEW_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(folder) / name))


def _settle(qtbot: Any, w: Any, width: int) -> None:
    w.resize(width, 800)
    qtbot.waitUntil(lambda: w.width() == width)
    # Layouts and the columns follow the new width within an event-loop turn or two.
    qtbot.wait(50)
    QApplication.processEvents()


def _edit_field_width(combo: QComboBox) -> int:
    opt = QStyleOptionComboBox()
    combo.initStyleOption(opt)
    rect = combo.style().subControlRect(
        QStyle.ComplexControl.CC_ComboBox, opt, QStyle.SubControl.SC_ComboBoxEditField, combo
    )
    return rect.width()


@pytest.mark.parametrize("width", [1280, 1024, 800])
def test_the_queue_and_decision_bar_degrade_gracefully(
    qtbot: Any, harness: Harness, tmp_path: Path, width: int
) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / "assets" / "ana" / "look-1.jpg").rename(root / "assets" / "ana" / LONG_NAME)
    open_and_scan(qtbot, harness, root)
    w = harness.window
    page = w.review
    assert w.select_asset("assets/ana/look-2.jpg")
    _settle(qtbot, w, width)
    table = page.table
    fm = table.fontMetrics()
    thumb = table.iconSize().width()

    # The file-name column has room for an ordinary name beside its thumbnail; the badge
    # columns lie inside the table (no sideways scrolling to see a status).
    room = table.columnWidth(COL_ASSET) - thumb - 12
    assert room >= fm.horizontalAdvance("look-2.jpg"), (width, room)
    right = sum(table.columnWidth(c) for c in (COL_ASSET, COL_FINDINGS, COL_STATUS))
    assert right <= table.viewport().width() + 1, (width, right, table.viewport().width())
    # A long name keeps its end (the number and the extension) readable.
    proxy = page.proxy
    row = next(
        r
        for r in range(proxy.rowCount())
        if proxy.index(r, 0).data(ItemRole).ref.path.name == LONG_NAME
    )
    shown = page.asset_delegate.shown_name(table, proxy.index(row, COL_ASSET))
    assert shown.endswith("0042.jpg"), shown
    assert fm.horizontalAdvance(shown) <= room + 12

    # Filter boxes show their whole "Any …" text.
    for combo in (page.kind_filter, page.model_filter, page.verdict_filter):
        text = combo.itemText(0)
        assert combo.currentIndex() == 0
        assert _edit_field_width(combo) >= combo.fontMetrics().horizontalAdvance(text), (
            width,
            text,
            _edit_field_width(combo),
        )
        assert combo.isVisible()

    # The decision text wraps between words, never inside one.
    label = page.decision_label
    text = "pending: model, agent · No reviewer identity yet: create one to approve or reject."
    label.setText(text)
    QApplication.processEvents()
    widest = max(label.fontMetrics().horizontalAdvance(word) for word in text.split())
    assert label.contentsRect().width() >= widest, (width, label.contentsRect().width())
    # Approve and Reject stay whole and inside the window (previous and next may give way).
    for button in page.bar_buttons:
        if button.defaultAction() in (w.acts["approve"], w.acts["reject"]):
            assert button.isVisible()
        if button.isVisible():
            assert button.width() >= button.minimumSizeHint().width()
            assert button.mapTo(w, button.rect().bottomRight()).x() <= w.width()
    # The findings panel keeps its width: its table words stay whole.
    assert page.findings.width() >= 200
    _shot(w, f"review-{width}.png")
