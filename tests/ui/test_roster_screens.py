"""The signed roster in the app: trust on first use, owner changed, no roster, join, consent.

Real roster, trust, decision and status services on real workspaces, each reviewer a "device"
with its own in-memory keyring and its own pin store (``known_workspaces``) and rollback record;
only the scan is the fake one (findings do not matter here). Set ``TWINREVIEW_SHOTS`` to a folder
to also save a picture of each screen.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from conftest import FakeBackend, SyncExecutor
from decision_helpers import build_workspace, enroll, owner_of, reviewer, roster_service
from twinreview.core.logs.sshsig import SigningKey
from twinreview.core.roster.log import SignedRoster
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionService
from twinreview.services.keys import KeyService
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import SeenStore, TrustStore, Verifier
from twinreview.ui.roster import ConsentDialog, JoinDialog, RosterDialog, TrustDialog
from twinreview.ui.services_backend import ServicesBackend


class _FakeScan:
    """The scan service the backend falls back to: the fake one (fast, no image work)."""

    def scan(self, ws: Workspace, progress: Any = None, cancel: Any = None) -> Any:
        return FakeBackend().scan(ws, progress, cancel or threading.Event())


@dataclass
class App:
    window: Any
    session: Any
    keys: KeyService
    trust: TrustStore
    roster: RosterService


def _shot(widget: QWidget, name: str) -> None:
    folder = os.environ.get("TWINREVIEW_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(folder) / name))


@pytest.fixture
def device(qtbot: Any, tmp_path: Path) -> Any:
    """``device(keys, config=None)``: the app on a device whose reviewer key is ``keys``.

    ``config`` is the device's user config folder (its pins); default: a fresh one, so nothing
    is pinned yet.
    """
    made: list[Any] = []

    def make(keys: KeyService, config: Path | None = None) -> App:
        from twinreview.ui.app import build_window

        home = tmp_path / f"device-{len(made)}"
        trust = TrustStore(config or home / "config")
        verifier = Verifier(SeenStore(home / "data"), trust)
        roster = RosterService(keys, trust, verifier)
        backend = ServicesBackend(
            _FakeScan(),  # type: ignore[arg-type]
            keys,
            DecisionService(keys, verifier=verifier, trust=trust),
            roster,
            verifier,
        )
        sync = SyncExecutor()
        settings = QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat)
        window, session, _ = build_window(backend, settings, ui_executor=sync, long_executor=sync)
        qtbot.addWidget(window)
        session.set_identity(backend.load_identity(), None)
        window.resize(1200, 800)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        made.append(window)
        return App(window, session, keys, trust, roster)

    return make


def _open(qtbot: Any, app: App, root: Path) -> None:
    with qtbot.waitSignal(app.session.statuses_refreshed, timeout=10_000):
        app.window.open_workspace(root)
    qtbot.waitUntil(lambda: app.session.roster is not None)


def _workspace(tmp_path: Path) -> Path:
    """Models ava and ben with two assets each; ava's sidecars name their intended use."""
    root = build_workspace(tmp_path / "ws")
    for rel, use in (("look1", "ecommerce"), ("spring/look2", "social")):
        (root / "assets" / "ava" / f"{rel}.json").write_text(json.dumps({"intended_use": use}))
    return root


def _owner_fp(root: Path) -> tuple[str, str]:
    roster = SignedRoster.load(root / "roster")
    assert roster.workspace_id is not None and roster.owner_key is not None
    return roster.workspace_id, roster.owner_key.fingerprint


# -- trust on first use -------------------------------------------------------------------------


def test_trust_dialog_shows_the_owner_and_trust_pins(
    qtbot: Any, tmp_path: Path, device: Any
) -> None:
    root = _workspace(tmp_path)
    owner_of(root)
    ws_id, owner_fp = _owner_fp(root)
    sam = reviewer(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    enroll(root, sam, ("ava",))
    app = device(sam)  # Sam's own laptop: it has never seen this workspace's owner
    _open(qtbot, app, root)

    qtbot.waitUntil(lambda: isinstance(app.window.dialogs.current, TrustDialog))
    dialog = app.window.dialogs.current
    text = " ".join(w.text() for w in dialog.findChildren(type(dialog.check)) if hasattr(w, "text"))
    assert f"owner of “{SignedRoster.load(root / 'roster').name}”" in text
    assert "owner@brand.example" in text
    assert "Check this code with owner@brand.example by phone or in person" in text
    assert dialog.code.text() == owner_fp
    _shot(dialog, "trust-dialog.png")
    # Not trusted yet: no deciding, and the reason says why.
    assert not app.session.can_decide
    assert "not trusted" in app.session.why_not_decide

    dialog.trust_button.click()
    qtbot.waitUntil(lambda: app.session.trust is not None and app.session.trust.ok)
    assert app.trust.pinned(ws_id) == owner_fp
    assert app.session.can_decide
    assert app.window.acts["approve"].isEnabled()
    assert not app.window.trust_banner.isVisible()


def test_not_now_does_not_pin_and_asks_only_once(qtbot: Any, tmp_path: Path, device: Any) -> None:
    root = _workspace(tmp_path)
    owner_of(root)
    ws_id, owner_fp = _owner_fp(root)
    sam = reviewer(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    enroll(root, sam, ("ava",))
    app = device(sam)
    _open(qtbot, app, root)
    qtbot.waitUntil(lambda: isinstance(app.window.dialogs.current, TrustDialog))
    app.window.dialogs.current.later_button.click()
    qtbot.waitUntil(lambda: app.window.dialogs.current is None)

    assert app.trust.pinned(ws_id) is None
    assert not app.trust.path.exists()
    assert not app.session.can_decide
    assert not app.window.acts["approve"].isEnabled()
    banner = app.window.trust_banner
    assert banner.isVisible() and banner.kind == "warn"
    assert owner_fp in banner.label.text() and banner.trust_button.isVisible()
    _shot(app.window, "banner-not-trusted.png")
    # A decision is refused before anything is signed.
    failures: list[str] = []
    app.session.decision_failed.connect(lambda rel, msg: failures.append(msg))
    app.session.decide(app.session.items[0].rel, "approve")
    assert failures and "not trusted" in failures[0]
    assert not (root / "logs").exists() or not any((root / "logs").iterdir())
    box = app.window.dialogs.current
    assert isinstance(box, QMessageBox) and "not trusted" in box.text()
    box.reject()
    qtbot.waitUntil(lambda: app.window.dialogs.current is None)

    # Opened again in the same run: not asked again; the banner still offers it.
    _open(qtbot, app, root)
    qtbot.wait(50)
    assert app.window.dialogs.current is None
    banner.trust_button.click()
    qtbot.waitUntil(lambda: isinstance(app.window.dialogs.current, TrustDialog))
    app.window.dialogs.current.trust_button.click()
    qtbot.waitUntil(lambda: app.trust.pinned(ws_id) == owner_fp)


def test_owner_changed_is_a_hard_error_and_disables_deciding(
    qtbot: Any, tmp_path: Path, device: Any
) -> None:
    root = _workspace(tmp_path)
    owner_of(root)
    ws_id, owner_fp = _owner_fp(root)
    sam = reviewer(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    enroll(root, sam, ("ava",))
    # This device pinned another owner key for this workspace id: the roster was replaced.
    config = tmp_path / "sam-config"
    other_fp = SigningKey.generate().public.fingerprint
    TrustStore(config).pin(ws_id, other_fp, "ws")
    app = device(sam, config)
    _open(qtbot, app, root)

    qtbot.wait(50)
    assert app.window.dialogs.current is None  # nothing to ask: it is an error
    banner = app.window.trust_banner
    assert banner.isVisible() and banner.kind == "error"
    text = banner.label.text()
    assert "This workspace's owner changed: do not approve anything here" in text
    assert owner_fp in text and other_fp in text
    assert not banner.trust_button.isVisible()
    _shot(app.window, "banner-owner-changed.png")
    assert not app.session.can_decide
    for name in ("approve", "reject"):
        assert not app.window.acts[name].isEnabled()
    assert "owner changed" in app.window.acts["approve"].toolTip()
    assert "decisions are off here" in app.window.review.decision_label.text()
    app.window.review.table.setFocus()
    qtbot.keyClick(app.window.review.table, "a")  # disabled: nothing happens
    assert app.window.dialogs.current is None
    failures: list[str] = []
    app.session.decision_failed.connect(lambda rel, msg: failures.append(msg))
    app.session.decide(app.session.items[0].rel, "approve")
    assert failures and "owner changed" in failures[0]
    app.window.dialogs.current.reject()
    assert not (root / "logs").exists() or not any((root / "logs").iterdir())
    # Every status is blocked: the roster it would be judged by is not the trusted one.
    assert all(i.status.evaluation.state.value == "blocked" for i in app.session.items)
    # Trusting is refused too (the pin stands).
    assert app.trust.pinned(ws_id) == other_fp


def test_no_roster_offers_make_me_the_owner(qtbot: Any, tmp_path: Path, device: Any) -> None:
    root = _workspace(tmp_path)
    me = reviewer(tmp_path / "me", "owner@brand.example", "brand", "Olga")
    app = device(me)
    _open(qtbot, app, root)
    banner = app.window.trust_banner
    assert banner.isVisible() and banner.kind == "warn"
    assert "no signed roster" in banner.label.text()
    assert banner.owner_button.isVisible()
    assert not app.session.can_decide
    _shot(app.window, "banner-no-roster.png")

    banner.owner_button.click()
    box = app.window.dialogs.current
    assert isinstance(box, QMessageBox)
    [ok] = [b for b in box.buttons() if "owner" in b.text().lower()]
    _shot(box, "make-owner.png")
    ok.click()
    qtbot.waitUntil(lambda: app.session.trust is not None and app.session.trust.ok)
    roster = SignedRoster.load(root / "roster")
    assert roster.owner == "owner@brand.example"
    assert roster.owner_key == me.current().public_key
    qtbot.waitUntil(lambda: app.session.roster is not None and app.session.roster.i_am_admin)
    assert not banner.isVisible()


# -- the roster screen --------------------------------------------------------------------------


def _join_request(tmp_path: Path, root: Path, principal: str, models: tuple[str, ...]) -> Any:
    """Another device pins the owner and writes its signed join request."""
    keys = reviewer(tmp_path / principal.split("@")[0], principal, "agent")
    svc = RosterService(
        keys,
        TrustStore(tmp_path / f"{principal}-config"),
        Verifier(None, None),
    )
    svc.trust_workspace(root)
    svc.request_join(root, models)
    return keys


def _roster_dialog(qtbot: Any, app: App) -> RosterDialog:
    app.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is app.window)
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(app.window, Qt.Key.Key_R, ctrl_shift)  # Roster…
    dialog = app.window.dialogs.current
    assert isinstance(dialog, RosterDialog)
    qtbot.waitExposed(dialog)
    return dialog


def _people(dialog: RosterDialog) -> dict[str, tuple[str, ...]]:
    model = dialog.people_model
    return {
        model.index(r, 1).data(): tuple(
            model.index(r, c).data() for c in range(model.columnCount())
        )
        for r in range(model.rowCount())
    }


def test_owner_approves_a_join_request_in_the_roster_screen(
    qtbot: Any, tmp_path: Path, device: Any, check_model: Any
) -> None:
    root = _workspace(tmp_path)
    owner = owner_of(root)
    enroll(root, reviewer(tmp_path / "ava", "ava@models.example", "model", "Ava"), ("ava",))
    _join_request(tmp_path, root, "sam@agency.example", ("ava", "ben"))
    # The owner's own laptop: init pinned the workspace there.
    app = device(owner, Path(os.environ["TWINREVIEW_CONFIG_DIR"]))
    _open(qtbot, app, root)
    assert app.window.dialogs.current is None  # pinned: nothing to ask
    dialog = _roster_dialog(qtbot, app)
    check_model(dialog.people_proxy)
    check_model(dialog.requests_proxy)

    people = _people(dialog)
    assert people["owner@brand.example"][5] == "Owner"
    assert people["ava@models.example"][2:5] == ("Model", "Ava", "any use; no end date")
    assert "sam@agency.example" not in people
    assert dialog.requests_model.rowCount() == 1
    assert dialog.select_request("sam@agency.example")
    assert dialog.approve_button.isEnabled()
    assert "Check that you know them" in dialog.requests_note.text()
    _shot(dialog, "roster-owner.png")

    dialog.approve_button.click()
    qtbot.waitUntil(lambda: "Added" in dialog.message.text())
    qtbot.waitUntil(lambda: "sam@agency.example" in _people(dialog))
    assert _people(dialog)["sam@agency.example"][2:4] == ("Agent", "Ava, Ben")
    assert dialog.requests_model.rowCount() == 0 and dialog.requests_empty.isVisible()
    shown = app.roster.show(root)
    assert [p["principal"] for p in shown["people"] if p["principal"].startswith("sam")] == [
        "sam@agency.example"
    ]
    assert shown["pending"] == []


def test_a_non_owner_cannot_press_approve_and_is_told_why(
    qtbot: Any, tmp_path: Path, device: Any
) -> None:
    root = _workspace(tmp_path)
    owner_of(root)
    bo = reviewer(tmp_path / "bo", "bo@agency.example", "agent", "Bo")
    enroll(root, bo, ("ava",))
    _join_request(tmp_path, root, "sam@agency.example", ("ava",))
    config = tmp_path / "bo-config"
    ws_id, owner_fp = _owner_fp(root)
    TrustStore(config).pin(ws_id, owner_fp, "ws")
    app = device(bo, config)
    _open(qtbot, app, root)
    dialog = _roster_dialog(qtbot, app)
    assert dialog.select_request("sam@agency.example")
    assert "Only the owner or an admin can approve" in dialog.requests_note.text()
    # The button agrees with the note beside it: nothing to press that would only be refused.
    assert not dialog.approve_button.isEnabled()
    assert "owner or an admin" in dialog.approve_button.toolTip()
    before = (root / "roster" / "roster.dlog").read_bytes()

    # Had the roster changed after the screen was drawn, the roster's own refusal still shows.
    dialog.approve_selected()
    qtbot.waitUntil(lambda: dialog.message.text().startswith("Not approved: "))
    message = dialog.message.text()
    assert "\n" not in message and "bo@agency.example" in message
    _shot(dialog, "roster-refusal.png")
    assert (root / "roster" / "roster.dlog").read_bytes() == before
    assert "sam@agency.example" not in _people(dialog)
    assert dialog.requests_model.rowCount() == 1


def test_buttons_a_device_cannot_use_yet_are_disabled_with_the_reason_beside_them(
    qtbot: Any, tmp_path: Path, device: Any
) -> None:
    root = _workspace(tmp_path)
    owner_of(root)
    ava = reviewer(tmp_path / "ava", "ava@models.example", "model", "Ava")
    enroll(root, ava, ("ava",), consent=False)
    _join_request(tmp_path, root, "sam@agency.example", ("ava",))
    app = device(ava)  # a fresh device: the owner is not trusted here yet
    _open(qtbot, app, root)
    qtbot.waitUntil(lambda: isinstance(app.window.dialogs.current, TrustDialog))
    app.window.dialogs.current.later_button.click()
    qtbot.waitUntil(lambda: app.window.dialogs.current is None)
    app.window.dialogs.show_roster()
    dialog = app.window.dialogs.current
    assert isinstance(dialog, RosterDialog)
    qtbot.waitExposed(dialog)

    # Her consent cannot be signed before she trusts the owner: the box says so.
    assert dialog.consent_button.isVisible()
    assert not dialog.consent_button.isEnabled()
    assert dialog.me_note.isVisible()
    assert "My consent: Trust the workspace's owner first" in dialog.me_note.text()
    assert "Trust the workspace's owner first" in dialog.consent_button.toolTip()
    # She is no admin: Approve stays off, and the note beside it says why.
    assert dialog.select_request("sam@agency.example")
    assert not dialog.approve_button.isEnabled()
    assert "you are neither" in dialog.requests_note.text()
    _shot(dialog, "roster-untrusted-model.png")

    dialog.trust_button.click()
    qtbot.waitUntil(lambda: isinstance(app.window.dialogs.current, TrustDialog))
    app.window.dialogs.current.trust_button.click()
    qtbot.waitUntil(lambda: app.session.trust is not None and app.session.trust.ok)
    qtbot.waitUntil(dialog.consent_button.isEnabled)
    assert not dialog.me_note.isVisible()


def test_join_this_workspace_writes_a_signed_request(
    qtbot: Any, tmp_path: Path, device: Any
) -> None:
    root = _workspace(tmp_path)
    owner = owner_of(root)
    sam = reviewer(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    app = device(sam)
    _open(qtbot, app, root)
    qtbot.waitUntil(lambda: isinstance(app.window.dialogs.current, TrustDialog))
    app.window.dialogs.current.trust_button.click()
    banner = app.window.trust_banner
    qtbot.waitUntil(lambda: banner.isVisible() and banner.join_button.isVisible())
    assert "not on this workspace's roster" in banner.label.text()

    banner.join_button.click()
    dialog = app.window.dialogs.current
    assert isinstance(dialog, JoinDialog)
    dialog.send_button.click()
    assert "at least one model" in dialog.message.text()
    dialog.models["ben"].setChecked(True)
    _shot(dialog, "join-dialog.png")
    dialog.send_button.click()
    qtbot.waitUntil(lambda: "request is signed and saved" in dialog.message.text())
    _shot(dialog, "join-sent.png")
    requests, problems = roster_service(owner).pending(root)
    assert problems == []
    assert [(r.principal, r.role, r.models) for r in requests] == [
        ("sam@agency.example", "agent", ("ben",))
    ]
    dialog.reject()
    qtbot.waitUntil(lambda: "waiting for the owner" in banner.label.text())
    assert not banner.join_button.isVisible()


# -- a model's consent --------------------------------------------------------------------------


def test_a_model_signs_her_consent_and_the_roster_shows_it(
    qtbot: Any, tmp_path: Path, device: Any
) -> None:
    root = _workspace(tmp_path)
    owner_of(root)
    ava = reviewer(tmp_path / "ava", "ava@models.example", "model", "Ava")
    enroll(root, ava, ("ava",), consent=False)
    enroll(root, reviewer(tmp_path / "sam", "sam@agency.example", "agent"), ("ava", "ben"))
    config = tmp_path / "ava-config"
    ws_id, owner_fp = _owner_fp(root)
    TrustStore(config).pin(ws_id, owner_fp, "ws")
    app = device(ava, config)
    _open(qtbot, app, root)
    w = app.window

    # Her images wait for her consent, in the queue, the decision bar and simple mode.
    ava_items = [i for i in app.session.items if i.ref.model_id == "ava"]
    from twinreview.ui.status_words import status_text

    assert {status_text(i) for i in ava_items} == {"Waiting for consent"}
    assert w.select_asset(ava_items[0].rel)
    qtbot.waitUntil(lambda: "Waiting for your consent" in w.review.decision_label.text())
    banner = w.trust_banner
    qtbot.waitUntil(lambda: banner.isVisible() and banner.consent_button.isVisible())
    assert "You have not given your consent yet" in banner.label.text()
    assert w.acts["consent"].isEnabled()
    _shot(w, "waiting-for-consent.png")
    w.acts["simple"].trigger()
    qtbot.waitUntil(lambda: "Waiting for your consent" in w.simple_page.status.text())
    assert {w.current_item().ref.model_id} == {"ava"}
    _shot(w, "simple-waiting-for-consent.png")
    w.acts["simple"].trigger()

    w.acts["consent"].trigger()
    dialog = w.dialogs.current
    assert isinstance(dialog, ConsentDialog)
    qtbot.waitExposed(dialog)
    assert "You have not given your consent yet" in dialog.current.text()
    assert set(dialog.use_boxes) == {"ecommerce", "social"}  # from her images' sidecars
    dialog.use_boxes["ecommerce"].setChecked(True)
    dialog.purpose.setText("Autumn campaign e-commerce for the brand")
    dialog.until.setChecked(True)
    from PySide6.QtCore import QDate

    dialog.end_date.setDate(QDate(2031, 6, 30))
    dialog.need_brand.setChecked(True)
    assert dialog.need_agent.isChecked()  # the default: her agent approves too
    _shot(dialog, "consent-dialog.png")
    dialog.sign_button.click()
    qtbot.waitUntil(lambda: dialog.message.text() == "Signed.")
    qtbot.waitUntil(lambda: "only ecommerce" in dialog.current.text())
    assert dialog.current.text().startswith(
        "Now: You allow only ecommerce, until 30 June 2031; each image needs the approval of "
        "you, your agent and the brand. For “Autumn campaign e-commerce for the brand”."
    )
    shown = app.roster.show(root)["consents"]["ava"]
    assert (shown["signed_by"], shown["uses"], shown["expires"], shown["require"]) == (
        "ava@models.example",
        ["ecommerce"],
        "2031-06-30",
        ["model", "agent", "brand"],
    )
    _shot(dialog, "consent-signed.png")
    dialog.reject()

    # The roster screen shows her consent; her images no longer wait for it.
    roster = _roster_dialog(qtbot, app)
    assert _people(roster)["ava@models.example"][4] == "ecommerce; until 2031-06-30"
    assert "only ecommerce" in roster.me.text()
    roster.reject()
    qtbot.waitUntil(lambda: all(status_text(i) != "Waiting for consent" for i in ava_items))
    assert not banner.isVisible()

    # She withdraws it (after a confirmation): nothing of hers can be approved.
    w.acts["consent"].trigger()
    dialog = w.dialogs.current
    assert isinstance(dialog, ConsentDialog)
    assert dialog.use_boxes["ecommerce"].isChecked() and dialog.until.isChecked()
    dialog.withdraw_button.click()
    assert isinstance(dialog.confirm, QMessageBox)
    [ok] = [b for b in dialog.confirm.buttons() if "Withdraw" in b.text()]
    ok.click()
    qtbot.waitUntil(lambda: dialog.message.text() == "Withdrawn and signed.")
    qtbot.waitUntil(lambda: "withdrew consent" in dialog.current.text())
    assert app.roster.show(root)["consents"]["ava"]["withdrawn"] is True
    qtbot.waitUntil(lambda: {status_text(i) for i in ava_items} == {"Consent withdrawn"})


def test_consent_is_offered_only_to_the_model_herself(
    qtbot: Any, tmp_path: Path, device: Any
) -> None:
    root = _workspace(tmp_path)
    owner_of(root)
    sam = reviewer(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    enroll(root, sam, ("ava",))
    enroll(root, reviewer(tmp_path / "ava", "ava@models.example", "model", "Ava"), ("ava",))
    config = tmp_path / "sam-config"
    TrustStore(config).pin(*_owner_fp(root), "ws")
    app = device(sam, config)
    _open(qtbot, app, root)
    assert not app.window.acts["consent"].isEnabled()
    app.window.dialogs.show_consent("ava")
    assert app.window.dialogs.current is None
    assert "Only a model" in app.window.status_line.text()
    dialog = _roster_dialog(qtbot, app)
    assert not dialog.consent_button.isVisible()
    assert not dialog.join_button.isVisible()


def test_roster_screen_reports_a_hand_edited_view(qtbot: Any, tmp_path: Path, device: Any) -> None:
    root = _workspace(tmp_path)
    owner = owner_of(root)
    # Someone adds themselves to the generated allowed_signers by hand: ignored, and reported.
    line = f'eve@x.example namespaces="twinreview-*" {SigningKey.generate().public.openssh()}\n'
    with (root / "roster" / "allowed_signers").open("a") as fh:
        fh.write(line)
    app = device(owner, Path(os.environ["TWINREVIEW_CONFIG_DIR"]))
    _open(qtbot, app, root)
    dialog = _roster_dialog(qtbot, app)
    assert dialog.problems.isVisible()
    problems = dialog.problems.text()
    assert "roster/allowed_signers was edited by hand; the edit is ignored" in problems
    assert "eve@x.example" not in _people(dialog)
    # Not a damaged roster: the owner can still sign (no banner, deciding stays possible).
    assert not app.window.trust_banner.isVisible()
    assert app.session.can_decide
