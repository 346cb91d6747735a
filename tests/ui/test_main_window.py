from __future__ import annotations

from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox

from conftest import FakeBackend, Harness, SyncExecutor, open_and_scan
from twinreview.ui.dialogs import IdentityDialog, RejectDialog, ShortcutSheet
from twinreview.ui.main_window import PAGE_REVIEW, PAGE_SIMPLE, PAGE_WELCOME


def _key(
    qtbot: Any, h: Harness, key: Qt.Key | str, modifier: Any = Qt.KeyboardModifier.NoModifier
) -> None:
    target = QApplication.focusWidget() or h.window
    qtbot.keyClick(target, key, modifier)


def test_welcome_screen_first(harness: Harness) -> None:
    assert harness.window.pages.currentIndex() == PAGE_WELCOME
    assert harness.window.acts["open"].isEnabled()
    assert not harness.window.acts["approve"].isEnabled()


def test_open_shows_queue_and_first_asset(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    assert w.pages.currentIndex() == PAGE_REVIEW
    item = w.current_item()
    # Sorted by severity: a blocked near copy comes first, with its evidence preselected.
    assert item is not None and item.ref.path.name == "copy-0.jpg"
    assert w.review.view.reference is not None
    assert w.review.view.reference.rel == f"models/{item.ref.model_id}/references/ref-0.jpg"
    assert "copy of one of the model" in w.review.findings.toPlainText()
    assert "Verdict: partial" in w.review.findings.toPlainText()
    assert "Dimensions" in w.review.findings.toPlainText()


def test_keyboard_approve_and_reject(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    w.review.table.setFocus()
    _key(qtbot, harness, "n")
    _key(qtbot, harness, "n")
    first = w.current_item()
    assert first is not None and not first.blocking
    with qtbot.waitSignal(harness.session.decision_recorded):
        _key(qtbot, harness, "a")
    second = w.current_item()
    assert second is not None and second.rel != first.rel  # moved on at once
    _key(qtbot, harness, "r")
    dialog = w.dialogs.current
    assert isinstance(dialog, RejectDialog)
    qtbot.waitExposed(dialog)
    assert dialog.reasons() == []  # nothing suggested for an asset without findings
    qtbot.keyClick(dialog.list, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.isVisible() and "at least one reason" in dialog.error.text()
    qtbot.keyClick(dialog.list, "6")  # toggles the 6th reason: quality
    qtbot.keyClicks(dialog.note, "hands look wrong")
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        qtbot.keyClick(dialog.note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert w.dialogs.current is None  # closed (and deleted) once signed
    decisions = harness.backend.decisions
    assert [(d.asset, d.decision) for d in decisions] == [
        (first.rel, "approve"),
        (second.rel, "reject"),
    ]
    assert decisions[1].reasons == ("quality",)
    assert decisions[1].note == "hands look wrong"
    qtbot.waitUntil(lambda: first.latest_by("me@example.com") == "approve")
    qtbot.waitUntil(
        lambda: second.status is not None and second.status.evaluation.state.value == "rejected"
    )


def test_reject_preselects_reasons_from_findings(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    assert w.current_item().blocking
    w.acts["reject"].trigger()
    dialog = w.dialogs.current
    assert isinstance(dialog, RejectDialog)
    assert dialog.reasons() == ["copy_of_reference"]
    dialog.reject()
    assert harness.backend.decisions == []


def test_approving_blocking_findings_needs_confirmation(
    qtbot: Any, harness: Harness, workspace: Path
) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    item = w.current_item()
    assert item.blocking
    w.acts["approve"].trigger()
    box = w.dialogs.current
    assert isinstance(box, QMessageBox)
    assert "overrode" in box.text()
    box.reject()  # Cancel: nothing signed
    assert harness.backend.decisions == []
    w.acts["approve"].trigger()
    box = w.dialogs.current
    ok = next(b for b in box.buttons() if b.text() == "&Approve anyway")
    with qtbot.waitSignal(harness.session.decision_recorded):
        ok.click()
    [d] = harness.backend.decisions
    assert d.asset == item.rel and d.decision == "approve" and d.override


def test_history_shows_superseded_decisions(qtbot: Any, harness: Harness, workspace: Path) -> None:
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    w.step(3)
    rel = w.current_item().rel
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        harness.session.decide(rel, "reject", ["quality"], "too dark")
    with qtbot.waitSignal(harness.session.statuses_refreshed):
        harness.session.decide(rel, "approve")
    # The asset on screen is redrawn in the event-loop turn after its new status landed.
    qtbot.waitUntil(lambda: "Approved by me@example.com" in w.review.findings.toPlainText())
    text = w.review.findings.toPlainText()
    assert text.index("Approved by me@example.com") < text.index("Rejected by me@example.com")
    assert "Superseded by a later decision" in text
    assert "too dark" in text


def test_read_only_without_keyring(qtbot: Any, settings: QSettings, workspace: Path) -> None:
    from conftest import SyncExecutor
    from twinreview.ui.app import build_window

    backend = FakeBackend(keyring_ok=False)
    sync = SyncExecutor()
    window, session, _ = build_window(backend, settings, ui_executor=sync, long_executor=sync)
    qtbot.addWidget(window)
    window.show()
    window.dialogs.show_identity()
    dialog = window.dialogs.current
    assert isinstance(dialog, IdentityDialog)
    dialog.principal.setText("me@example.com")
    dialog.display_name.setText("Me")
    dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.read_only_reason is not None)
    assert "cannot be stored safely" in dialog.message.text()
    assert "gnome-keyring" in dialog.message.text()
    dialog.later_button.click()
    assert not session.can_decide
    with qtbot.waitSignal(session.statuses_refreshed):
        window.open_workspace(workspace)
    assert window.current_item() is not None
    assert not window.acts["approve"].isEnabled()
    assert "gnome-keyring" in window.acts["approve"].toolTip()
    window.acts["approve"].trigger()
    assert backend.decisions == []


def test_identity_dialog_shows_allowed_signers_line(qtbot: Any, settings: QSettings) -> None:
    from conftest import SyncExecutor
    from twinreview.ui.app import build_window

    backend = FakeBackend()
    sync = SyncExecutor()
    window, session, _ = build_window(backend, settings, ui_executor=sync, long_executor=sync)
    qtbot.addWidget(window)
    window.show()
    window.dialogs.show_identity()
    dialog = window.dialogs.current
    dialog.principal.setText("not an email")
    dialog.create_button.click()
    assert "e-mail" in dialog.message.text()
    dialog.principal.setText("ana@example.com")
    dialog.display_name.setText("Ana")
    dialog.role.setCurrentIndex(0)
    dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.done_identity is not None)
    assert dialog.line.text().startswith('ana@example.com namespaces="twinreview-*"')
    dialog.copy.click()
    assert QApplication.clipboard().text() == dialog.line.text()
    dialog.done_button.click()
    assert session.identity is not None and session.identity.role == "model"
    assert session.can_decide


def test_shortcut_sheet_lists_every_action(qtbot: Any, harness: Harness) -> None:
    w = harness.window
    w.setFocus()
    qtbot.keyClick(w, "?")
    sheet = w.dialogs.current
    assert isinstance(sheet, ShortcutSheet)
    names = {sheet.table.item(r, 0).text() for r in range(sheet.table.rowCount())}
    assert {"Approve", "Reject…", "Next", "Previous", "Flip", "Wipe", "Difference", "Fit"} <= names
    for a in w.acts.values():
        assert a.toolTip(), a.text()
    sheet.reject()


def test_every_visible_control_has_a_tooltip(qtbot: Any, harness: Harness, workspace: Path) -> None:
    from PySide6.QtWidgets import QAbstractButton, QLabel, QSlider, QToolButton, QWidget

    open_and_scan(qtbot, harness, workspace)
    missing = []
    for widget in harness.window.findChildren(QWidget):
        if not widget.isVisible() or isinstance(widget, QLabel):
            continue
        if isinstance(widget, (QAbstractButton, QSlider, QLineEdit)):
            tip = widget.toolTip() or (
                widget.defaultAction().toolTip()
                if isinstance(widget, QToolButton) and widget.defaultAction()
                else ""
            )
            if not tip:
                missing.append(f"{type(widget).__name__} {getattr(widget, 'text', lambda: '')()}")
    assert missing == []


def test_simple_mode_only_own_assets(qtbot: Any, harness: Harness, workspace: Path) -> None:
    harness.backend.models_for = ("bo",)
    harness.backend.identity = harness.backend.identity.__class__(
        "bo@example.com", "Bo", "model", "l"
    )
    harness.session.set_identity(harness.backend.identity, None)
    open_and_scan(qtbot, harness, workspace)
    w = harness.window
    qtbot.waitUntil(lambda: harness.session.identity.model_ids == ("bo",))
    w.acts["simple"].trigger()
    assert w.pages.currentIndex() == PAGE_SIMPLE
    seen = set()
    for _ in range(6):
        seen.add(w.current_item().ref.model_id)
        w.step(1)
    assert seen == {"bo"}
    assert w.simple_page.proxy.rowCount() == 4
    w.step(-10)
    w.acts["reject"].trigger()
    dialog = w.dialogs.current
    assert isinstance(dialog, RejectDialog)
    # Plain-language reasons, the suggestion from the finding kept.
    assert dialog.list.count() == 5
    assert dialog.reasons() == ["copy_of_reference"]
    with qtbot.waitSignal(harness.session.decision_recorded):
        dialog.accept()
    assert harness.backend.decisions[-1].reasons == ("copy_of_reference",)
    w.acts["simple"].trigger()
    assert w.pages.currentIndex() == PAGE_REVIEW


def test_geometry_remembered(qtbot: Any, backend: FakeBackend, tmp_path: Path) -> None:
    from conftest import SyncExecutor
    from twinreview.ui.app import build_window

    path = str(tmp_path / "state.ini")
    sync = SyncExecutor()
    window, _, _ = build_window(
        backend, QSettings(path, QSettings.Format.IniFormat), ui_executor=sync, long_executor=sync
    )
    qtbot.addWidget(window)
    window.show()
    window.resize(796, 500)
    window.review.setSizes([200, 500, 200])
    size = (window.width(), window.height())
    assert size != (1400, 860)  # not the default
    window.close()
    again, _, _ = build_window(
        backend, QSettings(path, QSettings.Format.IniFormat), ui_executor=sync, long_executor=sync
    )
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == size


def test_log_problems_are_shown(qtbot: Any, harness: Harness, workspace: Path) -> None:
    harness.backend.log_problems.append("logs/x.dlog:3 bad_signature: signature does not verify")
    open_and_scan(qtbot, harness, workspace)
    assert harness.window.review.banner.isVisible()
    assert "bad_signature" in harness.window.review.banner.text()


def test_cancel_scan(qtbot: Any, settings: QSettings, workspace: Path, thread_pool: Any) -> None:
    import threading

    from twinreview.ui.app import build_window

    gate = threading.Event()
    backend = FakeBackend(scan_gate=gate)
    window, session, _ = build_window(
        backend, settings, ui_executor=thread_pool, long_executor=thread_pool
    )
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(session.scan_progress):
        window.open_workspace(workspace)
    assert window.status_line.progress.isVisible() or window.status_line.progress.isVisibleTo(
        window
    )
    assert window.acts["cancel_scan"].isEnabled()
    with qtbot.waitSignal(session.scan_finished) as blocker:
        window.acts["cancel_scan"].trigger()
        gate.set()
    assert blocker.args == [True]
    assert not window.status_line.progress.isVisibleTo(window)
    assert window.status_line.text() == "Scan cancelled"


def test_many_findings_of_one_kind_are_folded(qtbot: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import QUrl

    from conftest import FakeAssetResult, FakeFacts
    from twinreview.core.findings import DUPLICATE_IN_BATCH, Finding, Severity
    from twinreview.core.workspace import AssetRef
    from twinreview.ui.findings_panel import SHOW_ALL_URL, FindingsPanel
    from twinreview.ui.items import AssetItem

    ref = AssetRef(tmp_path / "a.jpg", "assets/m/a.jpg", "m", None)
    dups = tuple(
        Finding(
            DUPLICATE_IN_BATCH,
            Severity.INFO,
            f"This image is the same picture as assets/m/d{i}.jpg.",
            {"reference": f"assets/m/d{i}.jpg", "distance": i},
        )
        for i in range(7)
    )
    item = AssetItem(
        ref, "M", FakeAssetResult(ref, "ab" * 32, None, dups, FakeFacts(1, 1, "JPEG", 9))
    )
    panel = FindingsPanel()
    qtbot.addWidget(panel)
    panel.show_item(item)
    text = panel.toPlainText()
    # Three in full, the other four as one line that still reaches every evidence pair.
    assert text.count("the same picture as") == 3
    assert "and 4 more duplicate in batch: d3.jpg · d4.jpg · d5.jpg · d6.jpg" in text
    with qtbot.waitSignal(panel.evidence_requested) as blocker:
        panel.anchorClicked.emit(QUrl("evidence:assets/m/d5.jpg"))
    assert blocker.args == ["assets/m/d5.jpg"]
    panel.anchorClicked.emit(QUrl(SHOW_ALL_URL))
    assert panel.toPlainText().count("the same picture as") == 7


def test_a_window_closed_with_a_redraw_pending_is_left_alone(
    qtbot: Any, backend: FakeBackend, settings: QSettings, workspace: Path
) -> None:
    # The asset on screen changed in a slice of results; the window is closed and deleted
    # before the redraw's turn comes: the redraw must not run against the deleted window.
    from twinreview.ui.app import build_window

    sync = SyncExecutor()
    window, session, _bridge = build_window(backend, settings, ui_executor=sync, long_executor=sync)
    session.set_identity(backend.identity, None)
    window.show()
    with qtbot.waitSignal(session.statuses_refreshed, timeout=10_000):
        window.open_workspace(workspace)
    window._on_items_changed([window.current_item().rel])
    window.close()
    shiboken6.delete(window)
    qtbot.wait(20)
