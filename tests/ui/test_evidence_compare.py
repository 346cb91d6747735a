"""Compare tools that use the copy evidence: alignment, regions, flip, without and with a window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QSize
from PySide6.QtGui import QColor

from conftest import SyncExecutor
from twinreview.core.findings import NEAR_COPY_OF_REFERENCE, Finding, Severity
from twinreview.ui.bridge import Bridge
from twinreview.ui.compare_view import CompareMode, CompareView
from twinreview.ui.evidence import (
    MIRROR,
    alignment_from,
    alignments,
    apply,
    inverse,
    multiply,
    region_only,
)
from twinreview.ui.images import ImageCache
from twinreview.ui.loader import ImageLoader, ThumbnailProvider
from twinreview.ui.references import RefEntry

# As the scan reports it: asset fractions -> reference fractions, for an asset that is a crop
# of the middle half of the reference (the reference's x = 0.25 + asset's x / 2).
CROP = [[0.5, 0.0, 0.25], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
# The same crop, mirrored.
CROP_MIRRORED = [[-0.5, 0.0, 0.75], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def _finding(h: Any, **extra: Any) -> Finding:
    return Finding(
        NEAR_COPY_OF_REFERENCE,
        Severity.BLOCK,
        "copy",
        {"reference": "models/m/references/ref.png", "homography": h, "inliers": 120, **extra},
    )


def test_evidence_read_defensively() -> None:
    al = alignment_from(_finding(CROP, mirrored=False).evidence)
    assert al is not None and al.inliers == 120 and not al.mirrored
    assert al.region_on_asset() == ((-0.5, 0.0), (1.5, 0.0), (1.5, 1.0), (-0.5, 1.0))
    assert al.region_on_reference() == ((0.25, 0.0), (0.75, 0.0), (0.75, 1.0), (0.25, 1.0))
    for bad in (
        None,
        "x",
        [[1, 0], [0, 1]],
        [[1, 0, 0], [0, 1, 0], [0, 0, "a"]],
        [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
        [[1, 0, 0], [0, 1, 0], [0, 0, float("nan")]],
    ):
        assert alignment_from({"homography": bad}) is None
    assert alignments([_finding(None), _finding(CROP)]) == {
        "models/m/references/ref.png": alignment_from({"homography": CROP, "inliers": 120})
    }
    m = (2.0, 0.0, -0.5, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    inv = inverse(m)
    assert inv is not None
    assert apply(multiply(m, inv), (0.3, 0.7)) == pytest.approx((0.3, 0.7))
    assert apply(MIRROR, (0.2, 0.4)) == pytest.approx((0.8, 0.4))
    assert region_only({"asset_region": [[0, 0], [1, 0], [1, 1], [0, 1]]}) is not None
    assert region_only({"asset_region": [[0, 0], [1, 0]]}) is None


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, Path]:
    ref = Image.new("RGB", (400, 200), (255, 0, 0))
    ref.paste((0, 0, 255), (200, 0, 400, 200))
    out = {"ref": tmp_path / "ref.png", "crop": tmp_path / "crop.png", "mirror": tmp_path / "m.png"}
    ref.save(out["ref"])
    crop = ref.crop((100, 0, 300, 200))
    crop.save(out["crop"])
    crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(out["mirror"])
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


def _show(qtbot: Any, view: CompareView, p: dict[str, Path], asset: str) -> None:
    ref = RefEntry(p["ref"], "models/m/references/ref.png", "ref.png", 2)
    with qtbot.waitSignal(view.asset_painted, timeout=5000):
        view.show_asset(p[asset], f"assets/m/{asset}.png", asset, [ref])
    qtbot.waitUntil(lambda: view.reference_ready)


def _overlay_at(view: CompareView, fx: float, fy: float) -> QColor:
    frame = view.overlay.frame_rect()
    img = view.overlay.grab().toImage()
    x = round(frame.x() + fx * frame.width())
    y = round(frame.y() + fy * frame.height())
    return img.pixelColor(QPoint(x, y))


def _dark(c: QColor) -> bool:
    return max(c.red(), c.green(), c.blue()) < 40


@pytest.mark.parametrize(("asset", "h"), [("crop", CROP), ("mirror", CROP_MIRRORED)])
def test_difference_aligned_by_the_evidence(
    qtbot: Any, view: CompareView, pictures: dict[str, Path], asset: str, h: Any
) -> None:
    _show(qtbot, view, pictures, asset)
    view.set_mode(CompareMode.DIFFERENCE)
    qtbot.waitExposed(view.overlay)
    # Fitted, the wide reference sits in a band across the square asset: no match at the top.
    assert not _dark(_overlay_at(view, 0.25, 0.1))
    view.set_evidence(alignments([_finding(h, mirrored=asset == "mirror")]))
    assert view.overlay.aligned
    assert "aligned" in view.mode_label.text()
    for fx, fy in ((0.25, 0.1), (0.25, 0.5), (0.75, 0.5), (0.75, 0.9)):
        assert _dark(_overlay_at(view, fx, fy)), (fx, fy)  # a crop or a mirror: no ghost
    # Wipe uses the same mapping: right of the divider the reference lines up with the asset.
    view.set_mode(CompareMode.WIPE)
    view.wipe_slider.setValue(0)
    left_colour = _overlay_at(view, 0.25, 0.1)
    assert left_colour.red() > 200 or left_colour.blue() > 200


def test_evidence_regions_on_both_images_and_toggle(
    qtbot: Any, view: CompareView, pictures: dict[str, Path]
) -> None:
    _show(qtbot, view, pictures, "crop")
    view.set_evidence(alignments([_finding(CROP)]))
    region = view.right._region
    assert region is not None
    assert [v for p in region for v in p] == pytest.approx([0.25, 0, 0.75, 0, 0.75, 1, 0.25, 1])
    # On the asset, the reference's frame lies far outside (the asset is a crop of it): not drawn.
    assert view.left._region is None

    def cyan(canvas: Any) -> int:
        img = canvas.grab().toImage()
        return sum(
            1
            for x in range(0, img.width(), 2)
            for y in range(0, img.height(), 4)
            if (c := img.pixelColor(x, y)).blue() > 200 and c.green() > 150 and c.red() < 60
        )

    assert cyan(view.right) > 10
    view.set_show_evidence(False)
    assert view.right._region is None and cyan(view.right) == 0


def test_flip_mirrors_the_reference_in_place(
    qtbot: Any, view: CompareView, pictures: dict[str, Path]
) -> None:
    _show(qtbot, view, pictures, "crop")

    def right_at(fx: float) -> QColor:
        img = view.right.grab().toImage()
        r = view.right.fitted(view.right._primary, view.right.frame_rect())
        return img.pixelColor(QPoint(round(r.x() + fx * r.width()), round(r.center().y())))

    assert right_at(0.1).red() > 200  # the reference's red left half
    view.toggle_mirror()
    assert right_at(0.1).blue() > 200  # mirrored in place
    assert "flipped" in view.mode_label.text()
    # The evidence's mapping follows the flip: the two still line up in the difference.
    view.set_evidence(alignments([_finding(CROP)]))
    view.set_mode(CompareMode.DIFFERENCE)
    assert _dark(_overlay_at(view, 0.25, 0.5))
    view.toggle_mirror()
    assert right_at(0.1).red() > 200


def test_findings_panel_folds_raw_evidence_behind_details(qtbot: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import QUrl

    from conftest import FakeAssetResult, FakeFacts
    from twinreview.core.workspace import AssetRef
    from twinreview.ui.findings_panel import DETAILS_URL, FindingsPanel
    from twinreview.ui.items import AssetItem

    ref = AssetRef(tmp_path / "a.jpg", "assets/m/a.jpg", "m", None)
    f = _finding(CROP, distance=3, mirrored=True)
    item = AssetItem(ref, "M", FakeAssetResult(ref, "ab" * 32, None, (f,), FakeFacts(1, 1, "J", 9)))
    panel = FindingsPanel()
    qtbot.addWidget(panel)
    panel.show_item(item)
    text = panel.toPlainText()
    assert "copy" in text and "Details" in text
    assert "distance" not in text and "inliers" not in text and "homography" not in text
    panel.anchorClicked.emit(QUrl(DETAILS_URL))
    text = panel.toPlainText()
    assert "distance: 3" in text and "inliers: 120" in text and "mirrored: True" in text
    assert "homography" not in text  # drawn on the images, never printed as numbers
    assert "Hide details" in text
