"""A model's consent names its terms: uses, purpose, end date, pay terms, exclusions, roles.

Each term through the command line, each refusal in one line with nothing signed, and what her
terms refuse at approval time (a use she did not list, content she excluded), in her words.
Consents signed before the terms existed keep working, shown as "no purpose recorded".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from decision_helpers import build_workspace, decider, enroll, reviewer, roster_service
from twinreview.cli import decide_cmd, roster_cmd
from twinreview.cli.main import run_command
from twinreview.core.approval.policy import State
from twinreview.core.roster.log import SignedRoster
from twinreview.core.workspace import Workspace
from twinreview.services.keys import KeyService
from twinreview.services.roster_admin import RosterService
from twinreview.services.status import compute_status
from twinreview.services.trust import TrustStore, Verifier

# Faces are not under test here (tests/test_faces*.py are about them).
pytestmark = pytest.mark.usefixtures("no_faces")

LOOK1 = "assets/ava/look1.jpg"
LOOK2 = "assets/ava/spring/look2.jpg"
TOML = """\
[disclosure]
approvable = ["disclosed", "partial", "missing"]
"""


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.root = build_workspace(tmp_path / "ws")
        (self.root / "twinreview.toml").write_text(TOML)
        self.ava = reviewer(tmp_path / "people", "ava@example.com", "model", "Ava")
        self.sam = reviewer(tmp_path / "people", "sam@agency.example", "agent", "Sam")
        enroll(self.root, self.ava, ("ava",), consent=False)
        enroll(self.root, self.sam, ("ava",))
        parser = argparse.ArgumentParser(prog="twinreview")
        sub = parser.add_subparsers(dest="command")
        roster_cmd.register(sub)
        decide_cmd.register(sub)
        self.parser = parser

    def consent(self, *argv: str, who: KeyService | None = None) -> int:
        args = self.parser.parse_args(["consent", str(self.root), "--model", "ava", *argv])
        keys = who or self.ava
        args.service_factory = lambda need_key=True: RosterService(
            keys if need_key else None, TrustStore.default(), Verifier.default()
        )
        return run_command(args.func, args)

    def show(self) -> dict[str, Any]:
        state = SignedRoster.load(self.root / "roster").current
        assert state is not None
        consent = state.consent_for("ava")
        return consent.to_json() if consent is not None else {}

    def approve(self, keys: KeyService, rel: str) -> int:
        args = self.parser.parse_args(["decide", str(self.root), rel, "--approve", "--override"])
        return decide_cmd.cmd_decide(args, keys, decide_cmd.scan_once())

    def sidecar(self, rel: str, **fields: object) -> None:
        (self.root / rel).with_suffix(".json").write_text(json.dumps(fields))


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


FULL = (
    "--uses",
    "ecommerce,social",
    "--purpose",
    "Spring 2027 e-commerce for Brand X",
    "--expires",
    "2099-06-30",
)


@pytest.mark.parametrize(
    ("leave_out", "named"),
    [
        ("--uses", "--uses a,b"),
        ("--purpose", "--purpose TEXT"),
        ("--expires", "--expires YYYY-MM-DD or --no-expiry"),
    ],
)
def test_each_required_term_left_out_is_refused_in_one_line(
    setup: Setup, capsys: pytest.CaptureFixture[str], leave_out: str, named: str
) -> None:
    argv = list(FULL)
    i = argv.index(leave_out)
    del argv[i : i + 2]
    before = (setup.root / "roster" / "roster.dlog").read_bytes()
    assert setup.consent(*argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "nothing is assumed" in err
    assert (setup.root / "roster" / "roster.dlog").read_bytes() == before


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        (("--no-expiry",), "not both"),
        (("--require", "agent"), "must include model"),
        (("--require", "model,boss"), "unknown role 'boss'"),
        (("--exclude", "social"), "'social' is both an allowed use and excluded content"),
    ],
)
def test_contradictory_terms_are_refused_in_one_line(
    setup: Setup, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], why: str
) -> None:
    before = (setup.root / "roster" / "roster.dlog").read_bytes()
    assert setup.consent(*FULL, *extra) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and why in err
    assert (setup.root / "roster" / "roster.dlog").read_bytes() == before


def test_an_end_date_in_the_past_is_refused(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*FULL[:4], "--expires", "2020-01-31"]
    assert setup.consent(*argv) == 2
    assert "2020-01-31 has already passed" in capsys.readouterr().err


def test_every_term_is_signed_and_shown(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    code = setup.consent(
        *FULL,
        "--pay-terms",
        "Contract BX-2027-114",
        "--exclude",
        "Nudity, political,alcohol",
        "--require",
        "model,agent,brand",
    )
    assert code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert 'for "Spring 2027 e-commerce for Brand X"' in out
    assert "excluded: nudity, political, alcohol" in out
    c = setup.show()
    assert c["uses"] == ["ecommerce", "social"]
    assert c["purpose"] == "Spring 2027 e-commerce for Brand X"
    assert c["expires"] == "2099-06-30" and c["no_expiry"] is False
    assert c["pay_terms"] == "Contract BX-2027-114"
    assert c["exclude"] == ["nudity", "political", "alcohol"]
    assert c["require"] == ["model", "agent", "brand"]
    roster = SignedRoster.load(setup.root / "roster")
    line = next(e for e in roster.entries if e.kind == "consent")
    assert c["entry_hash"] == line.line_hash  # a published file names this hash


def test_no_end_date_only_by_choice_and_shown_as_such(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    assert setup.consent(*FULL[:4], "--no-expiry") == 0
    assert "with no end date (your choice)" in capsys.readouterr().out
    c = setup.show()
    assert c["expires"] is None and c["no_expiry"] is True
    args = setup.parser.parse_args(["roster", "show", str(setup.root)])
    assert run_command(args.func, args) == 0
    shown = capsys.readouterr().out
    assert "consent ava: uses ecommerce, social, no end date (her choice)" in shown
    assert 'for "Spring 2027 e-commerce for Brand X"' in shown


def test_only_she_signs_it(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert setup.consent(*FULL, who=setup.sam) == 1
    assert "only she can give or change her consent" in capsys.readouterr().err


def test_a_consent_signed_before_the_terms_keeps_working(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    """Signed with uses, end date and roles only: still clears, shown as no purpose recorded."""
    roster_service(setup.ava).consent(setup.root, "ava", uses=None, expires=None)
    for who in (setup.ava, setup.sam):
        decider(who).decide(Workspace.open(setup.root), LOOK1, "approve")
    status = compute_status(Workspace.open(setup.root))
    assert status.get(LOOK1).state is State.CLEARED  # type: ignore[union-attr]
    args = setup.parser.parse_args(["roster", "show", str(setup.root)])
    assert run_command(args.func, args) == 0
    shown = capsys.readouterr().out
    assert "consent ava: any use, no end date recorded" in shown
    assert "no purpose recorded" in shown


@pytest.mark.parametrize(
    ("sidecar", "words"),
    [
        (
            {"intended_use": "billboard"},
            "The model did not agree to the use 'billboard': she allowed ecommerce, social. "
            'She gave it for "Spring 2027 e-commerce for Brand X".',
        ),
        (
            {"intended_use": "ecommerce", "categories": ["swimwear", "Alcohol"]},
            "The model excluded 'alcohol' from her consent, and this asset's sidecar lists it "
            'among its categories. She gave it for "Spring 2027 e-commerce for Brand X".',
        ),
        (
            {"categories": ["swimwear"]},
            "this asset does not say what it is for (no intended_use in its sidecar)",
        ),
    ],
)
def test_what_her_terms_exclude_cannot_be_approved_and_says_why_in_her_words(
    setup: Setup, capsys: pytest.CaptureFixture[str], sidecar: dict[str, Any], words: str
) -> None:
    assert setup.consent(*FULL, "--exclude", "alcohol,nudity") == 0
    setup.sidecar(LOOK1, **sidecar)
    logs_before = sorted(p.name for p in (setup.root / "logs").rglob("*.dlog"))
    sizes = {p: p.stat().st_size for p in (setup.root / "logs").rglob("*.dlog")}
    capsys.readouterr()
    assert setup.approve(setup.ava, LOOK1) == 1
    err = capsys.readouterr().err
    assert f"twinreview: {LOOK1} cannot be approved: " in err and words in err
    assert sorted(p.name for p in (setup.root / "logs").rglob("*.dlog")) == logs_before
    assert {p: p.stat().st_size for p in sizes} == sizes  # nothing signed
    # Signed anyway (by a tool that skips the check): the status blocks it, in her words.
    for who in (setup.ava, setup.sam):
        decider(who).decide(Workspace.open(setup.root), LOOK1, "approve")
    found = compute_status(Workspace.open(setup.root)).get(LOOK1)
    assert found is not None and found.state is State.BLOCKED
    assert words in " ".join(found.evaluation.problems)


def test_an_allowed_use_without_excluded_content_is_approved(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    assert setup.consent(*FULL, "--exclude", "alcohol") == 0
    setup.sidecar(LOOK2, intended_use="social", categories=["swimwear"])
    assert setup.approve(setup.ava, LOOK2) == 0, capsys.readouterr().err
    assert setup.approve(setup.sam, LOOK2) == 0, capsys.readouterr().err
    found = compute_status(Workspace.open(setup.root)).get(LOOK2)
    assert found is not None and found.state is State.CLEARED


def test_withdraw_needs_no_terms(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert setup.consent(*FULL) == 0
    args = setup.parser.parse_args(["consent", str(setup.root), "--model", "ava", "--withdraw"])
    args.service_factory = lambda need_key=True: RosterService(
        setup.ava, TrustStore.default(), Verifier.default()
    )
    assert run_command(args.func, args) == 0
    assert setup.show() == {} or setup.show()["withdrawn"] is True


def test_the_roster_refuses_malformed_terms(setup: Setup) -> None:
    from twinreview.core.roster.model import RosterLogError

    svc = roster_service(setup.ava)
    with pytest.raises(Exception, match="not both"):
        svc.consent(setup.root, "ava", uses=["web"], expires=dt.date(2099, 1, 1), no_expiry=True)
    from twinreview.core.approval.consent import parse_terms

    for bad in (
        {"purpose": 3},
        {"exclude": "nudity"},
        {"no_expiry": "yes"},
        {"no_expiry": True, "expires": "2099-01-01"},
        {"purpose": "x" * 1001},
    ):
        with pytest.raises(RosterLogError):
            parse_terms(bad)
