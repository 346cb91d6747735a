"""Pairs shown without an alignment in their evidence are verified on demand and aligned."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps
from PySide6.QtCore import QItemSelectionModel, QPoint, QSize
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from conftest import FakeBackend, Harness, SyncExecutor, open_and_scan
from photos import load_photo
from twinreview.core.findings import DUPLICATE_IN_BATCH, Finding, Severity
from twinreview.core.workspace import Workspace
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.service import ScanResult, ScanService
from twinreview.ui.backend import Identity, PairVerification
from twinreview.ui.bridge import Bridge
from twinreview.ui.compare_view import CompareMode, CompareView
from twinreview.ui.evidence import alignment_from
from twinreview.ui.images import ImageCache
from twinreview.ui.loader import ImageLoader, ThumbnailProvider
from twinreview.ui.queue_model import ItemRole
from twinreview.ui.references import RefEntry
from twinreview.ui.services_backend import ServicesBackend

# Asset fractions -> the other image's fractions for an asset that is the middle half of a
# 2:1 picture (the other's x = 0.25 + asset's x / 2), and the same crop mirrored.
CROP = ((0.5, 0.0, 0.25), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
CROP_MIRRORED = ((-0.5, 0.0, 0.75), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
ORIGINAL = "assets/m/original.png"


def _pictures(root: Path) -> None:
    """Model m: a reference, and three assets (a 2:1 original, its middle half, mirrored)."""
    refs = root / "models" / "m" / "references"
    refs.mkdir(parents=True)
    (root / "models" / "m" / "model.toml").write_text('display_name = "M"\n')
    wide = Image.new("RGB", (400, 200), (255, 0, 0))
    wide.paste((0, 0, 255), (200, 0, 400, 200))
    wide.save(refs / "ref.png")
    assets = root / "assets" / "m"
    assets.mkdir(parents=True)
    wide.save(assets / "original.png")
    crop = wide.crop((100, 0, 300, 200))
    crop.save(assets / "crop.png")
    crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(assets / "mirror.png")


@dataclasses.dataclass
class DuplicateBackend(FakeBackend):
    """The crop and the mirror are clear-cut duplicates of the original: hash evidence only."""

    def scan(self, workspace: Workspace, progress: Any, cancel: threading.Event) -> ScanResult:
        result = super().scan(workspace, progress, cancel)
        assets = []
        for r in result.assets:
            name = r.asset.path.stem
            if name in ("crop", "mirror"):
                evidence = {
                    "reference": ORIGINAL,
                    "asset": ORIGINAL,
                    "distance": 2,
                    "mirrored": name == "mirror",
                    "clear_cut": True,
                    "verification": "clear-cut hash match; geometry computed when compared",
                }
                dup = Finding(DUPLICATE_IN_BATCH, Severity.INFO, "same picture", evidence)
                r = dataclasses.replace(r, findings=(dup,))
            assets.append(r)
        return dataclasses.replace(result, assets=tuple(assets))


@pytest.fixture
def backend() -> FakeBackend:
    return DuplicateBackend(identity=Identity("me@example.com", "Me", "agent", "line"))


def _overlay_at(view: CompareView, fx: float, fy: float) -> QColor:
    frame = view.overlay.frame_rect()
    img = view.overlay.grab().toImage()
    return img.pixelColor(
        QPoint(round(frame.x() + fx * frame.width()), round(frame.y() + fy * frame.height()))
    )


def _dark(c: QColor) -> bool:
    return max(c.red(), c.green(), c.blue()) < 40


def _show_in_difference(qtbot: Any, h: Harness, tmp_path: Path, name: str) -> CompareView:
    root = tmp_path / "ws"
    _pictures(root)
    open_and_scan(qtbot, h, root)
    assert h.window.select_asset(f"assets/m/{name}.png")
    view: CompareView = h.window.review.view
    qtbot.waitUntil(lambda: view.asset_painted_now and view.reference_ready, timeout=5000)
    assert view.reference is not None and view.reference.rel == ORIGINAL
    h.window.compare_flow.set_mode(CompareMode.DIFFERENCE)
    qtbot.waitExposed(view.overlay)
    return view


@pytest.mark.parametrize(("name", "rows"), [("crop", CROP), ("mirror", CROP_MIRRORED)])
def test_clear_cut_duplicate_aligned_by_the_answer(
    qtbot: Any, harness: Harness, tmp_path: Path, name: str, rows: Any
) -> None:
    harness.backend.verification = PairVerification(rows, 150, name == "mirror")
    view = _show_in_difference(qtbot, harness, tmp_path, name)
    qtbot.waitUntil(lambda: view.overlay.aligned, timeout=5000)
    root = tmp_path / "ws"
    # Asked once, for the pair on screen, in the orientation the hashes matched.
    assert harness.backend.verify_calls == [
        (root / "assets" / "m" / f"{name}.png", root / ORIGINAL, name == "mirror")
    ]
    assert view.alignment is not None and view.alignment.inliers == 150
    assert "aligned by matching features" in view.mode_label.text()
    for fx, fy in ((0.25, 0.1), (0.25, 0.5), (0.75, 0.5), (0.75, 0.9)):
        assert _dark(_overlay_at(view, fx, fy)), (fx, fy)  # the crop lines up: no ghost
    # Wipe uses the same answer; nothing is asked again.
    harness.window.compare_flow.set_mode(CompareMode.WIPE)
    QApplication.processEvents()
    assert view.overlay.aligned and len(harness.backend.verify_calls) == 1


def test_two_assets_compared_with_c_are_aligned(
    qtbot: Any, harness: Harness, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    _pictures(root)
    open_and_scan(qtbot, harness, root)
    harness.backend.verification = PairVerification(CROP, 90, False)
    w = harness.window
    rows = {
        w.review.proxy.index(r, 0).data(ItemRole).rel: r for r in range(w.review.proxy.rowCount())
    }
    sm = w.review.table.selectionModel()
    rows_flag = QItemSelectionModel.SelectionFlag.Rows
    sm.setCurrentIndex(
        w.review.proxy.index(rows["assets/m/crop.png"], 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | rows_flag,
    )
    sm.select(
        w.review.proxy.index(rows[ORIGINAL], 0),
        QItemSelectionModel.SelectionFlag.Select | rows_flag,
    )
    harness.window.compare_selected()
    view = harness.window.review.view
    QApplication.processEvents()
    assert not harness.backend.verify_calls  # side by side draws no alignment: nothing asked
    harness.window.compare_flow.set_mode(CompareMode.DIFFERENCE)
    qtbot.waitUntil(lambda: view.overlay.aligned, timeout=5000)
    assert [c[:2] for c in harness.backend.verify_calls] == [
        (root / "assets/m/crop.png", root / ORIGINAL)
    ]


@pytest.mark.parametrize("answer", ["error", "none", "no transform"])
def test_no_answer_keeps_the_fitted_view_quietly(
    qtbot: Any, harness: Harness, tmp_path: Path, answer: str
) -> None:
    if answer == "error":
        harness.backend.verify_error = OSError("disk on fire")
    elif answer == "no transform":
        harness.backend.verification = PairVerification(None, 3, False)
    failed: list[object] = []
    harness.bridge.job_failed.connect(failed.append)
    view = _show_in_difference(qtbot, harness, tmp_path, "crop")
    qtbot.waitUntil(lambda: len(harness.backend.verify_calls) == 1, timeout=5000)
    for _ in range(3):
        QApplication.processEvents()
    assert not view.overlay.aligned and view.alignment is None
    assert "aligned" not in view.mode_label.text()
    assert not failed and harness.window.dialogs.current is None
    assert QApplication.activeModalWidget() is None
    assert "fire" not in harness.window.status_line.text()
    # The answer is remembered: switching modes does not ask again.
    harness.window.compare_flow.set_mode(CompareMode.WIPE)
    QApplication.processEvents()
    assert len(harness.backend.verify_calls) == 1


@pytest.fixture
def view(qtbot: Any) -> CompareView:
    bridge = Bridge(SyncExecutor())
    v = CompareView(ImageLoader(bridge, ImageCache()), ThumbnailProvider(bridge, QSize(32, 32)))
    qtbot.addWidget(v)
    v.resize(900, 500)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_a_stale_answer_is_ignored(qtbot: Any, view: CompareView, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    _pictures(root)
    asset = root / "assets/m/crop.png"
    first = RefEntry(root / ORIGINAL, ORIGINAL, "original.png", 2, "Evidence")
    second = RefEntry(root / "models/m/references/ref.png", "models/m/references/ref.png", "ref")
    with qtbot.waitSignal(view.asset_painted, timeout=5000):
        view.show_asset(asset, "assets/m/crop.png", "crop", [first, second], first.rel)
    with qtbot.waitSignal(view.alignment_wanted, timeout=5000) as asked:
        view.set_mode(CompareMode.DIFFERENCE)
    old_key = asked.args[0]
    assert old_key == (asset, first.path)
    # The reviewer moves on to the other picture before the answer arrives.
    with qtbot.waitSignal(view.alignment_wanted, timeout=5000) as asked:
        view.select_reference(second.rel)
    new_key = asked.args[0]
    assert new_key == (asset, second.path)
    crop = alignment_from({"homography": CROP, "inliers": 80})
    assert not view.set_verified(old_key, crop)
    assert view.alignment is None and not view.overlay.aligned
    assert view.set_verified(new_key, crop)
    assert view.overlay.aligned
    # Back on the first picture, its dropped answer is asked for again.
    with qtbot.waitSignal(view.alignment_wanted, timeout=5000) as asked:
        view.select_reference(first.rel)
    assert asked.args[0] == old_key


def test_a_rescan_forgets_the_answers(qtbot: Any, harness: Harness, tmp_path: Path) -> None:
    """A file edited while the app is open is verified again, not shown with its old mapping."""
    harness.backend.verification = PairVerification(CROP, 150, False)
    view = _show_in_difference(qtbot, harness, tmp_path, "crop")
    qtbot.waitUntil(lambda: view.overlay.aligned, timeout=5000)
    assert len(harness.backend.verify_calls) == 1
    harness.backend.verification = PairVerification(CROP_MIRRORED, 90, True)
    harness.window.acts["rescan"].trigger()
    qtbot.waitUntil(lambda: len(harness.backend.verify_calls) == 2, timeout=5000)
    qtbot.waitUntil(
        lambda: view.alignment is not None and view.alignment.inliers == 90, timeout=5000
    )


def test_services_backend_verifies_with_the_workspace_thresholds(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "assets" / "m").mkdir(parents=True)
    (root / "twinreview.toml").write_text("")
    cat = load_photo("chelsea")
    cat.save(root / "assets" / "m" / "cat.png")
    ImageOps.mirror(cat.crop((40, 20, cat.width - 40, cat.height - 20))).save(
        root / "assets" / "m" / "crop.png"
    )
    ws = Workspace.open(root)
    cache = ResultCache(tmp_path / "cache.sqlite3")
    backend = ServicesBackend(
        ScanService(SyncExecutor(), cache),
        "no keyring",
        None,
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
    )
    a = root / "assets" / "m"
    v = backend.verify_pair(ws, a / "crop.png", a / "cat.png", True)
    cache.close()
    assert v is not None and v.mirrored and v.homography is not None
    assert v.inliers >= ws.settings.similarity.min_inliers
    al = alignment_from({"homography": v.homography})
    assert al is not None and al.region_on_reference() is not None
    assert backend.verify_pair(ws, a / "crop.png", a / "missing.png", False) is None
