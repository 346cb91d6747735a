"""What the window says while a scan's results and the statuses are shown slice by slice."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from conftest import Harness, make_workspace, open_and_scan
from twinreview.ui.session import RESULTS, STATUSES


def test_the_status_line_says_what_is_being_shown_while_results_land(
    qtbot: Any, harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("twinreview.ui.session.SLICE_BUDGET_S", 1e-9)
    monkeypatch.setattr("twinreview.ui.session.PROGRESS_INTERVAL_S", 0.0)
    ws = make_workspace(tmp_path / "many", assets=20)
    line = harness.window.status_line
    seen: list[tuple[str, int, int, str, bool, str]] = []

    def look(what: str, done: int, total: int) -> None:
        bar = line.progress
        seen.append((what, done, total, line.text(), bar.isVisible(), bar.text()))

    harness.session.landing_progress.connect(look)
    open_and_scan(qtbot, harness, ws)
    results = [s for s in seen if s[0] == RESULTS]
    statuses = [s for s in seen if s[0] == STATUSES]
    assert results and statuses
    total = len(harness.session.items)
    _, done, of, text, bar, bar_text = results[-1]
    assert of == total and 0 < done < total
    assert text == f"Showing what the scan found for {total} images…"
    assert bar and bar_text == f"showing results: {done} / {total}"
    assert statuses[0][3].startswith(f"Showing the approval status of {total} images")
    # Once all is shown, the bar goes and the line says the scan is done.
    assert not line.progress.isVisible()
    assert line.text() == "Scan finished"
    assert not line.cancel_button.isVisible()


def _holding_scan(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake scan hands back the very result objects that did not change, as the scan
    process does (``ProcessScanner._rebuild``)."""
    real = harness.backend.scan
    held: dict[str, Any] = {}

    def scan(workspace: Any, progress: Any, cancel: Any) -> Any:
        result = real(workspace, progress, cancel)
        assets = tuple(
            held[a.asset.rel] if held.get(a.asset.rel) == a else a for a in result.assets
        )
        held.clear()
        held.update((a.asset.rel, a) for a in assets)
        return dataclasses.replace(result, assets=assets)

    monkeypatch.setattr(harness.backend, "scan", scan)


def _rescan(qtbot: Any, harness: Harness, kinds: set[str] | None = None) -> None:
    with qtbot.waitSignal(harness.session.statuses_refreshed, timeout=10_000):
        if kinds is None:
            harness.window.acts["rescan"].trigger()
        else:
            harness.session._on_outside_change(kinds)  # as the watcher says it


def test_a_rescan_recomputes_and_redraws_the_statuses_of_the_changed_assets_alone(
    qtbot: Any, harness: Harness, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    _holding_scan(harness, monkeypatch)
    open_and_scan(qtbot, harness, workspace)
    assert harness.backend.partial_statuses == []  # the first refresh: every status
    rel = "assets/ana/look-2.jpg"
    old = harness.session.item(rel)
    assert old is not None and old.result is not None and old.status is not None
    old_sha = old.result.sha256
    Image.new("RGB", (64, 48), (1, 2, 3)).save(workspace / rel)  # changed in place
    seen: list[str] = []
    harness.session.items_changed.connect(seen.extend)
    _rescan(qtbot, harness)
    # Only the changed image's status was computed, and only its row redrawn.
    assert harness.backend.partial_statuses == [[rel]]
    assert set(seen) == {rel}
    item = harness.session.item(rel)
    assert item is not None and item.result is not None and item.status is not None
    assert item.result.sha256 != old_sha
    assert all(i.status is not None for i in harness.session.items)


def test_after_the_logs_changed_a_rescan_recomputes_every_status(
    qtbot: Any, harness: Harness, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    from twinreview.ui.watcher import ASSETS, LOGS

    _holding_scan(harness, monkeypatch)
    open_and_scan(qtbot, harness, workspace)
    Image.new("RGB", (64, 48), (1, 2, 3)).save(workspace / "assets/ana/look-2.jpg")
    # A decision log and an image changed in one burst: the scan's refresh covers both.
    _rescan(qtbot, harness, {ASSETS, LOGS})
    assert harness.backend.partial_statuses == []
    # The next rescan with nothing but images changed is back to the changed ones.
    Image.new("RGB", (64, 48), (3, 2, 1)).save(workspace / "assets/ana/look-2.jpg")
    _rescan(qtbot, harness, {ASSETS})
    assert harness.backend.partial_statuses == [["assets/ana/look-2.jpg"]]


def test_the_scan_says_when_its_results_are_arriving(
    qtbot: Any, harness: Harness, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Thousands of results take seconds to come from the scan process: the bar says so, out of
    # the images still without results, instead of the scan's last phase looking stuck.
    from twinreview.services.scan.model import ScanProgress
    from twinreview.ui.scan_process import RECEIVING

    real = harness.backend.scan

    def scan(workspace: Any, progress: Any, cancel: Any) -> Any:
        result = real(workspace, progress, cancel)
        progress(ScanProgress(3, 0, RECEIVING))
        return result

    monkeypatch.setattr(harness.backend, "scan", scan)
    seen: list[tuple[int, int, str]] = []
    harness.session.scan_progress.connect(lambda d, t, p: seen.append((d, t, p)))
    open_and_scan(qtbot, harness, workspace)
    assert seen[-1] == (3, 8, "Receiving the results")


def test_a_row_without_results_claims_no_finding_and_no_status(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    """Before the results are in, a row says it has none yet; its approval status is not known
    (it may be approved already), never a state such as "Unchecked"."""
    from twinreview.ui.queue_model import COL_FINDINGS, COL_STATUS

    model = harness.window.review.model
    seen: list[tuple[str, str, str]] = []

    def look(_ws: Any) -> None:
        row = (model.index(0, COL_FINDINGS).data(), model.index(0, COL_STATUS).data())
        seen.append((str(row[0]), str(row[1]), harness.window.review.findings.toPlainText()))

    harness.session.workspace_opened.connect(look)  # after the window showed the first row
    open_and_scan(qtbot, harness, workspace)
    assert [s[:2] for s in seen] == [("No results yet", "Not known yet")]
    assert "No results yet: the scan has not reported on this image." in seen[0][2]
    assert str(model.index(0, COL_STATUS).data()) not in ("Not known yet", "Reading logs…")
