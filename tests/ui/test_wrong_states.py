"""The app never shows a wrong state: each test here failed before its fix."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

from conftest import FakeAssetResult, Harness, make_workspace, open_and_scan
from twinreview.core.findings import RESUBMITTED_REJECTED, Finding, Severity
from twinreview.ui.main_window import PAGE_REVIEW
from twinreview.ui.queue_model import ItemRole


def _rels(h: Harness) -> list[str]:
    return [
        h.window.review.proxy.index(r, 0).data(ItemRole).rel
        for r in range(h.window.review.proxy.rowCount())
    ]


def _rescan(qtbot: Any, h: Harness) -> None:
    with qtbot.waitSignal(h.session.statuses_refreshed, timeout=10_000):
        h.window.acts["rescan"].trigger()


def test_rescan_drops_deleted_files(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    assert w.model.rowCount() == 8
    gone = ["assets/ana/look-2.jpg", "assets/bo/look-3.jpg"]
    for rel in gone:
        (workspace / rel).unlink()
    _rescan(qtbot, harness)
    assert w.model.rowCount() == 6
    assert w.review.count_label.text() == "6 of 6 assets"
    assert not set(gone) & {item.rel for item in harness.session.items}
    assert harness.session.item(gone[0]) is None


def test_deleting_the_current_asset_moves_to_a_neighbour(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    w.step(2)
    rel = w.current_item().rel
    (workspace / rel).unlink()
    _rescan(qtbot, harness)
    item = w.current_item()
    assert item is not None and item.rel != rel
    assert w.review.view.asset_rel == item.rel


def test_refused_decision_stays_on_the_asset(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    w.step(2)
    item = w.current_item()
    assert not item.blocking
    harness.backend.refuse[item.rel] = "the roster refused: not allowed for this model"
    with qtbot.waitSignal(harness.session.decision_failed):
        w.acts["approve"].trigger()
    # The error names the asset on screen: the reviewer is where they were.
    assert w.current_item().rel == item.rel
    box = w.dialogs.current
    assert isinstance(box, QMessageBox) and item.rel in box.text()
    assert harness.backend.decisions == []
    box.accept()


def test_decision_on_a_deleted_file_does_not_move(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    w.step(2)
    item = w.current_item()
    item.ref.path.unlink()
    w.acts["approve"].trigger()
    assert w.current_item().rel == item.rel
    assert "no longer in the workspace" in w.status_line.text()
    assert harness.backend.decisions == []


def test_approve_off_when_the_disclosure_verdict_is_never_allowed(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    harness.backend.approvable = frozenset({"disclosed"})  # the fake's verdict is "partial"
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    qtbot.waitUntil(lambda: harness.session.roster is not None)
    item = w.current_item()
    assert item.blocking  # the copy: approving would offer an override
    assert not w.acts["approve"].isEnabled()
    assert w.acts["reject"].isEnabled()
    assert "AI disclosure is partial" in w.review.decision_label.text()  # beside the buttons
    w.acts["approve"].trigger()
    assert w.dialogs.current is None  # no "Approve anyway" that would then be refused
    assert harness.backend.decisions == []


def test_current_asset_stays_when_the_opening_scan_finishes(
    qtbot: Any, harness: Harness, tmp_path: Path, thread_pool: Any
) -> None:
    # The first file in workspace order has no findings; the worst is further down.
    ws = make_workspace(tmp_path / "ws")
    (ws / "assets/ana/copy-0.jpg").rename(ws / "assets/ana/look-0.jpg")
    h = harness
    shown: list[str] = []
    h.window.compare_flow.asset_shown.connect(shown.append)
    open_and_scan(qtbot, h, ws)
    first = h.window.current_item()
    assert first is not None and first.rel == "assets/ana/look-0.jpg"
    # The queue is sorted by severity now (bo's copy on top), but the reviewer's place holds.
    assert _rels(h)[0] == "assets/bo/copy-0.jpg"
    _rescan(qtbot, h)
    assert h.window.current_item().rel == "assets/ana/look-0.jpg"


def test_reference_pane_never_shows_the_asset_itself(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    w.step(1)
    item = w.current_item()
    assert item.result is not None
    # A rejected earlier version of this very file (its bytes changed since): the finding's
    # evidence names the asset's own path.
    earlier = Finding(
        RESUBMITTED_REJECTED,
        Severity.WARN,
        f"This image is a near copy of {item.rel}, which bo rejected.",
        {"reference": item.rel, "distance": 0},
    )
    result = item.result
    assert isinstance(result, FakeAssetResult)
    item.result = replace(result, findings=(earlier,))
    harness.session.items_changed.emit([item.rel])
    qtbot.waitUntil(lambda: w.review.findings.toPlainText().count("near copy of") == 1)
    ref = w.review.view.reference
    assert ref is None or ref.path != item.ref.path
    assert all(r.path != item.ref.path for r in w.review.view.references)
    w.compare_flow.open_evidence(item.rel)
    ref = w.review.view.reference
    assert ref is None or ref.path != item.ref.path


def test_leaving_simple_mode_returns_where_you_stopped(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    entered = w.current_item().rel
    w.acts["simple"].trigger()
    w.step(1)
    w.step(1)
    stopped = w.current_item().rel
    assert stopped != entered
    w.acts["simple"].trigger()
    assert w.pages.currentIndex() == PAGE_REVIEW
    assert w.current_item().rel == stopped
    assert w.review.view.asset_rel == stopped


def test_welcome_text_is_not_clipped(qtbot: Any, harness: Harness) -> None:
    w = harness.window
    w.resize(900, 600)
    qtbot.wait(50)
    label = harness.window.welcome.text
    assert label.isVisible()
    assert label.height() >= label.heightForWidth(label.width())
    # Every line of the welcome screen is inside the window, none cut at the top or bottom.
    area = w.welcome.viewport().rect()
    top = label.mapTo(w.welcome.viewport(), label.rect().topLeft())
    inside = top.y() >= 0 and top.y() + label.height() <= area.height()
    assert inside or w.welcome.verticalScrollBar().maximum() > 0


def test_no_keyring_is_said_in_the_window(qtbot: Any, settings: Any) -> None:
    from conftest import FakeBackend, SyncExecutor
    from twinreview.ui.app import build_window

    backend = FakeBackend(keyring_ok=False)
    sync = SyncExecutor()
    window, session, _ = build_window(backend, settings, ui_executor=sync, long_executor=sync)
    qtbot.addWidget(window)
    session.set_identity(None, "Read-only: no Secret Service: install and unlock gnome-keyring")
    text = window.welcome.identity.text()
    assert "gnome-keyring" in text and "start twinreview again" in text


def test_read_only_workspace_says_so_when_it_opens(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    harness.backend.read_only_workspace = "This workspace folder is read-only on this computer."
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    assert not w.acts["approve"].isEnabled() and not w.acts["reject"].isEnabled()
    assert "read-only" in w.review.decision_label.text()
    assert "read-only" in w.acts["approve"].toolTip()


def test_not_on_the_roster_says_why_beside_the_buttons(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    from twinreview.ui.roster_view import RosterView

    def outsider(ws: Any, principal: str | None) -> RosterView:
        return RosterView(exists=True, name="ws", owner="owner@example.com")

    harness.backend.roster_view = outsider  # type: ignore[method-assign]
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    qtbot.waitUntil(lambda: harness.session.roster is not None)
    assert not w.acts["approve"].isEnabled()
    assert "not on this workspace's roster" in w.review.decision_label.text()


def test_identity_can_be_shown_again(qtbot: Any, harness: Harness) -> None:
    from twinreview.ui.dialogs import IdentityDialog

    w = harness.window
    assert w.acts["identity"].isEnabled()
    w.acts["identity"].trigger()
    dialog = w.dialogs.current
    assert isinstance(dialog, IdentityDialog)
    assert dialog.line.text() == "line"
    assert "me@example.com" in dialog.message.text()
    dialog.done_button.click()


def test_create_workspace_makes_you_owner_and_opens_it(
    qtbot: Any, harness: Harness, tmp_path: Path
) -> None:
    target = tmp_path / "new-ws"
    with qtbot.waitSignal(harness.session.workspace_opened, timeout=5000):
        harness.window.create_workspace_at(target, "Spring")
    assert harness.backend.created == [target]
    assert (target / "twinreview.toml").is_file()
    assert harness.session.workspace is not None
    assert harness.session.workspace.root == target


def test_strip_cells_are_square_whatever_the_photo(qtbot: Any) -> None:
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QPixmap

    from twinreview.ui.compare_view import square_pixmap

    tall = QPixmap(20, 56)
    out = square_pixmap(tall, QSize(56, 56))
    assert (out.width(), out.height()) == (56, 56)


def test_simple_mode_speaks_plainly(qtbot: Any, harness: Harness, workspace: Path) -> None:
    harness.backend.models_for = ("ana",)
    harness.backend.identity = harness.backend.identity.__class__(
        "ana@example.com", "Ana", "model", "l"
    )
    harness.session.set_identity(harness.backend.identity, None)
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    qtbot.waitUntil(lambda: harness.session.identity.model_ids == ("ana",))
    w.acts["simple"].trigger()
    w.step(-10)
    item = w.current_item()
    assert item.ref.path.name == "copy-0.jpg"
    page = w.simple_page
    # Above the buttons, before pressing anything: the copy, in the second person.
    assert page.findings.isVisible()
    assert "This is your own photo ref-0.jpg: not a new image." in page.findings.text()
    assert "your photo ref-0.jpg" in page.header.text()
    for text in (page.findings.text(), page.status.text(), page.header.text()):
        assert "near_copy" not in text and "intended_use" not in text and "Errno" not in text
    # A refusal in plain words, not a raw error.
    harness.backend.refuse[item.rel] = "[Errno 13] Permission denied: 'logs/x.dlog'"
    w.acts["reject"].trigger()
    dialog = w.dialogs.current
    with qtbot.waitSignal(harness.session.decision_failed):
        dialog.accept()
    assert "cannot be written to" in w.status_line.text() and "Errno" not in w.status_line.text()
    assert w.current_item().rel == item.rel
    w.dialogs.current.accept()


def test_plain_words_without_a_window() -> None:
    from twinreview.core.approval.policy import State
    from twinreview.core.findings import Finding, Severity
    from twinreview.ui.plain import (
        finding_sentences,
        plain_error,
        reference_caption,
        simple_status,
    )

    copy = Finding(
        "near_copy_of_reference",
        Severity.BLOCK,
        "x",
        {"reference": "models/ava/references/studio-01.jpg", "mirrored": True},
    )
    missing = Finding("missing_disclosure", Severity.BLOCK, "x", {})
    dup = Finding("duplicate_in_batch", Severity.INFO, "x", {})
    assert finding_sentences((dup, missing, copy)) == [
        "Nothing in the file says it was made by AI.",
        "This is your own photo studio-01.jpg, mirrored: not a new image.",
    ] or finding_sentences((dup, missing, copy)) == [
        "This is your own photo studio-01.jpg, mirrored: not a new image.",
        "Nothing in the file says it was made by AI.",
    ]
    assert "Errno" not in plain_error("[Errno 2] No such file or directory: 'assets/a.jpg'")
    assert (
        simple_status(
            State.BLOCKED,
            blocked_by="policy",
            problems=("The model did not agree to the use 'print'.",),
        )
        == "You have not agreed to it being used for print."
    )
    assert (
        reference_caption("models/ava/references/studio-01.jpg", model_id="ava", names={})
        == "your photo studio-01.jpg"
    )
    assert reference_caption("assets/ava/x.jpg", model_id="ava", names={}).startswith(
        "another generated image"
    )
    assert reference_caption(
        "models/ava/r.jpg/", model_id="ava", names={}, exists=False
    ).startswith("missing file")
