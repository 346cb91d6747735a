"""The likeness in the app: face boxes on the compare view, the sentence in the findings panel and
in simple mode ("Looks like you: ..."). The scan is faked: results carry a core Likeness."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QSize
from PySide6.QtGui import QColor

from conftest import FakeBackend, Harness, open_and_scan
from conftest import SyncExecutor as UiSync
from twinreview.core.likeness.model import OTHER, OWN, UNKNOWN, FaceMatch, Likeness, RefMatch
from twinreview.ui.backend import Identity
from twinreview.ui.bridge import Bridge
from twinreview.ui.compare_view import CompareView
from twinreview.ui.faces import FaceBox, face_boxes
from twinreview.ui.images import ImageCache
from twinreview.ui.loader import ImageLoader, ThumbnailProvider
from twinreview.ui.main_window import PAGE_SIMPLE
from twinreview.ui.references import RefEntry

GREEN = QColor(46, 204, 113)


def own_likeness(model: str = "ana") -> Likeness:
    ref = f"models/{model}/references/ref-0.jpg"
    own = RefMatch(model, ref, 0.31, (0.3, 0.2, 0.7, 0.8))
    return Likeness(
        model,
        (FaceMatch((0.25, 0.25, 0.75, 0.75), OWN, own, own, None),),
        references=2,
        reference_faces=2,
    )


def group_likeness() -> Likeness:
    own = RefMatch("ana", "models/ana/references/ref-0.jpg", 0.31, (0.3, 0.2, 0.7, 0.8))
    bo = RefMatch("bo", "models/bo/references/ref-1.jpg", 0.35, (0.2, 0.2, 0.6, 0.6))
    return Likeness(
        "ana",
        (
            FaceMatch((0.05, 0.1, 0.3, 0.4), OWN, own, own, bo),
            FaceMatch((0.4, 0.1, 0.6, 0.4), OTHER, None, bo, bo),
            FaceMatch((0.7, 0.1, 0.9, 0.4), UNKNOWN, None, None, None),
        ),
        references=2,
        reference_faces=2,
    )


class LikenessBackend(FakeBackend):
    """The fake scan, with a likeness per asset: "look-1" of each model looks like her."""

    def scan(self, workspace: Any, progress: Any, cancel: Any) -> Any:
        base = super().scan(workspace, progress, cancel)
        assets = []
        for a in base.assets:
            lk = own_likeness(a.asset.model_id) if "look-1" in a.asset.rel else None
            assets.append(dataclasses.replace(a, likeness=lk))
        return dataclasses.replace(base, assets=tuple(assets))


@pytest.fixture
def backend() -> FakeBackend:
    return LikenessBackend(identity=Identity("ana@example.com", "Ana", "model", "line"))


@pytest.fixture
def view(qtbot: Any, tmp_path: Path) -> tuple[CompareView, Path, Path]:
    asset, ref = tmp_path / "asset.png", tmp_path / "ref.png"
    Image.new("RGB", (400, 400), (20, 20, 20)).save(asset)
    Image.new("RGB", (400, 400), (230, 230, 230)).save(ref)
    bridge = Bridge(UiSync())
    v = CompareView(ImageLoader(bridge, ImageCache()), ThumbnailProvider(bridge, QSize(32, 32)))
    qtbot.addWidget(v)
    v.resize(900, 500)
    v.show()
    qtbot.waitExposed(v)
    return v, asset, ref


def _outline_colours(widget: Any) -> set[tuple[int, int, int]]:
    img = widget.grab().toImage()
    out = set()
    for y in range(0, img.height(), 2):
        for x in range(0, img.width(), 2):
            c = img.pixelColor(QPoint(x, y))
            out.add((c.red(), c.green(), c.blue()))
    return out


def test_face_boxes_on_asset_and_matched_reference(
    qtbot: Any, view: tuple[CompareView, Path, Path]
) -> None:
    v, asset, ref = view
    rel = "models/ana/references/ref-0.jpg"
    with qtbot.waitSignal(v.asset_painted, timeout=5000):
        v.show_asset(asset, "assets/ana/a.png", "a.png", [RefEntry(ref, rel, "ref-0.jpg")])
    qtbot.waitUntil(lambda: v.right.has_image)
    boxes = face_boxes(own_likeness(), {"ana": "Ana"})
    assert boxes[0][0].label == "Ana 0.31"
    assert set(boxes[1]) == {rel}
    v.set_faces(*boxes)
    green = (GREEN.red(), GREEN.green(), GREEN.blue())
    qtbot.waitUntil(lambda: green in _outline_colours(v.left))
    assert green in _outline_colours(v.right)  # the matched face on her photo
    # Flip shows the reference in the asset's place: its box goes with it.
    v.toggle_swap()
    assert v.left._boxes == boxes[1][rel]
    v.toggle_swap()
    # Switched off (F): no outlines at all.
    v.set_show_faces(False)
    qtbot.waitUntil(lambda: green not in _outline_colours(v.left))
    assert v.right._boxes == ()


def test_group_photo_boxes_are_coloured_by_verdict() -> None:
    asset, refs = face_boxes(group_likeness(), {"ana": "Ana", "bo": "Bo"})
    assert [b.label for b in asset] == ["Ana 0.31", "Bo? 0.35", "unknown"]
    colours = {b.colour.name() for b in asset}
    assert len(colours) == 3
    assert set(refs) == {"models/ana/references/ref-0.jpg", "models/bo/references/ref-1.jpg"}
    assert all(isinstance(b, FaceBox) for b in asset)
    assert face_boxes(None, {}) == ((), {})


def test_findings_panel_and_simple_mode_say_who_it_looks_like(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    harness.backend.models_for = ("ana",)
    harness.session.set_identity(
        Identity("ana@example.com", "Ana", "model", "line", ("ana",)), None
    )
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    assert w.select_asset("assets/ana/look-1.jpg")
    html = w.review.findings.to_html(w.current_item())
    assert "Likeness" in html
    assert "Looks like you: strong match with your photo ref-0.jpg." in html
    assert "not proof of identity" in html
    # The compare view outlines the face and offers her photo with the closest face first.
    assert w.review.view._asset_faces
    assert w.review.view.reference is not None
    assert w.review.view.reference.rel == "models/ana/references/ref-0.jpg"
    assert "Closest face" in w.review.view.reference.why
    # Simple mode: the same finding in her words, large, under the pictures.
    w.acts["simple"].trigger()
    assert w.pages.currentIndex() == PAGE_SIMPLE
    assert w.select_asset("assets/ana/look-1.jpg")
    label = w.simple_page.likeness
    assert label.text() == "This looks like you: a strong match with your photo ref-0.jpg."
    assert label.isVisible()
    if os.environ.get("TWINREVIEW_SHOTS"):
        w.grab().save(os.path.join(os.environ["TWINREVIEW_SHOTS"], "simple-likeness.png"))
    # An asset without a likeness (faces not looked for): no sentence.
    assert w.select_asset("assets/ana/look-2.jpg")
    assert not label.isVisible()


def test_faces_shortcut_toggles_the_boxes(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    assert w.select_asset("assets/ana/look-1.jpg")
    assert w.acts["faces"].isChecked()
    w.acts["faces"].trigger()
    assert not w.review.view.show_faces
    assert not w.simple_page.view.show_faces
    assert w.review.view.left._boxes == ()
    w.acts["faces"].trigger()
    assert w.review.view.left._boxes
