"""Status over real signed logs: cleared, pending, rejected, blocked; merging; tampering."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from decision_helpers import (
    T0,
    add_device,
    build_workspace,
    decider,
    enroll,
    owner_of,
    reviewer,
    sign_consent,
)
from twinreview.core.approval.policy import State
from twinreview.core.logs.log import Entry
from twinreview.core.workspace import Workspace
from twinreview.services.keys import KeyService
from twinreview.services.status import compute_status

LOOK1 = "assets/ava/look1.jpg"
LOOK2 = "assets/ava/spring/look2.jpg"
BEN1 = "assets/ben/look1.jpg"
NOW = T0 + dt.timedelta(days=1)


class Team:
    def __init__(self, home: Path, ws_root: Path) -> None:
        self.ava = reviewer(home, "ava@example.com", "model", "Ava Stone")
        self.ben = reviewer(home, "ben@example.com", "model", "Ben Rowe")
        self.agent = reviewer(home, "kim@agency.example", "agent", "Kim Agent")
        self.brand = reviewer(home, "bo@brand.example", "brand", "Bo Brand")
        enroll(ws_root, self.ava, ("ava",))
        enroll(ws_root, self.ben, ("ben",))
        enroll(ws_root, self.agent, ("ava", "ben"))
        enroll(ws_root, self.brand, ("ava", "ben"))


@pytest.fixture
def ws_root(tmp_path: Path) -> Path:
    return build_workspace(tmp_path / "ws")


@pytest.fixture
def team(tmp_path: Path, ws_root: Path) -> Team:
    return Team(tmp_path / "devices", ws_root)


def status(ws_root: Path, now: dt.datetime = NOW):  # type: ignore[no-untyped-def]
    return compute_status(Workspace.open(ws_root), now=now)


def decide(keys: KeyService, ws_root: Path, asset: str, verdict: str, **kw: object) -> Entry:
    start = kw.pop("start", T0)
    assert isinstance(start, dt.datetime)
    return decider(keys, start).decide(Workspace.open(ws_root), asset, verdict, **kw)  # type: ignore[arg-type]


def test_nothing_decided_everything_pending(ws_root: Path, team: Team) -> None:
    rep = status(ws_root)
    assert [a.path for a in rep.assets] == [LOOK1, LOOK2, BEN1, "assets/ben/look2.jpg"]
    assert all(a.state is State.PENDING for a in rep.assets)
    assert rep.get(LOOK1).evaluation.missing_roles == ("model", "agent")  # type: ignore[union-attr]
    assert rep.counts() == {"cleared": 0, "pending": 4, "rejected": 0, "blocked": 0}
    assert rep.verification_ok


def test_model_and_agent_clear_one_asset(ws_root: Path, team: Team) -> None:
    decide(team.ava, ws_root, LOOK1, "approve")
    decide(team.agent, ws_root, LOOK1, "approve")
    decide(team.agent, ws_root, LOOK2, "approve", start=T0 + dt.timedelta(hours=1))
    rep = status(ws_root)
    assert rep.get(LOOK1).state is State.CLEARED  # type: ignore[union-attr]
    look2 = rep.get(LOOK2)
    assert look2 is not None
    assert look2.state is State.PENDING
    assert look2.evaluation.missing_roles == ("model",)
    assert rep.get(BEN1).state is State.PENDING  # type: ignore[union-attr]


def test_reject_names_who_and_why(ws_root: Path, team: Team) -> None:
    decide(team.agent, ws_root, LOOK2, "approve")
    decide(team.ava, ws_root, LOOK2, "reject", reasons=["likeness_wrong"], note="not my smile")
    a = status(ws_root).get(LOOK2)
    assert a is not None
    assert a.state is State.REJECTED
    (r,) = a.evaluation.rejections
    assert (r.principal, r.role, r.reasons, r.note) == (
        "ava@example.com",
        "model",
        ("likeness_wrong",),
        "not my smile",
    )
    assert "ava@example.com (not the right person)" in a.evaluation.summary()


def test_latest_decision_of_a_principal_wins(ws_root: Path, team: Team) -> None:
    decide(team.agent, ws_root, LOOK1, "approve")
    svc = decider(team.ava, T0)
    ws = Workspace.open(ws_root)
    svc.decide(ws, LOOK1, "reject", reasons=["quality"])
    svc.decide(ws, LOOK1, "approve")
    a = status(ws_root).get(LOOK1)
    assert a is not None
    assert a.state is State.CLEARED
    assert [d.decision for d in a.history if d.principal == "ava@example.com"] == [
        "reject",
        "approve",
    ]


def test_changed_file_needs_new_decisions(ws_root: Path, team: Team) -> None:
    decide(team.ava, ws_root, LOOK1, "approve")
    decide(team.agent, ws_root, LOOK1, "approve")
    assert status(ws_root).get(LOOK1).state is State.CLEARED  # type: ignore[union-attr]
    path = ws_root / LOOK1
    path.write_bytes(path.read_bytes() + b"\0")  # someone swapped the bytes after approval
    a = status(ws_root).get(LOOK1)
    assert a is not None
    assert a.state is State.PENDING
    assert a.evaluation.missing_roles == ("model", "agent")
    assert {d.principal for d in a.evaluation.stale} == {"ava@example.com", "kim@agency.example"}


def test_consent_expiry_and_uses_from_model_toml(tmp_path: Path) -> None:
    root = build_workspace(
        tmp_path / "ws",
        ava_toml='display_name = "Ava"\n[consent]\nexpires = 2026-03-10\n'
        'allowed_uses = ["ecommerce"]\n',
    )
    team = Team(tmp_path / "devices", root)
    (root / "assets/ava/look1.json").write_text(json.dumps({"intended_use": "ecommerce"}))
    (root / "assets/ava/spring/look2.json").write_text(json.dumps({"intended_use": "billboard"}))
    for asset in (LOOK1, LOOK2):
        decide(team.ava, root, asset, "approve")
        decide(team.agent, root, asset, "approve")
    before = status(root, now=dt.datetime(2026, 3, 10, 23, 59, tzinfo=dt.UTC))
    assert before.get(LOOK1).state is State.CLEARED  # type: ignore[union-attr]
    look2 = before.get(LOOK2)
    assert look2 is not None
    assert look2.state is State.BLOCKED
    assert look2.evaluation.blocked_by == "policy"
    assert "'billboard'" in look2.evaluation.problems[0]
    # Ben's policy is the default: unaffected.
    assert before.policies["ben"].allowed_uses is None  # type: ignore[union-attr]

    after = status(root, now=dt.datetime(2026, 3, 11, 0, 1, tzinfo=dt.UTC))
    look1 = after.get(LOOK1)
    assert look1 is not None
    assert look1.state is State.BLOCKED
    assert look1.evaluation.problems[0] == "The model's consent ran until 2026-03-10 (UTC)."


def test_model_without_signed_consent_blocks_only_that_model(tmp_path: Path) -> None:
    # A [consent] table in model.toml is no consent: only the entry she signs counts.
    root = build_workspace(tmp_path / "ws", ava_toml="[consent]\nallowed_uses = ['print']\n")
    ava = reviewer(tmp_path / "devices", "ava@example.com", "model")
    ben = reviewer(tmp_path / "devices", "ben@example.com", "model")
    enroll(root, ava, ("ava",), consent=False)
    enroll(root, ben, ("ben",))
    enroll(root, reviewer(tmp_path / "devices", "kim@agency.example", "agent"), ("ava", "ben"))
    rep = status(root)
    a = rep.get(LOOK1)
    assert a is not None
    assert a.state is State.BLOCKED
    assert "waiting for the model's consent" in a.evaluation.problems[0]
    assert rep.get(BEN1).state is State.PENDING  # type: ignore[union-attr]
    assert "error" in rep.to_json()["policies"]["ava"]
    sign_consent(root, ava, "ava", uses=None)
    assert status(root).get(LOOK1).state is State.PENDING  # type: ignore[union-attr]


def test_brand_required_by_the_models_consent(ws_root: Path, team: Team) -> None:
    # The plain file's workspace-wide [consent] is ignored...
    (ws_root / "twinreview.toml").write_text(
        '[consent]\nrequired_roles = ["model", "agent", "brand"]\n'
    )
    decide(team.ava, ws_root, LOOK1, "approve")
    decide(team.agent, ws_root, LOOK1, "approve")
    assert status(ws_root).get(LOOK1).state is State.CLEARED  # type: ignore[union-attr]
    # ...the model's own signed consent decides who must approve.
    sign_consent(ws_root, team.ava, "ava", require=["model", "agent", "brand"])
    a = status(ws_root).get(LOOK1)
    assert a is not None
    assert a.evaluation.missing_roles == ("brand",)
    decide(team.brand, ws_root, LOOK1, "approve")
    assert status(ws_root).get(LOOK1).state is State.CLEARED  # type: ignore[union-attr]


def test_logs_merged_from_two_laptops(tmp_path: Path, ws_root: Path, team: Team) -> None:
    decide(team.ava, ws_root, LOOK1, "reject", reasons=["quality"])
    # Ava's second laptop, enrolled with its own key, approves later.
    laptop2 = reviewer(tmp_path / "laptop2", "ava@example.com", "model", "Ava Stone")
    add_device(ws_root, team.ava, laptop2)
    decide(laptop2, ws_root, LOOK1, "approve", start=T0 + dt.timedelta(hours=2))
    decide(team.agent, ws_root, LOOK1, "approve")
    # A copy of the first laptop's log arrives from a sync folder: counted once, no fork.
    logs = ws_root / "logs"
    (logs / "from-sync").mkdir()
    first = sorted(logs.glob("ava@example.com--*.dlog"))
    assert len(first) == 2
    for f in first:
        shutil.copy(f, logs / "from-sync" / f.name)
    rep = status(ws_root)
    assert rep.verification_ok, rep.problems
    a = rep.get(LOOK1)
    assert a is not None
    assert a.state is State.CLEARED
    assert len(a.history) == 3


def _rewrite_line(path: Path, lineno: int, edit: dict[str, object]) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    outer = json.loads(lines[lineno - 1])
    payload = json.loads(base64.b64decode(outer["payload"]))
    payload.update(edit)
    outer["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    lines[lineno - 1] = (json.dumps(outer) + "\n").encode()
    path.write_bytes(b"".join(lines))


def _log_of(ws_root: Path, principal: str) -> Path:
    (path,) = sorted((ws_root / "logs").glob(f"{principal}--*.dlog"))
    return path


def test_tampered_reject_blocks_instead_of_clearing(ws_root: Path, team: Team) -> None:
    decide(team.agent, ws_root, LOOK1, "approve")
    decide(team.ava, ws_root, LOOK1, "reject", reasons=["likeness_wrong"])
    decide(team.ben, ws_root, BEN1, "approve")
    decide(team.agent, ws_root, BEN1, "approve", start=T0 + dt.timedelta(hours=1))
    # Someone turns Ava's reject into an approval by editing the payload.
    _rewrite_line(_log_of(ws_root, "ava@example.com"), 2, {"decision": "approve", "reasons": []})
    rep = status(ws_root)
    assert not rep.verification_ok
    a = rep.get(LOOK1)
    assert a is not None
    assert a.state is State.BLOCKED
    assert a.evaluation.blocked_by == "verification"
    assert any("bad_signature" in p for p in a.evaluation.problems)
    # Ava's log has no say over Ben's assets: those stay as they were.
    assert rep.get(BEN1).state is State.CLEARED  # type: ignore[union-attr]


def test_deleted_reject_line_blocks_every_asset_the_signer_decides_on(
    ws_root: Path, team: Team
) -> None:
    decide(team.ava, ws_root, LOOK1, "approve")
    ws = Workspace.open(ws_root)
    svc = decider(team.agent, T0)
    svc.decide(ws, LOOK1, "reject", reasons=["no_disclosure"])
    svc.decide(ws, BEN1, "approve")
    log = _log_of(ws_root, "kim@agency.example")
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + lines[2])  # drop the reject; the chain breaks at the next line
    rep = status(ws_root)
    for path in (LOOK1, LOOK2, BEN1):
        a = rep.get(path)
        assert a is not None
        assert a.state is State.BLOCKED, path
        assert "broken_chain" in a.evaluation.problems[0]


def test_an_unreadable_end_blocks_the_models_its_log_decides_for(ws_root: Path, team: Team) -> None:
    decide(team.ava, ws_root, LOOK1, "approve")
    decide(team.agent, ws_root, LOOK1, "approve")
    with _log_of(ws_root, "ava@example.com").open("ab") as fh:
        fh.write(b'{"payload": "eyJ2Ijo')  # perhaps an interrupted append, perhaps her reject
    rep = status(ws_root)
    assert not rep.verification_ok
    look = rep.get(LOOK1)
    assert look is not None and look.state is State.BLOCKED
    assert "cannot be read" in " ".join(look.evaluation.problems)


def test_a_whole_entry_without_its_newline_counts(ws_root: Path, team: Team) -> None:
    decide(team.ava, ws_root, LOOK1, "approve")
    decide(team.agent, ws_root, LOOK1, "approve")
    log = _log_of(ws_root, "ava@example.com")
    log.write_bytes(log.read_bytes()[:-1])
    rep = status(ws_root)
    assert not rep.verification_ok  # reported
    assert rep.get(LOOK1).state is State.CLEARED  # type: ignore[union-attr]


def test_damaged_signed_roster_blocks_everything(ws_root: Path, team: Team) -> None:
    decide(team.ava, ws_root, LOOK1, "approve")
    decide(team.agent, ws_root, LOOK1, "approve")
    roster = ws_root / "roster" / "roster.dlog"
    lines = roster.read_bytes().splitlines(keepends=True)
    roster.write_bytes(b"".join(lines[:2] + lines[3:]))  # one roster entry deleted
    rep = status(ws_root)
    assert {a.state for a in rep.assets} == {State.BLOCKED}
    assert all(a.evaluation.blocked_by in ("verification", "policy") for a in rep.assets)


def test_garbage_in_a_roster_view_is_ignored_and_reported(ws_root: Path, team: Team) -> None:
    decide(team.ava, ws_root, LOOK1, "approve")
    decide(team.agent, ws_root, LOOK1, "approve")
    (ws_root / "roster" / "revoked").write_bytes(b"SSHKRL\n\0garbage")
    rep = status(ws_root)
    assert rep.get(LOOK1).state is State.CLEARED  # type: ignore[union-attr]
    assert any(p.kind == "view_edited" and "revoked" in p.message for p in rep.problems)


def test_models_taken_away_later_keep_earlier_decisions(ws_root: Path, team: Team) -> None:
    decide(team.ava, ws_root, LOOK1, "approve")
    decide(team.agent, ws_root, LOOK1, "approve")
    # A hand edit of the people.toml view changes nothing.
    people = ws_root / "roster" / "people.toml"
    text = people.read_text()
    assert 'models = ["ava", "ben"]' in text
    people.write_text(text.replace('models = ["ava", "ben"]', 'models = ["ben"]', 1))
    assert status(ws_root).get(LOOK1).state is State.CLEARED  # type: ignore[union-attr]
    # A signed change applies from then on: the agent's earlier approval still counts (it was
    # valid under the roster it was signed under), a new decision for Ava is refused.
    from twinreview.core.roster.write import RosterWriter
    from twinreview.services.decisions import DecisionError

    owner = owner_of(ws_root)
    ident, key = owner.signer()
    RosterWriter(ws_root / "roster", key, ident.principal).append(
        "update_person", {"person": "kim@agency.example", "models": ["ben"]}
    )
    a = status(ws_root).get(LOOK1)
    assert a is not None
    assert a.state is State.CLEARED
    with pytest.raises(DecisionError, match=r"does not allow kim@agency\.example"):
        decide(team.agent, ws_root, LOOK2, "approve")


def test_orphans_unknown_model_and_json(ws_root: Path, team: Team) -> None:
    decide(team.ava, ws_root, LOOK2, "reject", reasons=["quality"])
    (ws_root / LOOK2).unlink()
    stray = ws_root / "assets/zed/x.jpg"
    stray.parent.mkdir(parents=True)
    shutil.copy(ws_root / LOOK1, stray)
    rep = status(ws_root)
    assert [d.asset for d in rep.orphans] == [LOOK2]
    z = rep.get("assets/zed/x.jpg")
    assert z is not None
    assert z.state is State.BLOCKED
    assert "model 'zed' is not in this workspace" in z.evaluation.problems[0]
    doc = json.loads(json.dumps(rep.to_json()))
    assert doc["counts"]["blocked"] == 1
    assert doc["people"]["ava@example.com"] == "Ava Stone"
    assert doc["orphans"][0]["decision"] == "reject"
    paths = [a["path"] for a in doc["assets"]]
    assert paths == sorted(paths)


def test_a_subset_names_as_orphans_only_decisions_about_files_that_are_gone(
    ws_root: Path, team: Team
) -> None:
    """Statuses of a few assets (after a rescan) say the same as the whole workspace's: a
    decision about an asset that is here but not asked for is no orphan."""
    decide(team.ava, ws_root, LOOK1, "approve")
    decide(team.ava, ws_root, LOOK2, "reject", reasons=["quality"])
    (ws_root / LOOK2).unlink()
    ws = Workspace.open(ws_root)
    whole = compute_status(ws, now=NOW)
    look1 = [a for a in ws.iter_assets() if a.rel == LOOK1]
    others = [a for a in ws.iter_assets() if a.rel != LOOK1]
    part = compute_status(ws, now=NOW, assets=others)
    assert [d.asset for d in whole.orphans] == [LOOK2]
    assert [d.asset for d in part.orphans] == [LOOK2]
    assert [a.path for a in part.assets] == sorted(a.rel for a in others)
    mine = compute_status(ws, now=NOW, assets=look1)
    assert mine.assets == tuple(a for a in whole.assets if a.path == LOOK1)


def test_status_reads_only(ws_root: Path, team: Team) -> None:
    decide(team.ava, ws_root, LOOK1, "approve")
    before = {p: p.read_bytes() for p in ws_root.rglob("*") if p.is_file()}
    status(ws_root)
    after = {p: p.read_bytes() for p in ws_root.rglob("*") if p.is_file()}
    assert before == after


# --- the CLI -------------------------------------------------------------------------------------


def test_cli_status_json_and_table(
    ws_root: Path, team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    from twinreview.cli.main import main

    decide(team.ava, ws_root, LOOK1, "approve")
    decide(team.agent, ws_root, LOOK1, "approve")
    rejected = decide(team.ava, ws_root, LOOK2, "reject", reasons=["quality"], note="blurry hands")
    # The shared test clock ticks a minute per entry of the whole run: the day depends on it.
    day = str(rejected.payload["ts"])[:10]

    assert main(["status", str(ws_root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    states = {a["path"]: a["state"] for a in doc["assets"]}
    assert states == {
        LOOK1: "cleared",
        LOOK2: "rejected",
        BEN1: "pending",
        "assets/ben/look2.jpg": "pending",
    }
    look2 = next(a for a in doc["assets"] if a["path"] == LOOK2)
    assert look2["rejections"][0]["principal"] == "ava@example.com"
    assert look2["rejections"][0]["reasons"] == ["quality"]
    assert doc["verification"]["ok"] is True

    # Twice: the second run takes the hashes from the cache's stat fast path; same answer.
    for _ in range(2):
        assert main(["status", str(ws_root)]) == 0
        captured = capsys.readouterr()
        lines = captured.out.splitlines()
        row = next(ln for ln in lines if LOOK2 in ln)
        assert row.startswith("rejected")
        assert (
            f'by Ava Stone <ava@example.com> (model) on {day}: not good enough "blurry hands"'
            in row
        )
        assert next(ln for ln in lines if LOOK1 in ln).startswith("cleared")
        assert "needs approval from: model, agent" in next(ln for ln in lines if BEN1 in ln)
        assert "4 assets: 1 cleared, 2 pending, 1 rejected, 0 blocked" in captured.out
        assert captured.err == ""


def test_cli_status_reports_log_problems_and_bad_workspace(
    tmp_path: Path, ws_root: Path, team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    from twinreview.cli.main import main

    decide(team.ava, ws_root, LOOK1, "approve")
    _rewrite_line(_log_of(ws_root, "ava@example.com"), 2, {"note": "edited"})
    assert main(["status", str(ws_root)]) == 0
    captured = capsys.readouterr()
    assert "problem(s) in the decision logs" in captured.err
    assert next(ln for ln in captured.out.splitlines() if LOOK1 in ln).startswith("blocked")

    assert main(["status", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.startswith("twinreview: ")
