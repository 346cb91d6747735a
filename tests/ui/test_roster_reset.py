"""A model's key reset, and who accepts a gap in a log, on the roster screen.

The same signed roster entries as ``twinreview roster reset`` and ``twinreview roster accept``,
through the app's buttons on separate devices (``owner_app``): only the owner resets a model, and
the confirmation says what happens; a gap in a model's log is accepted only by herself, anyone
else's by that person or the owner, never by an admin, and a greyed-out button says why.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from owner_app import App, make_device, open_workspace
from PySide6.QtWidgets import QMessageBox, QWidget

from decision_helpers import build_workspace, decider, enroll, owner_of, reviewer, roster_service
from twinreview.core.roster.log import SignedRoster
from twinreview.core.workspace import Workspace
from twinreview.ui.roster import RosterDialog


def _shot(widget: QWidget, name: str) -> None:
    folder = os.environ.get("TWINREVIEW_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(folder) / name))


@pytest.fixture
def devices(qtbot: Any, tmp_path: Path) -> Any:
    made: list[App] = []

    def make(keys: Any) -> App:
        config = Path(os.environ["TWINREVIEW_CONFIG_DIR"])  # init pinned the owner there
        app = make_device(qtbot, tmp_path / f"device-{len(made)}", keys, config)
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()


def _roster(qtbot: Any, app: App) -> RosterDialog:
    app.window.dialogs.show_roster()
    dialog = app.window.dialogs.current
    assert isinstance(dialog, RosterDialog)
    qtbot.waitExposed(dialog)
    return dialog


def _button(box: QMessageBox, word: str) -> Any:
    [found] = [b for b in box.buttons() if word in b.text().replace("&", "").lower()]
    return found


@pytest.fixture
def team(tmp_path: Path) -> dict[str, Any]:
    """Owner; Ava (model of ``ava``, consented), Sam (agent), Kim (brand, an admin)."""
    root = build_workspace(tmp_path / "ws")
    owner = owner_of(root)
    ava = reviewer(tmp_path / "ava", "ava@models.example", "model", "Ava")
    sam = reviewer(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    kim = reviewer(tmp_path / "kim", "kim@brand.example", "brand", "Kim")
    enroll(root, ava, ("ava",))
    enroll(root, sam, ("ava",))
    enroll(root, kim, ("ava", "ben"))
    roster_service(owner).set_admin(root, "kim@brand.example", True)
    return {"root": root, "owner": owner, "ava": ava, "sam": sam, "kim": kim}


# -- reset ------------------------------------------------------------------------------------


def test_the_owner_resets_a_models_key_and_the_confirmation_says_what_happens(
    qtbot: Any, tmp_path: Path, devices: Any, team: dict[str, Any]
) -> None:
    from twinreview.ui.roster.reset_dialog import ResetKeyDialog

    root = team["root"]
    decider(team["ava"]).decide(
        Workspace.open(root), "assets/ava/look1.jpg", "reject", reasons=["likeness_wrong"]
    )
    # Her laptop is lost: a new one makes a new key, and she sends its line to the owner.
    laptop = reviewer(tmp_path / "ava-new", "ava@models.example", "model", "Ava")
    new = laptop.current()
    assert new is not None
    app = devices(team["owner"])
    open_workspace(qtbot, app, root)
    roster = _roster(qtbot, app)
    assert roster.reset_button.isVisible()
    assert roster.select_person("ava@models.example")
    assert roster.reset_button.isEnabled(), roster.reset_button.toolTip()
    roster.reset_button.click()
    dialog = roster.child
    assert isinstance(dialog, ResetKeyDialog)
    qtbot.waitExposed(dialog)
    said = dialog.consequences.text()
    # What happens, plainly: everyone is told; her consent lapses until she signs again; her
    # earlier rejects stand.
    assert "Everyone" in said and "Ava" in said
    assert "consent" in said and "signs it again" in said
    assert "rejected" in said and "stay rejected" in said
    assert not dialog.reset_button.isEnabled()  # no key yet
    dialog.key_edit.setPlainText(new.allowed_signers_line())
    assert new.public_key.fingerprint in dialog.key_info.text()
    assert dialog.reset_button.isEnabled()
    _shot(dialog, "reset-key.png")
    dialog.reset_button.click()
    qtbot.waitUntil(lambda: "reset" in dialog.message.text().lower(), timeout=10_000)
    assert "Not reset" not in dialog.message.text(), dialog.message.text()
    state = SignedRoster.load(root / "roster").current
    assert state is not None
    [reset] = state.resets
    assert reset.principal == "ava@models.example"
    assert new.public_key.fingerprint in reset.fingerprints
    # Her consent from before lapsed; the screen says so.
    assert "ava" not in state.consents
    # Everyone is shown it: the banner above the pages, after the statuses are read again.
    qtbot.waitUntil(lambda: app.window.log_notices.isVisible(), timeout=10_000)
    assert new.public_key.fingerprint in app.window.log_notices.label.text()
    _shot(app.window, "reset-banner.png")


def test_a_key_line_of_someone_else_is_refused_before_signing(
    qtbot: Any, tmp_path: Path, devices: Any, team: dict[str, Any]
) -> None:
    root = team["root"]
    other = reviewer(tmp_path / "mallory", "mallory@brand.example", "model", "Mallory")
    line = other.current()
    assert line is not None
    app = devices(team["owner"])
    open_workspace(qtbot, app, root)
    roster = _roster(qtbot, app)
    assert roster.select_person("ava@models.example")
    roster.reset_button.click()
    dialog = roster.child
    dialog.key_edit.setPlainText(line.allowed_signers_line())
    assert "mallory@brand.example" in dialog.key_info.text()
    assert "#b3261e" in dialog.key_info.styleSheet()  # said as an error
    assert not dialog.reset_button.isEnabled()
    state = SignedRoster.load(root / "roster").current
    assert state is not None and not state.resets


def test_only_the_owner_may_reset_and_only_a_model(
    qtbot: Any, devices: Any, team: dict[str, Any]
) -> None:
    root = team["root"]
    # An admin: the button is there but greyed out, with the reason.
    app = devices(team["kim"])
    open_workspace(qtbot, app, root)
    roster = _roster(qtbot, app)
    assert roster.select_person("ava@models.example")
    assert not roster.reset_button.isEnabled()
    assert "Only the owner" in roster.reset_button.toolTip()
    roster.reject()
    # The owner, with an agent selected: only a model's key is reset.
    owner_app = devices(team["owner"])
    open_workspace(qtbot, owner_app, root)
    roster = _roster(qtbot, owner_app)
    assert roster.select_person("sam@agency.example")
    assert not roster.reset_button.isEnabled()
    assert "model" in roster.reset_button.toolTip()


def test_a_reviewer_who_is_no_admin_does_not_see_reset(
    qtbot: Any, devices: Any, team: dict[str, Any]
) -> None:
    app = devices(team["sam"])
    open_workspace(qtbot, app, team["root"])
    roster = _roster(qtbot, app)
    assert not roster.reset_button.isVisible()


# -- who accepts a gap ------------------------------------------------------------------------


def _lose(root: Path, who: str) -> None:
    for log in (root / "logs").glob(f"{who}*"):
        log.unlink()


@pytest.fixture
def gaps(team: dict[str, Any]) -> dict[str, str]:
    """Ava's and Sam's logs lost after Kim saw them: a gap in each (their fingerprints)."""
    root = team["root"]
    ws = Workspace.open(root)
    decider(team["ava"]).decide(ws, "assets/ava/look1.jpg", "reject", reasons=["likeness_wrong"])
    decider(team["sam"]).decide(ws, "assets/ava/spring/look2.jpg", "approve")
    decider(team["kim"]).decide(ws, "assets/ava/spring/look2.jpg", "approve")  # saw both
    _lose(root, "ava")
    _lose(root, "sam")
    fp = {}
    for who in ("ava", "sam"):
        ident = team[who].current()
        assert ident is not None
        fp[who] = ident.public_key.fingerprint
    return fp


def _choose(qtbot: Any, roster: RosterDialog, log: str) -> None:
    qtbot.waitUntil(lambda: log in roster.gaps_text(), timeout=10_000)
    index = roster.gap_choice.findData(log)
    assert index >= 0
    roster.gap_choice.setCurrentIndex(index)


def test_the_owner_may_not_accept_a_gap_in_a_models_log_and_is_told_why(
    qtbot: Any, devices: Any, team: dict[str, Any], gaps: dict[str, str]
) -> None:
    app = devices(team["owner"])
    open_workspace(qtbot, app, team["root"])
    roster = _roster(qtbot, app)
    _choose(qtbot, roster, gaps["ava"])
    assert not roster.accept_button.isEnabled()
    why = roster.accept_note.text()
    assert roster.accept_note.isVisible()
    assert "Ava" in why and "only she" in why, why
    _shot(roster, "roster-gap-model.png")
    # Whose log each is, in words, not only a key code.
    assert "Ava" in roster.gap_choice.currentText()
    # Sam's (an agent's) log: the owner may accept it.
    _choose(qtbot, roster, gaps["sam"])
    assert roster.accept_button.isEnabled(), roster.accept_note.text()
    assert "Sam" in roster.gap_choice.currentText()


def test_an_admin_may_not_accept_a_gap_in_another_persons_log(
    qtbot: Any, devices: Any, team: dict[str, Any], gaps: dict[str, str]
) -> None:
    app = devices(team["kim"])
    open_workspace(qtbot, app, team["root"])
    roster = _roster(qtbot, app)
    _choose(qtbot, roster, gaps["sam"])
    assert not roster.accept_button.isEnabled()
    assert "an admin may not" in roster.accept_note.text(), roster.accept_note.text()


def test_a_reviewer_accepts_a_gap_in_his_own_log(
    qtbot: Any, devices: Any, team: dict[str, Any], gaps: dict[str, str]
) -> None:
    root = team["root"]
    app = devices(team["sam"])  # no admin: his own log is his to accept
    open_workspace(qtbot, app, root)
    roster = _roster(qtbot, app)
    _choose(qtbot, roster, gaps["sam"])
    assert roster.accept_button.isEnabled(), roster.accept_note.text()
    roster.accept_button.click()
    box = roster.child
    assert isinstance(box, QMessageBox)
    _button(box, "accept").click()
    qtbot.waitUntil(lambda: "Accepted" in roster.message.text(), timeout=10_000)
    state = SignedRoster.load(root / "roster").current
    assert state is not None and gaps["sam"] in state.accepted


def test_a_model_accepts_a_gap_in_her_own_log_herself(
    qtbot: Any, devices: Any, team: dict[str, Any], gaps: dict[str, str]
) -> None:
    root = team["root"]
    app = devices(team["ava"])
    open_workspace(qtbot, app, root)
    roster = _roster(qtbot, app)
    _choose(qtbot, roster, gaps["ava"])
    assert roster.accept_button.isEnabled(), roster.accept_note.text()
    # Not Sam's: that is his or the owner's.
    _choose(qtbot, roster, gaps["sam"])
    assert not roster.accept_button.isEnabled()
    _choose(qtbot, roster, gaps["ava"])
    roster.accept_button.click()
    box = roster.child
    assert isinstance(box, QMessageBox)
    _button(box, "accept").click()
    qtbot.waitUntil(lambda: "Accepted" in roster.message.text(), timeout=10_000)
    state = SignedRoster.load(root / "roster").current
    assert state is not None and gaps["ava"] in state.accepted
