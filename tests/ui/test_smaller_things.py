"""Small things a real window showed: captions, clipping, the row after a delete, the toolbar
with no workspace, Quit, face-box labels on dark hair."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QItemSelectionModel, QRect, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QApplication, QStyle

from conftest import Harness, open_and_scan
from twinreview.core.findings import Finding, Severity
from twinreview.ui.faces import FaceBox
from twinreview.ui.queue_model import COL_FINDINGS, ItemRole

#: What may stay enabled before a workspace is open.
# Checking a published file needs only the file and an export, no open workspace.
WITHOUT_WORKSPACE = {"open", "create", "demo", "identity", "shortcuts", "quit", "check_published"}


def test_compare_two_captions_the_second_image_as_an_asset(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    sm = w.review.table.selectionModel()
    rows = QItemSelectionModel.SelectionFlag.Rows
    sm.setCurrentIndex(
        w.review.proxy.index(1, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect | rows
    )
    sm.select(w.review.proxy.index(2, 0), QItemSelectionModel.SelectionFlag.Select | rows)
    w.acts["compare_two"].trigger()
    second = w.review.proxy.index(2, 0).data(ItemRole)
    caption = w.review.view.right._caption
    assert not caption.startswith("Reference"), caption
    assert second.ref.path.name in caption


def test_after_a_delete_the_next_row_is_current(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    w.step(2)
    proxy = w.review.proxy
    row = w.review.table.currentIndex().row()
    gone = w.current_item().rel
    after = proxy.index(row + 1, 0).data(ItemRole).rel
    (workspace / gone).unlink()
    with qtbot.waitSignal(harness.session.statuses_refreshed, timeout=10_000):
        w.acts["rescan"].trigger()
    assert w.current_item().rel == after
    assert w.review.view.asset_rel == after


def test_the_toolbar_is_off_until_a_workspace_is_open(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    w = harness.window
    on = [a.objectName() or n for n, a in w.acts.items() if a.isEnabled()]
    assert set(on) <= WITHOUT_WORKSPACE, sorted(set(on) - WITHOUT_WORKSPACE)
    for action in w.toolbar.actions():
        if action.isSeparator():
            continue
        name = next(n for n, a in w.acts.items() if a is action)
        assert action.isEnabled() == (name in WITHOUT_WORKSPACE), name
    open_and_scan(qtbot, harness, workspace)
    assert all(w.acts[n].isEnabled() for n in ("side", "fit", "zoom_in", "next", "flip"))


def test_quit_closes_the_window(qtbot: Any, harness: Harness) -> None:
    w = harness.window
    assert w.acts["quit"].shortcut().toString() == "Ctrl+Q"
    assert any(a is w.acts["quit"] for m in w.menuBar().actions() for a in m.menu().actions())
    target = QApplication.focusWidget() or w
    qtbot.keyClick(target, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not w.isVisible())


@pytest.mark.parametrize("scale", [1.0, 1.5])
@pytest.mark.parametrize("size", [QSize(1280, 800), QSize(1600, 1000)])
def test_findings_cells_and_progress_text_fit(
    qtbot: Any, settings: Any, workspace: Path, size: QSize, scale: float
) -> None:
    from conftest import FakeBackend, SyncExecutor
    from twinreview.ui.app import build_window
    from twinreview.ui.backend import Identity

    many = (
        Finding("unknown_person", Severity.WARN, "A stranger.", {}),
        Finding("duplicate_in_batch", Severity.INFO, "Twice.", {}),
    )
    backend = FakeBackend(identity=Identity("me@example.com", "Me", "agent", "line"))
    backend.findings_for = {"copy-0.jpg": many}  # block, warn and info: three parts
    app = QApplication.instance()
    font = app.font()
    bigger = app.font()
    bigger.setPointSizeF(font.pointSizeF() * scale)  # a laptop's larger system font
    app.setFont(bigger)
    try:
        sync = SyncExecutor()
        w, session, _ = build_window(backend, settings, ui_executor=sync, long_executor=sync)
        qtbot.addWidget(w)
        session.set_identity(backend.identity, None)
        w.resize(size)
        w.show()
        with qtbot.waitSignal(session.statuses_refreshed, timeout=10_000):
            w.open_workspace(workspace)
        QApplication.processEvents()
        table = w.review.table
        fm = table.fontMetrics()
        margin = table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1
        w.review.setSizes([1, 10_000, 1])  # the queue as narrow as it goes: most lines
        QApplication.processEvents()
        for row in range(w.review.proxy.rowCount()):
            index = w.review.proxy.index(row, COL_FINDINGS)
            rect = table.visualRect(index)
            icon = max(16, fm.height()) + 2 * margin + 4
            room = QRect(0, 0, rect.width() - icon - 2 * margin, 10_000)
            text = index.data()
            need = fm.boundingRect(room, Qt.TextFlag.TextWordWrap, text).height()
            assert need <= rect.height() - 2 * margin, (size, scale, text, need, rect.height())
        # A scan's progress text stays on one line inside its bar, beside a long status line.
        w.status_line.say("Opening /home/someone/Pictures/a rather long folder name/2025/06…")
        w.status_line.scan_progress(120, 220, "analyse")
        QApplication.processEvents()
        bar = w.status_line.progress
        assert bar.width() >= bar.fontMetrics().horizontalAdvance(bar.text()) + 24, bar.width()
    finally:
        app.setFont(font)


@pytest.mark.parametrize("dark", [False, True])
def test_face_box_labels_are_readable_on_dark_hair(qtbot: Any, tmp_path: Path, dark: bool) -> None:
    from conftest import SyncExecutor as UiSync
    from twinreview.ui.bridge import Bridge
    from twinreview.ui.compare_view import CompareView
    from twinreview.ui.images import ImageCache
    from twinreview.ui.loader import ImageLoader, ThumbnailProvider

    hints = QGuiApplication.styleHints()
    before = hints.colorScheme()
    hints.setColorScheme(Qt.ColorScheme.Dark if dark else Qt.ColorScheme.Light)
    try:
        path = tmp_path / "hair.png"
        Image.new("RGB", (400, 400), (25, 20, 18)).save(path)  # dark hair everywhere
        bridge = Bridge(UiSync())
        view = CompareView(
            ImageLoader(bridge, ImageCache()), ThumbnailProvider(bridge, QSize(32, 32))
        )
        qtbot.addWidget(view)
        view.resize(800, 500)
        view.show()
        view.show_asset(path, "assets/a/hair.png", "hair.png", [], None)
        labels = ("Ana 0.31", "Bo? 0.35", "unknown")
        colours = (QColor(46, 204, 113), QColor(231, 76, 60), QColor(243, 156, 18))
        boxes = tuple(
            FaceBox((0.1 + 0.3 * i, 0.4, 0.3 + 0.3 * i, 0.7), c, t)
            for i, (c, t) in enumerate(zip(colours, labels, strict=True))
        )
        view.set_faces(boxes, {})
        qtbot.waitUntil(lambda: view.left.has_image)
        canvas = view.left
        image = canvas.grab().toImage()
        drawn = canvas.fitted(canvas._primary, canvas.frame_rect())
        tags = {id(b): tag for b, _, tag, _ in canvas._box_layout(drawn)}
        for fb in boxes:
            tag = tags[id(fb)]
            assert tag is not None
            bg = image.pixelColor(int(tag.left()) + 2, int(tag.top()) + 2)
            ink = view.left.label_ink(fb)
            assert _contrast(bg, ink) >= 4.5, (fb.label, bg.name(), ink.name())
            assert _contrast(bg, QColor(25, 20, 18)) >= 3, (fb.label, bg.name())
    finally:
        hints.setColorScheme(before)


def _contrast(a: QColor, b: QColor) -> float:
    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
