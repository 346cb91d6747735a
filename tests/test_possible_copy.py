"""Never clean by omission: a face near-identical to a reference face, with no geometric copy.

A copy the geometry cannot confirm (warped, heavily retouched, or simply outside what the copy
detector sees) still carries the photo's face. When a face of an asset is near-identical to a
reference face (:data:`twinreview.core.likeness.model.NEAR_IDENTICAL`, far below what two photos of
one person give) and no copy finding names that photo, the asset gets a warning that names it,
in plain words in both modes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from photos import load_photo
from twinreview.core.findings import POSSIBLE_COPY_OF_REFERENCE, Severity
from twinreview.core.likeness.model import Face, FaceScan
from twinreview.core.workspace import Workspace
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.service import ScanService
from twinreview.ui.plain import finding_sentence
from wsbuild import add_model, make_workspace, pattern, save_jpeg

BASE = np.linspace(-1, 1, 128, dtype=np.float32) / 4


class FixedFaces:
    """A face engine that gives each file the face its size names: (width, embedding offset)."""

    problem: str | None = None
    version = "fixed/1"

    def __init__(self, offsets: dict[int, float]) -> None:
        self._offsets = offsets

    def quick(self, image: Any, grey: Any = None, *, side: int = 0) -> tuple[None, int]:
        """No quick pass: every file goes through :meth:`scan_bytes`."""
        return None, 0

    def scan_bytes(
        self, data: bytes, *, width: int | None = None, height: int | None = None, **_kw: Any
    ) -> Any:
        offset = self._offsets.get(width or 0)
        if offset is None:
            return FaceScan()
        emb = BASE.copy()
        emb[0] += offset
        return FaceScan((Face((0.3, 0.2, 0.6, 0.6), emb, 1.0),))


def _scan(root: Path, sync_executor: Any, offsets: dict[int, float]) -> dict[str, Any]:
    service = ScanService(sync_executor, ResultCache.in_memory(), face_engine=FixedFaces(offsets))  # type: ignore[arg-type]
    return {a.asset.rel: a for a in service.scan(Workspace.open(root)).assets}


def _workspace(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"studio.jpg": load_photo("astronaut").resize((500, 500))})
    add_model(root, "bea", {"bea.jpg": load_photo("coffee").resize((600, 400))})
    # Not copies of any photo (other pictures), with faces the engine makes near-identical.
    save_jpeg(pattern(1, (480, 360)), root / "assets/ava/warped.jpg")
    save_jpeg(pattern(2, (481, 360)), root / "assets/ava/other-face.jpg")
    save_jpeg(pattern(3, (482, 360)), root / "assets/ava/new.jpg")
    # A geometric copy of her photo: its copy finding names the photo already.
    save_jpeg(load_photo("astronaut").resize((500, 500)).crop((20, 20, 480, 480)),
              root / "assets/ava/copy.jpg")  # fmt: skip
    return root


def test_a_near_identical_face_without_a_copy_is_a_warning(
    tmp_path: Path, sync_executor: Any
) -> None:
    root = _workspace(tmp_path)
    by_rel = _scan(
        root,
        sync_executor,
        # studio.jpg 500 px, bea.jpg 600 px; the assets by width; the copy is 460 px.
        {500: 0.0, 600: 2.0, 480: 0.05, 481: 2.03, 482: 0.9, 460: 0.01},
    )
    warned = [
        f for f in by_rel["assets/ava/warped.jpg"].findings if f.kind == POSSIBLE_COPY_OF_REFERENCE
    ]
    (f,) = warned
    assert f.severity == Severity.WARN
    assert f.evidence["reference"] == "models/ava/references/studio.jpg"
    assert f.evidence["own_model"] is True
    assert f.evidence["face_distance"] <= 0.06
    assert "studio.jpg" in f.message and "may be made from that photo" in f.message
    assert finding_sentence(f, you=True).startswith("This may be made from your photo studio.jpg")
    assert "the model's photo studio.jpg" in finding_sentence(f, you=False)
    # Another model's photo: never named to the model (nor its file); the agent's findings
    # panel names it (the finding's own message).
    (g,) = [x for x in by_rel["assets/ava/other-face.jpg"].findings
            if x.kind == POSSIBLE_COPY_OF_REFERENCE]  # fmt: skip
    assert g.evidence["reference"] == "models/bea/references/bea.jpg"
    assert g.evidence["own_model"] is False
    plain = finding_sentence(g, model_names={"bea": "Bea"}, you=True)
    assert "someone else in this workspace" in plain
    assert "Bea" not in plain and "bea.jpg" not in plain
    # A face that is only alike (another photo of her would be): no such warning.
    assert not [x for x in by_rel["assets/ava/new.jpg"].findings
                if x.kind == POSSIBLE_COPY_OF_REFERENCE]  # fmt: skip
    # A copy the geometry confirmed is a copy finding, not also a warning.
    kinds = {x.kind for x in by_rel["assets/ava/copy.jpg"].findings}
    assert "near_copy_of_reference" in kinds and POSSIBLE_COPY_OF_REFERENCE not in kinds
