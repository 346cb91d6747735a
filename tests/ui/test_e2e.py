"""End to end: the real app on the demo workspace, decisions made with the keyboard.

Real services (scan on a thread pool, keys, signed log, signed roster, verification, status) with
an in-memory keyring injected explicitly; the first-run identity dialog creates the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from decision_helpers import MemoryKeyring
from twinreview.core.approval.policy import State
from twinreview.core.logs.verify import verify_workspace
from twinreview.core.roster.people import Person
from twinreview.core.workspace import Workspace
from twinreview.services.demo import build_demo
from twinreview.services.keys import IdentityStore, KeyStore
from twinreview.services.status import compute_status
from twinreview.services.trust import TrustStore
from twinreview.ui.app import build_app, start_identity
from twinreview.ui.dialogs import IdentityDialog, RejectDialog


def _press(qtbot: Any, window: Any, key: Any) -> None:
    if QApplication.activeWindow() is not window:  # a dialog just closed
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    focus = QApplication.focusWidget()
    target = focus if focus is not None and focus.window() is window else window
    qtbot.keyClick(target, key)


@pytest.fixture
def app_parts(qtbot: Any, tmp_path: Path) -> Any:
    keyring = MemoryKeyring()
    parts = build_app(
        QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
        keystore=KeyStore(keyring, allow_untrusted_backend=True),
    )
    qtbot.addWidget(parts.window)
    yield parts
    parts.shutdown()


def test_demo_approve_and_reject_with_the_keyboard(
    qtbot: Any, app_parts: Any, tmp_path: Path
) -> None:
    window, session = app_parts.window, app_parts.session
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)

    # First run: no identity yet, so the identity dialog opens and creates the key.
    start_identity(app_parts)
    qtbot.waitUntil(lambda: isinstance(window.dialogs.current, IdentityDialog), timeout=10_000)
    dialog = window.dialogs.current
    qtbot.keyClicks(dialog.principal, "agent@example.com")
    qtbot.keyClicks(dialog.display_name, "Alex Agent")
    dialog.role.setCurrentIndex(dialog.role.findData("agent"))
    dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.done_identity is not None, timeout=10_000)
    line = dialog.line.text()
    assert line.startswith('agent@example.com namespaces="twinreview-*" ssh-ed25519 ')
    dialog.done_button.click()
    assert session.can_decide

    # The demo is a signed workspace: its (throw-away) owner puts the new key on the roster,
    # as the owner approving a join request would; its models sign their own consent. Built on
    # this device, so its owner is pinned here (no trust dialog).
    identity = IdentityStore.default().load()
    assert identity is not None
    root = build_demo(
        tmp_path / "demo",
        (Person("agent@example.com", "Alex Agent", "agent", ("milo", "nova")), identity.public_key),
        trust=TrustStore.default(),
    )

    with qtbot.waitSignal(session.statuses_refreshed, timeout=60_000):
        window.open_workspace(root)
    qtbot.waitUntil(lambda: not session.scan.running and session.scan_result is not None)
    # Wait for the statuses computed after the scan.
    qtbot.waitUntil(lambda: all(i.status is not None for i in session.items), timeout=30_000)

    # Walk with the keyboard to the first readable asset of a model on the roster whose AI
    # disclosure the demo workspace lets a reviewer approve; approve it.
    def decidable(item: Any, exclude: str = "") -> bool:
        return (
            item is not None
            and item.rel != exclude
            and item.result is not None
            and not item.result.error
            and item.ref.model_id in ("milo", "nova")
        )

    def approvable(item: Any) -> bool:
        disclosure = item.result.disclosure if decidable(item) else None
        verdict = disclosure.verdict.value if disclosure is not None else None
        # Not yet approved by anyone, so that one approval leaves it pending (model and agent).
        return verdict in ("disclosed", "partial") and not item.status.evaluation.approvals

    for _ in range(len(session.items)):
        if approvable(window.current_item()):
            break
        _press(qtbot, window, "n")
    approved = window.current_item()
    assert approvable(approved)
    blocking = bool(approved.blocking)
    failures: list[tuple[str, str]] = []
    session.decision_failed.connect(lambda rel, msg: failures.append((rel, msg)))
    with qtbot.waitSignals([session.decision_recorded], timeout=10_000, raising=False) as blocker:
        _press(qtbot, window, "a")
        if blocking:
            # Blocking findings: an explicit confirmation, recorded as an override (Alt+A).
            box = window.dialogs.current
            assert box is not None and "overrode" in box.text()
            qtbot.waitUntil(lambda: QApplication.activeWindow() is box)
            qtbot.keyClick(box, "a", Qt.KeyboardModifier.AltModifier)
    assert failures == []
    assert blocker.signal_triggered

    # The queue moved on; reject another asset of a known model with a reason and a note
    # (walking back when the approved asset was the last one in the queue).
    for key in ("n", "p"):
        for _ in range(len(session.items)):
            if decidable(window.current_item(), exclude=approved.rel):
                break
            _press(qtbot, window, key)
    rejected = window.current_item()
    assert rejected is not None and rejected.rel != approved.rel
    _press(qtbot, window, "r")
    reject = window.dialogs.current
    assert isinstance(reject, RejectDialog)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is reject)
    if not reject.reasons():
        qtbot.keyClick(reject.list, "6")  # quality
    qtbot.keyClicks(reject.note, "not good enough")
    with qtbot.waitSignal(session.decision_recorded, timeout=10_000):
        qtbot.keyClick(reject.note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(
        lambda: rejected.status is not None and rejected.status.evaluation.state is State.REJECTED,
        timeout=30_000,
    )

    # The log verifies with nothing but the workspace, and the status says what the UI says.
    report = verify_workspace(root)
    assert report.ok, [p.to_json() for p in report.problems]
    status = compute_status(Workspace.open(root))
    by_path = {a.path: a for a in status.assets}
    a = by_path[approved.rel]
    assert [(d.principal, d.decision, d.override) for d in a.evaluation.approvals] == [
        ("agent@example.com", "approve", blocking)
    ]
    assert a.state is State.PENDING and a.evaluation.missing_roles == ("model",)
    r = by_path[rejected.rel]
    assert r.state is State.REJECTED
    [d] = r.evaluation.rejections
    assert d.principal == "agent@example.com" and d.note == "not good enough" and d.reasons
    # The app shows the same.
    assert approved.status is not None and approved.status.evaluation.state is State.PENDING
    if window.current_item() is not rejected:
        _press(qtbot, window, "p")  # the queue had moved on after the reject
    assert window.current_item() is rejected
    assert "Rejected by agent@example.com" in window.review.findings.toPlainText()
    assert "not good enough" in window.review.findings.toPlainText()


def test_real_services_batch_withdraw_and_create(
    qtbot: Any, app_parts: Any, tmp_path: Path
) -> None:
    """Batch reject, withdraw and Create workspace through the real services."""
    window, session = app_parts.window, app_parts.session
    window.show()
    me = session.backend.create_identity("agent@example.com", "Alex Agent", "agent")
    session.set_identity(me, None)
    identity = IdentityStore.default().load()
    assert identity is not None
    root = build_demo(
        tmp_path / "demo",
        (Person("agent@example.com", "Alex Agent", "agent", ("milo", "nova")), identity.public_key),
        trust=TrustStore.default(),
    )
    with qtbot.waitSignal(session.statuses_refreshed, timeout=60_000):
        window.open_workspace(root)
    qtbot.waitUntil(lambda: all(i.status is not None for i in session.items), timeout=30_000)
    picked = [
        i.rel
        for i in session.items
        if i.result is not None and not i.result.error and i.ref.model_id in ("milo", "nova")
    ][:3]
    assert len(picked) == 3
    with qtbot.waitSignal(session.batch_finished, timeout=30_000) as done:
        session.decide_many(picked, "reject", ["quality"], "batch note")
    ok, refused = done.args
    assert sorted(ok) == sorted(picked) and refused == []
    status = compute_status(Workspace.open(root))
    by_path = {a.path: a for a in status.assets}
    for rel in picked:
        assert by_path[rel].state is State.REJECTED
    # Withdraw one: a signed entry, the reviewer is undecided about it again.
    with qtbot.waitSignal(session.decision_recorded, timeout=10_000) as rec:
        session.withdraw(picked[0])
    assert rec.args == [picked[0], "withdraw"]
    status = compute_status(Workspace.open(root))
    by_path = {a.path: a for a in status.assets}
    assert by_path[picked[0]].state is not State.REJECTED
    assert by_path[picked[1]].state is State.REJECTED
    assert verify_workspace(root).ok
    # Create workspace: a new folder, owned by this key, opened and decidable.
    target = tmp_path / "new-ws"
    with qtbot.waitSignal(session.workspace_opened, timeout=30_000):
        window.create_workspace_at(target, "Spring")
    assert (target / "roster" / "roster.dlog").is_file()
    qtbot.waitUntil(lambda: session.trust is not None and session.trust.ok, timeout=10_000)
    assert session.workspace_read_only is None
