"""The reference strip under the compare view and the words on the images.

Each strip label is drawn once, whatever the photo's shape; simple mode's captions use no
jargon.

A reference's thumbnail arrives after its cell was painted with a placeholder. When the new icon
changed the cell's layout, the view repainted only the cell's new rectangle and the label painted
with the placeholder stayed on screen above or below the new one: a non-square photo's label
showed twice. A fresh render of the widget (``grab()``) repaints everything and never shows it;
what is on screen is the window's backing store, so the tests compare the two.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication, QImage

from twinreview.ui import compare_view
from twinreview.ui.bridge import Bridge
from twinreview.ui.canvas import ImageCanvas
from twinreview.ui.compare_view import CompareView
from twinreview.ui.images import ImageCache
from twinreview.ui.loader import ImageLoader, ThumbnailProvider
from twinreview.ui.references import RefEntry

SHAPES = {
    "landscape-3x1.jpg": (600, 200),
    "portrait-1x3.jpg": (200, 600),
    "square.jpg": (300, 300),
}


class HeldExecutor(Executor):
    """Runs nothing until :meth:`release`: the strip is painted with placeholders first."""

    def __init__(self) -> None:
        self.held: list[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        self.held.append((fut, fn, args))
        return fut

    def release(self) -> int:
        done = 0
        while self.held:
            fut, fn, args = self.held.pop(0)
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:
                fut.set_exception(exc)
            done += 1
        return done


@pytest.fixture
def refs(tmp_path: Path) -> list[RefEntry]:
    out = []
    for i, (name, size) in enumerate(SHAPES.items()):
        path = tmp_path / name
        Image.new("RGB", size, (60 + 60 * i, 120, 200 - 60 * i)).save(path)
        out.append(RefEntry(path, f"models/m/references/{name}", name, 10 + i if i else None))
    return out


def _on_screen(view: CompareView) -> QImage:
    """The strip as the window's backing store holds it (what the user sees)."""
    strip = view.strip
    top_left = strip.mapTo(view.window(), strip.rect().topLeft())
    screen = QGuiApplication.primaryScreen()
    return (
        screen.grabWindow(
            view.window().winId(), top_left.x(), top_left.y(), strip.width(), strip.height()
        )
        .toImage()
        .convertToFormat(QImage.Format.Format_RGB32)
    )


def _fresh(view: CompareView) -> QImage:
    return view.strip.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def _assert_as_fresh(view: CompareView, folder: Path) -> None:
    """What is on screen is what a full repaint draws; both saved when they differ."""
    screen, fresh = _on_screen(view), _fresh(view)
    if screen != fresh:
        screen.save(str(folder / "on-screen.png"))
        fresh.save(str(folder / "fresh.png"))
        pytest.fail(f"the strip on screen differs from a fresh render: see {folder}/*.png")


def _strip_after_thumbnails(qtbot: Any, tmp_path: Path, refs: list[RefEntry], width: int) -> Any:
    held = HeldExecutor()
    bridge = Bridge(held, max_in_flight=8)
    thumbnails = ThumbnailProvider(bridge, QSize(56, 56))
    view = CompareView(ImageLoader(bridge, ImageCache()), thumbnails)
    qtbot.addWidget(view)
    view.resize(width, 400)
    view.show()
    qtbot.waitExposed(view)
    asset = tmp_path / "asset.png"
    Image.new("RGB", (400, 300), (200, 60, 60)).save(asset)
    view.show_asset(asset, "assets/m/asset.png", "asset", refs)
    qtbot.wait(50)  # painted with placeholders
    with qtbot.waitSignals([thumbnails.thumbnail_ready] * len(refs), timeout=5000):
        held.release()
    held.release()  # the asset's own decode
    qtbot.wait(50)
    return view


@pytest.mark.parametrize("width", [900, 420])
def test_each_label_is_on_screen_once(
    qtbot: Any, tmp_path: Path, refs: list[RefEntry], width: int
) -> None:
    view = _strip_after_thumbnails(qtbot, tmp_path, refs, width)
    assert view.strip.count() == len(SHAPES)
    _assert_as_fresh(view, tmp_path)


def test_a_cell_whose_layout_changes_leaves_no_old_label(
    qtbot: Any, tmp_path: Path, refs: list[RefEntry], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Thumbnails as they come (not squared): the cells' labels move when the icons arrive.
    monkeypatch.setattr(compare_view, "square_pixmap", lambda pixmap, size: pixmap)
    view = _strip_after_thumbnails(qtbot, tmp_path, refs, 900)
    _assert_as_fresh(view, tmp_path)


def test_simple_mode_captions_name_the_files_without_jargon(
    qtbot: Any, tmp_path: Path, refs: list[RefEntry], monkeypatch: pytest.MonkeyPatch
) -> None:
    captions: list[str] = []
    original = ImageCanvas.set_images

    def spy(canvas: ImageCanvas, *args: Any, **kwargs: Any) -> None:
        captions.extend(c for c in (kwargs.get("caption"), kwargs.get("secondary_caption")) if c)
        original(canvas, *args, **kwargs)

    monkeypatch.setattr(ImageCanvas, "set_images", spy)
    bridge = Bridge(HeldExecutor())
    view = CompareView(
        ImageLoader(bridge, ImageCache()), ThumbnailProvider(bridge, QSize(56, 56)), simple=True
    )
    qtbot.addWidget(view)
    asset = tmp_path / "look-02.png"
    Image.new("RGB", (40, 30)).save(asset)
    view.show_asset(asset, "assets/m/look-02.png", "look-02.png", refs)
    assert "look-02.png" in captions
    assert view.reference is not None
    assert view.reference.label in captions
    assert not [c for c in captions if c.startswith(("Asset", "Reference"))]
