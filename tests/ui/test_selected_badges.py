"""Badges on a selected queue row stay visible on the selection's highlight."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from conftest import Harness, open_and_scan
from twinreview.core.approval.policy import State
from twinreview.ui.queue_model import COL_STATUS, ItemRole


def _shot(widget: Any, name: str) -> None:
    folder = os.environ.get("TWINREVIEW_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(folder) / name))


def _contrast(a: QColor, b: QColor) -> float:
    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_status_icons_stay_visible_on_a_selected_row(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    page = w.review
    proxy = page.proxy
    row = next(
        r
        for r in range(proxy.rowCount())
        if proxy.index(r, 0).data(ItemRole).state is State.PENDING
    )
    assert w.select_asset(proxy.index(row, 0).data(ItemRole).rel)
    table = page.table
    table.setFocus()
    QApplication.processEvents()
    index = proxy.index(row, COL_STATUS)
    cell = table.visualRect(index)
    side = max(16, table.fontMetrics().height())
    image: QImage = table.viewport().grab().toImage()
    highlight = table.palette().color(table.palette().ColorRole.Highlight)
    # The icon sits at the cell's left, centred vertically: the best contrast of its pixels
    # with the highlight must reach the 3:1 asked of icons (WCAG non-text contrast).
    top = cell.center().y() - side // 2
    best = max(
        _contrast(image.pixelColor(x, y), highlight)
        for x in range(cell.left() + 1, cell.left() + side + 4)
        for y in range(top, top + side)
    )
    _shot(table, "selected-row.png")
    assert best >= 3.0, best
