"""An agent's throughput (issue 11): batch decisions on the command line, and withdrawing one."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from decision_helpers import T0, build_workspace, decider, enroll, reviewer
from twinreview.cli.main import run_command
from twinreview.core.approval.policy import State
from twinreview.core.logs.verify import verify_workspace
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionError
from twinreview.services.keys import KeyService
from twinreview.services.scan.history import rejected_assets
from twinreview.services.status import compute_status

# Faces are not under test here (tests/test_faces*.py are about them).
pytestmark = pytest.mark.usefixtures("no_faces")

LOOK1 = "assets/ava/look1.jpg"
LOOK2 = "assets/ava/spring/look2.jpg"


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, KeyService, KeyService]:
    root = build_workspace(tmp_path / "ws")
    ava = reviewer(tmp_path / "d", "ava@example.com", "model")
    kim = reviewer(tmp_path / "d", "kim@agency.example", "agent")
    enroll(root, ava, ("ava",))
    enroll(root, kim, ("ava", "ben"))
    return root, ava, kim


def state(root: Path, asset: str = LOOK1) -> State:
    found = compute_status(Workspace.open(root)).get(asset)
    assert found is not None
    return found.state


def test_a_withdrawn_approval_leaves_the_asset_undecided(
    team: tuple[Path, KeyService, KeyService],
) -> None:
    root, ava, kim = team
    decider(ava, T0).decide(Workspace.open(root), LOOK1, "approve")
    decider(kim, T0).decide(Workspace.open(root), LOOK1, "approve")
    assert state(root) is State.CLEARED
    entry = decider(ava, T0).withdraw(Workspace.open(root), LOOK1, note="wrong image, sorry")
    assert entry.kind == "withdraw"
    assert entry.payload["withdraws"]["seq"] == 1
    found = compute_status(Workspace.open(root)).get(LOOK1)
    assert found is not None
    assert found.state is State.PENDING
    assert found.evaluation.missing_roles == ("model",)
    assert [d.decision for d in found.history if d.principal == "ava@example.com"] == [
        "approve",
        "withdraw",
    ]
    assert verify_workspace(root).ok
    # Deciding again afterwards counts as usual.
    decider(ava, T0).decide(Workspace.open(root), LOOK1, "approve")
    assert state(root) is State.CLEARED


def test_a_withdrawn_reject_lifts_the_rejection_and_the_resubmission_warning(
    team: tuple[Path, KeyService, KeyService],
) -> None:
    root, ava, _ = team
    decider(ava, T0).decide(Workspace.open(root), LOOK1, "reject", reasons=["quality"])
    assert state(root) is State.REJECTED
    assert rejected_assets(verify_workspace(root))
    decider(ava, T0).withdraw(Workspace.open(root), LOOK1)
    assert state(root) is State.PENDING
    assert not rejected_assets(verify_workspace(root))


def test_only_a_decision_of_your_own_can_be_withdrawn(
    team: tuple[Path, KeyService, KeyService],
) -> None:
    root, ava, kim = team
    decider(kim, T0).decide(Workspace.open(root), LOOK1, "approve")
    with pytest.raises(DecisionError, match="no decision about it to withdraw"):
        decider(ava, T0).withdraw(Workspace.open(root), LOOK1)
    decider(kim, T0).withdraw(Workspace.open(root), LOOK1)
    with pytest.raises(DecisionError, match="already withdrawn"):
        decider(kim, T0).withdraw(Workspace.open(root), LOOK1)


def _cli(keys: KeyService, *argv: str) -> int:
    from twinreview.cli import decide_cmd

    parser = argparse.ArgumentParser(prog="twinreview")
    decide_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return run_command(lambda a: decide_cmd.cmd_decide(a, keys, decide_cmd.scan_once()), args)


def test_batch_on_the_command_line_signs_one_entry_per_asset(
    team: tuple[Path, KeyService, KeyService],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, _, kim = team
    listing = tmp_path / "todo.txt"
    listing.write_text(f"{LOOK2}\n\nassets/ben/look1.jpg\n")
    code = _cli(
        kim,
        "decide",
        str(root),
        LOOK1,
        "--from-file",
        str(listing),
        "--reject",
        "--reason",
        "quality",
        "--note",
        "round 2",
    )
    assert code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert out.count("rejected (not good enough)") == 3
    report = verify_workspace(root)
    decisions = [e for e in report.entries if e.kind == "decision"]
    assert sorted(e.payload["asset"] for e in decisions) == sorted(
        [LOOK1, LOOK2, "assets/ben/look1.jpg"]
    )
    assert len({e.seq for e in decisions}) == 3  # each its own signed entry
    # A batch with one bad path signs the others and says so.
    code = _cli(kim, "decide", str(root), LOOK1, "assets/ava/nope.jpg", "--withdraw")
    assert code == 2
    captured = capsys.readouterr()
    assert "withdrawn: assets/ava/look1.jpg" in captured.out
    assert "not every decision was signed" in captured.err
