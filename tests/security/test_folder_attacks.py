"""Attacks by anyone with write access to the workspace folder (issue 9), one test each.

The setting: a shared or synced folder. The attacker can write any file in it, and may have a
reviewer key of their own (``keys init`` is open to anyone), but not the owner's, the model's or
the agent's private key. Each test performs the attack and then asserts two things: the asset is
not cleared, and ``twinreview verify --json`` names the problem (or the change is refused before
anything is written).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from decision_helpers import (
    T0,
    add_device,
    build_workspace,
    decider,
    enroll,
    owner_of,
    reviewer,
    roster_service,
    sign_consent,
)
from twinreview.cli.main import main
from twinreview.core.approval.policy import State
from twinreview.core.logs.log import LogWriter
from twinreview.core.roster.model import RosterLogError
from twinreview.core.roster.people import Person, format_allowed_signer
from twinreview.core.roster.write import RosterWriter
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionError
from twinreview.services.keys import KeyService
from twinreview.services.roster_admin import RosterAdminError
from twinreview.services.status import compute_status
from twinreview.services.trust import Verifier

LOOK1 = "assets/ava/look1.jpg"
LOOK2 = "assets/ava/spring/look2.jpg"


class Team:
    """Ava (model), Kim (agent); Eve has a key of her own but is on no roster."""

    def __init__(self, home: Path, root: Path) -> None:
        self.root = root
        self.ava = reviewer(home, "ava@example.com", "model", "Ava")
        self.kim = reviewer(home, "kim@agency.example", "agent", "Kim")
        self.eve = reviewer(home / "eve", "eve@evil.example", "model", "Eve")
        enroll(root, self.ava, ("ava",))
        enroll(root, self.kim, ("ava",))

    def decide(self, who: KeyService, asset: str, verdict: str, **kw: Any) -> None:
        decider(who, T0).decide(Workspace.open(self.root), asset, verdict, **kw)


@pytest.fixture
def team(tmp_path: Path) -> Team:
    return Team(tmp_path / "devices", build_workspace(tmp_path / "ws"))


def state_of(root: Path, asset: str = LOOK1) -> State:
    ws = Workspace.open(root)
    report = compute_status(ws, report=Verifier.default().verify(ws.root))
    found = report.get(asset)
    assert found is not None
    return found.state


def verify_json(root: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["verify", str(root), "--json"])
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert (code == 0) == doc["ok"]
    return doc


def kinds(doc: dict[str, Any]) -> set[str]:
    return {p["kind"] for p in doc["problems"]}


def fresh_device(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Another laptop: no rollback record yet (the pins are copied: it trusts the same owner)."""
    data = tmp_path / "other-device-data"
    monkeypatch.setenv("TWINREVIEW_DATA_DIR", str(data))


def log_of(root: Path, principal: str) -> Path:
    (path,) = sorted((root / "logs").glob(f"{principal}--*.dlog"))
    return path


# --- the roster ----------------------------------------------------------------------------


def test_self_enrolment_writes_only_a_join_request(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    svc = roster_service(team.eve)
    # As the old CLI allowed: add yourself as the model and the agent, then approve.
    with pytest.raises(RosterAdminError, match=r"not their active key|not the owner or an admin"):
        svc.add_person(
            team.root,
            Person("eve@evil.example", "Eve", "model", ("ava",)),
            team.eve.current().public_key,  # type: ignore[union-attr]
        )
    request = svc.request_join(team.root, ("ava",))
    assert request.parent.name == "requests"
    with pytest.raises(DecisionError, match=r"does not list eve@evil\.example"):
        team.decide(team.eve, LOOK1, "approve")
    assert state_of(team.root) is State.PENDING
    assert verify_json(team.root, capsys)["ok"]  # a pending request is not a problem
    shown = roster_service(None).show(team.root)
    assert [p["principal"] for p in shown["pending"]] == ["eve@evil.example"]


def test_hand_added_allowed_signers_and_people_lines_count_for_nothing(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    eve = team.eve.current()
    assert eve is not None
    roster = team.root / "roster"
    with (roster / "allowed_signers").open("a") as fh:
        fh.write(format_allowed_signer("eve@evil.example", eve.public_key) + "\n")
    with (roster / "people.toml").open("a") as fh:
        fh.write('\n[people."eve@evil.example"]\nname = "Eve"\nrole = "agent"\nmodels = ["ava"]\n')
    with pytest.raises(DecisionError, match=r"does not list eve@evil\.example"):
        team.decide(team.eve, LOOK1, "approve")
    # Eve writes her own log directly, with her own valid signatures.
    _forge_log(team.root, team.eve, "agent", LOOK1)
    team.decide(team.ava, LOOK1, "approve")
    # Not cleared: Eve's entries do not count, and a log that fails verification makes the
    # assets it names blocked until someone looks (blocking is the safe side).
    assert state_of(team.root) is State.BLOCKED
    doc = verify_json(team.root, capsys)
    assert {"view_edited", "unknown_key"} <= kinds(doc)


def test_second_key_under_the_models_principal_cannot_overrule_her_reject(
    team: Team, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    team.decide(team.ava, LOOK1, "reject", reasons=["likeness_wrong"], note="this is not me")
    team.decide(team.kim, LOOK1, "approve")
    # A key of the attacker's, named as Ava's, in the view and in a log of its own.
    fake_ava = reviewer(tmp_path / "fake", "ava@example.com", "model", "Ava")
    with (team.root / "roster" / "allowed_signers").open("a") as fh:
        fh.write(format_allowed_signer("ava@example.com", fake_ava.current().public_key) + "\n")  # type: ignore[union-attr]
    _forge_log(team.root, fake_ava, "model", LOOK1)
    assert state_of(team.root) in (State.REJECTED, State.BLOCKED)
    ws = Workspace.open(team.root)
    status = compute_status(ws).get(LOOK1)
    assert status is not None
    assert [d.decision for d in status.evaluation.counting if d.role == "model"] == ["reject"]
    doc = verify_json(team.root, capsys)
    assert "unknown_key" in kinds(doc)


def test_deleting_the_revoked_view_does_not_undo_a_revocation(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    kim = team.kim.current()
    assert kim is not None
    team.decide(team.ava, LOOK1, "approve")
    roster_service(owner_of(team.root)).revoke_key(
        team.root, kim.principal, kim.public_key.fingerprint
    )
    (team.root / "roster" / "revoked").unlink()
    with pytest.raises(DecisionError, match="revoked"):
        team.decide(team.kim, LOOK1, "approve")
    # The stolen key signs anyway, naming the roster head from before the revocation.
    _sign_with_old_head(team, team.kim, LOOK1)
    assert state_of(team.root) is State.BLOCKED
    assert {"revoked_key", "view_edited"} <= kinds(verify_json(team.root, capsys))


def test_editing_model_toml_consent_changes_nothing(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    # Ava consented to ecommerce only, until the end of 2026.
    sign_consent(team.root, team.ava, "ava", uses=["ecommerce"])
    (team.root / "assets/ava/look1.json").write_text('{"intended_use": "billboard"}')
    team.decide(team.ava, LOOK1, "approve")
    team.decide(team.kim, LOOK1, "approve")
    assert state_of(team.root) is State.BLOCKED
    (team.root / "models/ava/model.toml").write_text(
        'display_name = "Ava"\n[consent]\nallowed_uses = ["billboard"]\nrequired_roles = '
        '["agent"]\n'
    )
    assert state_of(team.root) is State.BLOCKED
    # The owner cannot widen it either: consent entries are hers alone.
    owner = owner_of(team.root)
    with pytest.raises(RosterAdminError, match="only she can"):
        roster_service(owner).consent(team.root, "ava", uses=["billboard"])
    assert verify_json(team.root, capsys)["ok"]


def test_editing_twinreview_toml_policy_changes_nothing(team: Team) -> None:
    (team.root / "twinreview.toml").write_text('[disclosure]\napprovable = ["disclosed"]\n')
    roster_service(owner_of(team.root)).set_policy(team.root)
    # The attacker loosens the plain file again.
    (team.root / "twinreview.toml").write_text(
        '[disclosure]\napprovable = ["disclosed", "partial", "missing"]\n'
        '[disclosure.severity]\nmissing_disclosure = "info"\n'
    )
    ws = Workspace.open(team.root)
    assert ws.config["disclosure"] == {"approvable": ["disclosed"]}
    with pytest.raises(DecisionError, match="'missing'"):
        team.decide(team.kim, LOOK1, "approve", disclosure_verdict="missing")
    shown = roster_service(None).show(team.root)
    assert shown["policy"]["set_by"] == "owner@brand.example"


def test_a_roster_member_who_is_not_admin_cannot_sign_roster_changes(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    ident, key = team.kim.signer()
    with pytest.raises(RosterLogError, match="not the owner or an admin"):
        RosterWriter(team.root / "roster", key, ident.principal).append(
            "update_person", {"person": "kim@agency.example", "role": "model"}
        )
    # Written by hand anyway (validly signed by Kim): reported, and it does not apply.
    loose = {"policy": {"disclosure": {"approvable": ["missing"]}}}
    _append_roster_entry_unchecked(team, key, ident.principal, "policy", loose)
    doc = verify_json(team.root, capsys)
    assert "roster" in kinds(doc)
    assert state_of(team.root) is State.BLOCKED


def test_a_roster_from_another_owner_is_a_hard_error(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team.decide(team.ava, LOOK1, "approve")
    team.decide(team.kim, LOOK1, "approve")
    assert state_of(team.root) is State.CLEARED
    # Eve replaces the whole roster with one she owns, listing herself as every role.
    shutil.rmtree(team.root / "roster")
    ident, key = team.eve.signer()
    w = RosterWriter(team.root / "roster", key, ident.principal)
    w.genesis("hijacked", Person(ident.principal, "Eve", "brand", ()))
    doc = verify_json(team.root, capsys)
    owner_fp = owner_of_fp = doc["owner"]["fingerprint"]
    assert owner_of_fp == key.public.fingerprint
    messages = " ".join(p["message"] for p in doc["problems"])
    assert "the roster was replaced" in messages
    pinned_fp = owner_of(team.root).current().public_key.fingerprint  # type: ignore[union-attr]
    assert owner_fp in messages
    assert pinned_fp in messages
    assert state_of(team.root) is State.BLOCKED
    with pytest.raises(DecisionError, match="the roster was replaced"):
        team.decide(team.eve, LOOK1, "approve")


def test_signing_in_an_unpinned_workspace_is_refused(team: Team, tmp_path: Path) -> None:
    from twinreview.services.trust import TrustStore

    strange = TrustStore(tmp_path / "another-laptop-config")
    svc = decider(team.ava, T0)
    svc._trust = strange  # the same reviewer on a laptop that never pinned this workspace
    with pytest.raises(DecisionError, match="twinreview trust"):
        svc.decide(Workspace.open(team.root), LOOK1, "approve")


# --- the logs: rollback, truncation, deletion --------------------------------------------


def test_deleting_the_models_last_line_is_evident_from_later_heads(
    team: Team,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    team.decide(team.ava, LOOK1, "approve")
    team.decide(team.ava, LOOK1, "reject", reasons=["likeness_wrong"])
    team.decide(team.kim, LOOK1, "approve")  # Kim's device saw Ava's reject
    log = log_of(team.root, "ava@example.com")
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]))  # the veto is gone; the chain itself is intact
    fresh_device(monkeypatch, tmp_path)
    assert state_of(team.root) is State.BLOCKED
    assert "rolled_back" in kinds(verify_json(team.root, capsys))


def test_deleting_the_models_last_line_is_evident_to_a_device_that_saw_it(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    team.decide(team.kim, LOOK1, "approve")
    team.decide(team.ava, LOOK1, "approve")
    team.decide(team.ava, LOOK1, "reject", reasons=["likeness_wrong"])
    assert state_of(team.root) is State.REJECTED  # this device verified the reject
    log = log_of(team.root, "ava@example.com")
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]))
    assert state_of(team.root) is State.BLOCKED
    doc = verify_json(team.root, capsys)
    assert "rolled_back" in kinds(doc)
    assert any("this device" in p["message"] for p in doc["problems"])


def test_putting_back_an_older_copy_of_her_log(
    team: Team,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    team.decide(team.ava, LOOK1, "approve")
    log = log_of(team.root, "ava@example.com")
    older = log.read_bytes()
    team.decide(team.ava, LOOK1, "reject", reasons=["likeness_wrong"])
    team.decide(team.kim, LOOK1, "approve")
    log.write_bytes(older)
    fresh_device(monkeypatch, tmp_path)
    assert state_of(team.root) is State.BLOCKED
    assert "rolled_back" in kinds(verify_json(team.root, capsys))


def test_deleting_her_whole_log(
    team: Team,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    team.decide(team.ava, LOOK1, "reject", reasons=["likeness_wrong"])
    team.decide(team.kim, LOOK1, "approve")
    log_of(team.root, "ava@example.com").unlink()
    fresh_device(monkeypatch, tmp_path)
    assert state_of(team.root) is not State.CLEARED
    doc = verify_json(team.root, capsys)
    assert "log_missing" in kinds(doc)
    assert state_of(team.root) is State.BLOCKED


def test_rolling_back_the_roster_to_before_a_revocation(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    kim = team.kim.current()
    assert kim is not None
    roster_log = team.root / "roster" / "roster.dlog"
    before = roster_log.read_bytes()
    roster_service(owner_of(team.root)).revoke_key(
        team.root, kim.principal, kim.public_key.fingerprint
    )
    team.decide(team.ava, LOOK1, "approve")  # Ava's device saw the revocation
    roster_log.write_bytes(before)  # the revocation is gone
    assert state_of(team.root) is State.BLOCKED
    assert "rolled_back" in kinds(verify_json(team.root, capsys))


def test_torn_tail_recovery_keeps_a_complete_signed_entry(team: Team) -> None:
    team.decide(team.kim, LOOK1, "approve")
    team.decide(team.ava, LOOK1, "reject", reasons=["likeness_wrong"])
    log = log_of(team.root, "ava@example.com")
    data = log.read_bytes()
    log.write_bytes(data[:-1])  # only the newline of her reject is gone
    team.decide(team.ava, LOOK2, "approve")  # her next append recovers the tail
    assert not list(log.parent.glob("*.torn-*"))
    assert state_of(team.root) is State.REJECTED


# --- order and binding ----------------------------------------------------------------------


def test_an_entry_dated_2099_is_flagged_and_does_not_win(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime as dt

    team.decide(team.kim, LOOK1, "approve")
    laptop2 = reviewer(tmp_path / "laptop2", "ava@example.com", "model", "Ava")
    add_device(team.root, team.ava, laptop2)
    decider(laptop2, dt.datetime(2099, 1, 1, tzinfo=dt.UTC)).decide(
        Workspace.open(team.root), LOOK1, "approve"
    )
    team.decide(team.ava, LOOK1, "reject", reasons=["likeness_wrong"])
    assert state_of(team.root) is not State.CLEARED
    assert "out_of_order" in kinds(verify_json(team.root, capsys))


def test_logs_copied_into_another_workspace_clear_nothing_there(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team.decide(team.ava, LOOK1, "approve")
    team.decide(team.kim, LOOK1, "approve")
    assert state_of(team.root) is State.CLEARED
    # A second workspace with the same people and the same image.
    other = build_workspace(tmp_path / "other")
    enroll(other, team.ava, ("ava",))
    enroll(other, team.kim, ("ava",))
    (other / "logs").mkdir(exist_ok=True)
    for log in (team.root / "logs").glob("*.dlog"):
        shutil.copy(log, other / "logs" / f"copied-{log.name}")
    assert state_of(other) is not State.CLEARED
    assert "replayed" in kinds(verify_json(other, capsys))


def test_changing_the_sidecars_intended_use_after_approval(team: Team) -> None:
    sidecar = team.root / "assets/ava/look1.json"
    sidecar.write_text('{"intended_use": "ecommerce"}')
    team.decide(team.ava, LOOK1, "approve")
    team.decide(team.kim, LOOK1, "approve")
    assert state_of(team.root) is State.CLEARED
    sidecar.write_text('{"intended_use": "billboard"}')
    assert state_of(team.root) is State.PENDING


def test_a_conflict_copy_in_logs_is_reported(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    team.decide(team.ava, LOOK1, "reject", reasons=["quality"])
    log = log_of(team.root, "ava@example.com")
    shutil.copy(log, log.with_name(log.name + ".conflict"))  # a copy of the log: merged, named
    (log.parent / "notes.txt").write_text("not a log")  # anything else: named, not counted
    found = kinds(verify_json(team.root, capsys))
    assert {"sync_conflict", "not_a_log"} <= found


# --- helpers --------------------------------------------------------------------------------


def _forge_log(root: Path, keys: KeyService, role: str, asset: str) -> None:
    """A log signed by ``keys`` that claims the current roster head (as a real device would)."""
    from twinreview.core.roster.log import SignedRoster

    ident, key = keys.signer()
    roster = SignedRoster.load(root / "roster")
    head = roster.head
    assert head is not None
    writer = LogWriter(
        root / "logs" / f"forged-{key.public.fp16}.dlog",
        key,
        ident.principal,
        role,
        context=lambda: {
            "ws": roster.workspace_id,
            "roster": {"seq": head[0], "hash": head[1]},
            "heads": [],
        },
    )
    sha = __import__("hashlib").sha256((root / asset).read_bytes()).hexdigest()
    writer.append(
        "decision",
        {
            "asset": asset,
            "sha256": sha,
            "phash": None,
            "model": asset.split("/")[1],
            "decision": "approve",
            "reasons": [],
            "note": "",
            "findings": [],
            "override": False,
            "sidecar_sha256": None,
        },
    )


def _sign_with_old_head(team: Team, keys: KeyService, asset: str) -> None:
    """Sign a decision into ``keys``' own log naming the roster head from before its revocation."""
    from twinreview.core.roster.log import SignedRoster

    ident, key = keys.signer()
    roster = SignedRoster.load(team.root / "roster")
    old = roster.states[-2]
    writer = LogWriter.for_workspace(
        team.root,
        key,
        ident.principal,
        "agent",
        context=lambda: {
            "ws": roster.workspace_id,
            "roster": {"seq": old.seq, "hash": old.head_hash},
            "heads": [],
        },
    )
    sha = __import__("hashlib").sha256((team.root / asset).read_bytes()).hexdigest()
    writer.append(
        "decision",
        {
            "asset": asset,
            "sha256": sha,
            "phash": None,
            "model": "ava",
            "decision": "approve",
            "reasons": [],
            "note": "",
            "findings": [],
            "override": False,
            "sidecar_sha256": None,
        },
    )


def _append_roster_entry_unchecked(
    team: Team, key: Any, principal: str, kind: str, fields: dict[str, Any]
) -> None:
    """What a hostile writer can do: sign any entry with their own key and append it."""
    from twinreview.core.logs.log import line_hash
    from twinreview.core.roster.log import SignedRoster
    from twinreview.core.roster.write import build_roster_line

    path = team.root / "roster" / "roster.dlog"
    roster = SignedRoster.load(team.root / "roster")
    state = roster.current
    assert state is not None
    _, line = build_roster_line(
        key,
        principal,
        seq=state.seq + 1,
        prev=state.head_hash,
        ts=T0,
        kind=kind,
        fields=fields,
        workspace_id=roster.workspace_id,
    )
    assert line_hash(line)
    with path.open("ab") as fh:
        fh.write(line)


# --- the roster's own robustness ---------------------------------------------------------


def test_an_admin_cannot_add_a_key_to_the_model_to_sign_as_her(team: Team, tmp_path: Path) -> None:
    kim = team.kim.current()
    assert kim is not None
    roster_service(owner_of(team.root)).set_admin(team.root, kim.principal, True)
    impostor = reviewer(tmp_path / "impostor", "ava@example.com", "model", "Ava")
    key = impostor.current().public_key  # type: ignore[union-attr]
    with pytest.raises(RosterAdminError, match="only the model herself"):
        roster_service(team.kim).add_person(
            team.root, Person("ava@example.com", "Ava", "model", ("ava",)), key
        )
    with pytest.raises(RosterAdminError, match="roster reset"):
        roster_service(owner_of(team.root)).add_person(
            team.root, Person("ava@example.com", "Ava", "model", ("ava",)), key
        )
    # She can, from a device she has.
    roster_service(team.ava).add_person(
        team.root, Person("ava@example.com", "Ava", "model", ("ava",)), key
    )


def test_consent_does_not_come_back_with_a_re_added_model(team: Team) -> None:
    ava = team.ava.current()
    assert ava is not None
    owner = roster_service(owner_of(team.root))
    owner.remove_person(team.root, ava.principal)
    owner.reset_model(team.root, ava.principal, ava.public_key)
    rep = compute_status(Workspace.open(team.root))
    look = rep.get(LOOK1)
    assert look is not None
    assert "waiting for the model's consent" in " ".join(look.evaluation.problems)


def test_a_torn_roster_tail_blocks_until_it_is_set_aside(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    roster_log = team.root / "roster" / "roster.dlog"
    team.decide(team.ava, LOOK1, "approve")
    team.decide(team.kim, LOOK1, "approve")
    with roster_log.open("ab") as fh:
        fh.write(b'{"payload": "eyJ2Ijo')  # an append that never finished, or a damaged change
    assert state_of(team.root) is State.BLOCKED
    assert "torn_tail" in kinds(verify_json(team.root, capsys))
    roster_service(owner_of(team.root)).set_policy(team.root)  # the next change recovers
    assert list(roster_log.parent.glob("roster.dlog.torn-*"))
    assert verify_json(team.root, capsys)["ok"]
    assert state_of(team.root) is State.CLEARED


def test_an_unauthorised_roster_line_can_be_set_aside_by_the_owner(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    ident, key = team.kim.signer()
    loose = {"policy": {"disclosure": {"approvable": ["missing"]}}}
    _append_roster_entry_unchecked(team, key, ident.principal, "policy", loose)
    assert state_of(team.root) is State.BLOCKED
    with pytest.raises(RosterAdminError, match="only the owner or an admin"):
        roster_service(team.kim).set_aside_bad_lines(team.root)
    moved = roster_service(owner_of(team.root)).set_aside_bad_lines(team.root)
    assert moved is not None
    assert moved.name.startswith("roster.dlog.rejected-")
    doc = verify_json(team.root, capsys)
    assert doc["ok"], doc["problems"]
    team.decide(team.ava, LOOK1, "approve")
    team.decide(team.kim, LOOK1, "approve")
    assert state_of(team.root) is State.CLEARED


def test_a_lost_models_log_is_accepted_by_her_alone(
    team: Team,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    team.decide(team.ava, LOOK2, "approve")
    team.decide(team.kim, LOOK1, "approve")  # Kim's device saw Ava's log
    log = log_of(team.root, "ava@example.com")
    fp = team.ava.current().public_key.fingerprint  # type: ignore[union-attr]
    log.unlink()  # her laptop was lost before it synced again
    fresh_device(monkeypatch, tmp_path)
    assert state_of(team.root) is State.BLOCKED
    for who in (team.kim, owner_of(team.root)):
        with pytest.raises(RosterAdminError, match="only she"):
            roster_service(who).accept_head(team.root, fp)
    # Her new laptop: her only key is gone, so the owner resets her key (everyone sees it); with
    # it she accepts that her old log is gone, and gives her consent again (only she can).
    laptop = reviewer(tmp_path / "new-laptop", "ava@example.com", "model", "Ava")
    owner = roster_service(owner_of(team.root))
    owner.reset_model(team.root, "ava@example.com", laptop.current().public_key)  # type: ignore[union-attr]
    roster_service(laptop).accept_head(team.root, fp)
    doc = verify_json(team.root, capsys)
    assert doc["ok"]
    assert {"accepted_gap", "model_reset"} <= kinds(doc)
    sign_consent(team.root, laptop, "ava")
    team.decide(laptop, LOOK1, "approve")
    assert state_of(team.root) is State.CLEARED
