"""What the window says about decisions: reasons in words, a withdrawal called a withdrawal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import Harness, open_and_scan
from twinreview.core.findings import RESUBMITTED_REJECTED, Finding, Severity
from twinreview.core.reasons import REASON_CODES
from twinreview.ui.page import item_at
from twinreview.ui.queue_model import COL_STATUS

CODES = [code for code in REASON_CODES if "_" in code]


def _no_code(text: str) -> None:
    assert not [c for c in CODES if c in text], text


def _rejected(qtbot: Any, h: Harness, workspace: Path) -> Any:
    open_and_scan(qtbot, h, workspace)
    h.window.step(3)
    item = h.window.current_item()
    with qtbot.waitSignal(h.session.statuses_refreshed):
        h.session.decide(item.rel, "reject", ["copy_of_reference", "likeness_wrong"], "no")
    qtbot.waitUntil(lambda: item.latest_by("me@example.com") == "reject")
    qtbot.waitUntil(lambda: "Rejected by" in h.window.review.findings.toPlainText())
    return item


def test_the_decision_bar_and_the_findings_say_reasons_in_words(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    item = _rejected(qtbot, harness, workspace)
    w = harness.window
    bar = w.review.decision_label.text()
    assert "a copy of a real photo, not the right person" in bar
    assert "you rejected" in bar
    _no_code(bar)
    panel = w.review.findings.toPlainText()
    assert "It copies a real photo instead of being a new image." in panel
    _no_code(panel)
    row = next(r for r in range(w.model.rowCount()) if w.model.item_at(r).rel == item.rel)
    tip = w.model.index(row, COL_STATUS).data(0x03)  # ToolTipRole
    assert "a copy of a real photo" in tip
    _no_code(tip)


def test_a_withdrawal_is_not_called_superseded(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    item = _rejected(qtbot, harness, workspace)
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        harness.session.withdraw(item.rel)
    panel = harness.window.review.findings
    qtbot.waitUntil(lambda: "Withdrawn by me@example.com" in panel.toPlainText())
    text = panel.toPlainText()
    latest, earlier = text.split("Withdrawn by me@example.com", 1)[1].split("Rejected by", 1)
    assert "Superseded" not in latest
    assert "undecided again" in latest
    assert "Withdrawn later" in earlier
    assert "withdraw " not in text.replace("Withdrawn", "")
    assert "you:" not in harness.window.review.decision_label.text()


def test_details_say_a_resubmission_s_reasons_in_words(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    harness.backend.findings_for = {
        "look-1.jpg": (
            Finding(
                RESUBMITTED_REJECTED,
                Severity.WARN,
                "Nearly the same as a rejected image.",
                {"reference": "assets/ana/copy-0.jpg", "reasons": ["likeness_wrong"]},
            ),
        )
    }
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    assert w.select_asset("assets/ana/look-1.jpg")
    w.review.findings.set_details(True)
    text = w.review.findings.toPlainText()
    assert "reasons: not the right person" in text
    _no_code(text)


def test_the_finding_filter_lists_kinds_in_words(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    from twinreview.core.findings import KIND_WORDS, PATH_NOT_PORTABLE

    harness.backend.findings_for["look-2.jpg"] = (
        Finding("partial_disclosure", Severity.WARN, "Only the XMP says AI.", {}),
        Finding(PATH_NOT_PORTABLE, Severity.WARN, "Its name will not survive a copy.", {}),
    )
    open_and_scan(qtbot, harness, workspace)
    combo = harness.window.review.kind_filter
    shown = {combo.itemData(i): combo.itemText(i) for i in range(1, combo.count())}
    assert set(shown) >= {"near_copy_of_reference", "partial_disclosure", PATH_NOT_PORTABLE}
    for kind, text in shown.items():
        assert "_" not in text and kind.replace("_", " ") not in text, text
        assert text.lower().startswith(KIND_WORDS[kind].lower()) and text[0].isupper(), text
    texts = list(shown.values())
    assert texts == sorted(texts, key=str.lower)  # in the order of the words
    # The open list is as wide as its longest words: nothing is cut.
    widest = max(combo.fontMetrics().horizontalAdvance(t) for t in shown.values())
    assert combo.view().minimumWidth() >= widest, (combo.view().minimumWidth(), widest)
    # Choosing a kind by its words still filters by its code.
    combo.setCurrentIndex(combo.findData("partial_disclosure"))
    proxy = harness.window.review.proxy
    qtbot.waitUntil(lambda: 0 < proxy.rowCount() < harness.window.model.rowCount())
    for row in range(proxy.rowCount()):
        item = item_at(proxy, row)
        assert item is not None and item.rel.endswith("look-2.jpg"), item
