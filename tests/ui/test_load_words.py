"""What the window says while a scan's results and the statuses are shown slice by slice."""

from __future__ import annotations

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
