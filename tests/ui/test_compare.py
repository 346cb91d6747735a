from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QSize, Qt
from PySide6.QtGui import QColor, QImage

from conftest import SyncExecutor
from twinreview.ui.bridge import Bridge
from twinreview.ui.canvas import ImageCanvas
from twinreview.ui.compare_view import CompareMode, CompareView
from twinreview.ui.images import ImageCache
from twinreview.ui.loader import ImageLoader, ThumbnailProvider
from twinreview.ui.references import RefEntry


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, Path]:
    out = {}
    # The asset: left half red, right half blue. Reference "same": identical pixels at half size.
    # Reference "other": green, square (different size and aspect).
    asset = Image.new("RGB", (400, 200), (255, 0, 0))
    asset.paste((0, 0, 255), (200, 0, 400, 200))
    out["asset"] = tmp_path / "asset.png"
    asset.save(out["asset"])
    out["same"] = tmp_path / "same.png"
    asset.resize((200, 100), Image.Resampling.NEAREST).save(out["same"])
    out["other"] = tmp_path / "other.png"
    Image.new("RGB", (300, 300), (0, 255, 0)).save(out["other"])
    out["next"] = tmp_path / "next.png"
    Image.new("RGB", (400, 200), (255, 255, 0)).save(out["next"])
    return out


@pytest.fixture
def view(qtbot: Any) -> CompareView:
    bridge = Bridge(SyncExecutor())
    v = CompareView(ImageLoader(bridge, ImageCache()), ThumbnailProvider(bridge, QSize(32, 32)))
    qtbot.addWidget(v)
    v.resize(900, 500)
    v.show()
    qtbot.waitExposed(v)
    return v


def _refs(p: dict[str, Path]) -> list[RefEntry]:
    return [
        RefEntry(p["other"], "models/m/references/other.png", "other.png", 30),
        RefEntry(p["same"], "models/m/references/same.png", "same.png", 2),
    ]


def _show(qtbot: Any, view: CompareView, p: dict[str, Path], key: str = "asset") -> None:
    with qtbot.waitSignal(view.asset_painted, timeout=5000):
        view.show_asset(p[key], f"assets/m/{key}.png", key, _refs(p))
    qtbot.waitUntil(lambda: view.right.has_image)


def _colour_at(widget: Any, x: float, y: float) -> QColor:
    img: QImage = widget.grab().toImage()
    return img.pixelColor(QPoint(round(x * img.width()), round(y * img.height())))


def test_best_match_preselected_and_strip(
    qtbot: Any, view: CompareView, pictures: dict[str, Path]
) -> None:
    _show(qtbot, view, pictures)
    assert view.reference is not None and view.reference.label == "same.png"
    assert view.strip.count() == 2
    assert view.strip.currentRow() == 1
    view.step_reference(1)
    assert view.reference.label == "other.png"


def test_zoom_and_pan_are_synced_and_kept_on_next_asset(
    qtbot: Any, view: CompareView, pictures: dict[str, Path]
) -> None:
    _show(qtbot, view, pictures)
    left, right = view.left, view.right
    pos = QPointF(left.width() * 0.25, left.height() / 2)
    under = left.to_frame(pos)
    left.zoom_about(pos, 2.0)
    # The frame point under the cursor stays put.
    assert left.to_frame(pos).x() == pytest.approx(under.x())
    assert left.to_frame(pos).y() == pytest.approx(under.y())
    assert view.state.zoom == pytest.approx(2.0)
    # Both canvases use the same zoom and centre.
    assert right.frame_rect().width() == pytest.approx(left.frame_rect().width(), rel=0.02)
    left.pan_by(0.1, 0.0)
    c = view.state.center
    _show(qtbot, view, pictures, "next")
    assert view.state.zoom == pytest.approx(2.0)
    assert view.state.center == c
    view.fit()
    assert view.state.zoom == 1.0


def test_one_side_moves_alone(qtbot: Any, view: CompareView, pictures: dict[str, Path]) -> None:
    _show(qtbot, view, pictures)
    before_left = view.left.frame_rect()
    before_right = view.right.frame_rect()
    qtbot.mousePress(
        view.right, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, QPoint(100, 100)
    )
    qtbot.mouseMove(view.right, QPoint(140, 100))
    qtbot.mouseRelease(
        view.right, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, QPoint(140, 100)
    )
    assert view.left.frame_rect() == before_left
    assert view.right.frame_rect().x() == pytest.approx(before_right.x() + 40, abs=1)
    # Without Shift both move together.
    view.right.setFocus()
    qtbot.keyClick(view.right, Qt.Key.Key_Right)
    assert view.left.frame_rect().x() < before_left.x()
    # A new asset lines both sides up again.
    _show(qtbot, view, pictures, "next")
    assert view.right.local_offset == QPointF(0, 0)


def test_actual_size_is_one_source_pixel_per_device_pixel(
    qtbot: Any, view: CompareView, pictures: dict[str, Path]
) -> None:
    _show(qtbot, view, pictures)
    view.actual_size()
    r = view.left.frame_rect()
    assert r.width() * view.left.devicePixelRatioF() == pytest.approx(400, abs=1)


def test_different_sizes_aligned_by_fitting(
    qtbot: Any, view: CompareView, pictures: dict[str, Path]
) -> None:
    _show(qtbot, view, pictures)
    # "same" is half the size of the asset: fitted into the same frame it covers it exactly, so
    # the difference overlay is black everywhere.
    view.set_mode(CompareMode.DIFFERENCE)
    qtbot.waitExposed(view.overlay)
    frame = view.overlay.frame_rect()
    for fx in (0.1, 0.4, 0.6, 0.9):
        x = frame.x() + fx * frame.width()
        y = frame.y() + 0.5 * frame.height()
        img = view.overlay.grab().toImage()
        c = img.pixelColor(
            QPoint(round(x * img.devicePixelRatio()), round(y * img.devicePixelRatio()))
        )
        assert max(c.red(), c.green(), c.blue()) < 40, (fx, c.name())
    # Against the green square: not black.
    view.select_reference("models/m/references/other.png")
    qtbot.waitUntil(lambda: view.reference_ready)
    img = view.overlay.grab().toImage()
    c = img.pixelColor(QPoint(round(frame.center().x()), round(frame.center().y())))
    assert max(c.red(), c.green(), c.blue()) > 200


def test_wipe_and_flip(qtbot: Any, view: CompareView, pictures: dict[str, Path]) -> None:
    _show(qtbot, view, pictures)
    view.select_reference("models/m/references/other.png")
    qtbot.waitUntil(lambda: view.reference_ready)
    view.set_mode(CompareMode.WIPE)
    qtbot.waitExposed(view.overlay)
    assert view.wipe_slider.isVisible()
    frame = view.overlay.frame_rect()
    y = frame.center().y()

    def colour(x: float) -> QColor:
        img = view.overlay.grab().toImage()
        return img.pixelColor(QPoint(round(x), round(y)))

    left_x = frame.x() + 0.05 * frame.width()
    right_x = frame.x() + 0.7 * frame.width()
    view.wipe_slider.setValue(500)
    assert colour(left_x).red() > 200  # asset (red half) left of the divider
    assert colour(right_x).green() > 200  # the green reference right of it
    view.wipe_slider.setValue(1000)
    assert colour(right_x).blue() > 200  # all asset: its blue half
    # Flip swaps in place: the reference now sits where the asset was.
    view.toggle_swap()
    assert colour(left_x).green() > 200
    view.toggle_swap()
    assert colour(left_x).red() > 200


def test_broken_asset_shows_reason(
    qtbot: Any, view: CompareView, tmp_path: Path, pictures: dict[str, Path]
) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with qtbot.waitSignal(view.asset_painted):
        view.show_asset(bad, "assets/m/bad.jpg", "bad.jpg", _refs(pictures))
    assert not view.left.has_image
    assert "cannot show this image" in view.left._message


def test_a_missing_reference_is_said_in_plain_words(
    qtbot: Any, view: CompareView, tmp_path: Path, pictures: dict[str, Path]
) -> None:
    gone = tmp_path / "models" / "m" / "references" / "gone.png"  # the evidence names it
    refs = [RefEntry(gone, "models/m/references/gone.png", "gone.png", 2)]
    with qtbot.waitSignal(view.asset_painted):
        view.show_asset(pictures["asset"], "assets/m/asset.png", "asset", refs)
    qtbot.waitUntil(lambda: view.reference_ready)
    said = view.right._message
    assert not view.right.has_image
    assert "Errno" not in said and str(tmp_path) not in said, said
    assert "moved or deleted" in said, said


def test_an_unreadable_file_is_said_in_plain_words(tmp_path: Path) -> None:
    from twinreview.ui.images import decode

    folder = tmp_path / "a-folder.jpg"
    folder.mkdir()
    said = decode(folder, None).error or ""
    assert "Errno" not in said and str(tmp_path) not in said, said
    assert "not an image file" in said, said


def test_canvas_fitted_rect_keeps_aspect() -> None:
    from PySide6.QtCore import QRectF

    frame = QRectF(0, 0, 400, 200)
    r = ImageCanvas.fitted(QImage(300, 300, QImage.Format.Format_RGB32), frame)
    assert (r.width(), r.height()) == (200, 200)
    assert r.center() == frame.center()
