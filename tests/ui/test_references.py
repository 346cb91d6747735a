"""The reference presenter, without a window (and without Qt)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from conftest import FakeAssetResult, FakeFacts, FakeReference, FakeScanResult, make_workspace
from twinreview.core.findings import (
    NEAR_COPY_OF_REFERENCE,
    RESUBMITTED_REJECTED,
    Finding,
    Severity,
)
from twinreview.core.workspace import Workspace
from twinreview.ui.items import AssetItem
from twinreview.ui.references import ReferencePresenter, hamming_hex


@dataclass
class _Holder:
    ws: Workspace
    scan: FakeScanResult | None = None


def _item(ws: Workspace, rel: str, *findings: Finding, phash: str = "00ff") -> AssetItem:
    ref = next(a for a in ws.iter_assets() if a.rel == rel)
    result = FakeAssetResult(ref, "ab" * 32, None, findings, FakeFacts(1, 1, "J", 1), None, phash)
    return AssetItem(ref, "Ana", result)


def test_evidence_first_then_closest_never_the_asset(tmp_path: Path) -> None:
    ws = Workspace.open(make_workspace(tmp_path / "ws"))
    h = _Holder(
        ws,
        FakeScanResult(
            (),
            (
                FakeReference("models/ana/references/ref-0.jpg", "00f0"),
                FakeReference("models/ana/references/ref-1.jpg", "00fe"),
            ),
        ),
    )
    presenter = ReferencePresenter(lambda: h.ws, lambda: h.scan)
    plain = _item(ws, "assets/ana/look-1.jpg")
    refs = presenter.references_for(plain)
    assert [r.rel for r in refs] == [
        "models/ana/references/ref-0.jpg",
        "models/ana/references/ref-1.jpg",
    ]
    assert [r.distance for r in refs] == [4, 1]
    assert presenter.preselect(refs) == "models/ana/references/ref-1.jpg"  # the closest
    copy = _item(
        ws,
        "assets/ana/copy-0.jpg",
        Finding(
            NEAR_COPY_OF_REFERENCE,
            Severity.BLOCK,
            "copy",
            {"reference": "models/ana/references/ref-0.jpg", "distance": 3},
        ),
        Finding(
            RESUBMITTED_REJECTED,
            Severity.WARN,
            "its own earlier bytes",
            {"reference": "assets/ana/copy-0.jpg", "distance": 0},
        ),
    )
    refs = presenter.references_for(copy)
    assert refs[0].rel == "models/ana/references/ref-0.jpg" and refs[0].why
    assert all(r.rel != copy.rel for r in refs)
    assert presenter.preselect(refs) == "models/ana/references/ref-0.jpg"
    h.scan = None
    assert all(r.distance is None for r in presenter.references_for(plain))
    assert presenter.preselect([]) is None
    assert hamming_hex("0f", "f0") == 8 and hamming_hex("0f", "0") is None


def test_presenter_modules_never_import_qt() -> None:
    code = (
        "import sys; import twinreview.ui.references, twinreview.ui.plain, "
        "twinreview.ui.evidence, twinreview.ui.items; "
        "print(any(m.startswith('PySide6') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
