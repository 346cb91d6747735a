"""``twinreview roster migrate``: a workspace from before the signed roster becomes a signed one.

The old workspace had a plain roster (allowed_signers + people.toml) and decision logs whose
entries name no roster head. After the migration the people are on the signed roster, the old
decisions count as they were (the migration entry names every log's head), and each model must
sign her consent before anything of hers can be cleared.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from decision_helpers import T0, build_workspace, reviewer, roster_service, sign_consent
from twinreview.cli.main import main
from twinreview.core.approval.policy import State
from twinreview.core.logs.log import LogWriter
from twinreview.core.roster.people import Person, format_allowed_signer, format_people
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import AssetBytes, decision_fields
from twinreview.services.keys import KeyService
from twinreview.services.status import compute_status
from twinreview.services.trust import Verifier

LOOK1 = "assets/ava/look1.jpg"


def _legacy_decision(root: Path, keys: KeyService, asset: str, verdict: str, minute: int) -> None:
    """A decision as twinreview wrote them before the signed roster: no ws, roster or heads."""
    import hashlib

    ident, key = keys.signer()
    writer = LogWriter.for_workspace(
        root,
        key,
        ident.principal,
        ident.role,
        clock=lambda: T0 + dt.timedelta(minutes=minute),
    )
    data = (root / asset).read_bytes()
    writer.append(
        "decision",
        decision_fields(
            AssetBytes(asset, asset.split("/")[1], hashlib.sha256(data).hexdigest(), None),
            verdict,
            [] if verdict == "approve" else ["quality"],
            "",
            (),
            override=False,
        ),
    )


@pytest.fixture
def legacy(tmp_path: Path) -> tuple[Path, KeyService, KeyService, KeyService]:
    root = build_workspace(tmp_path / "ws")
    bo = reviewer(tmp_path / "d", "bo@brand.example", "brand", "Bo")
    ava = reviewer(tmp_path / "d", "ava@example.com", "model", "Ava")
    kim = reviewer(tmp_path / "d", "kim@agency.example", "agent", "Kim")
    # The plain roster as hand-written files (no authority until migrated).
    signers, people = [], []
    for keys, models in ((bo, ()), (ava, ("ava",)), (kim, ("ava", "ben"))):
        ident = keys.current()
        assert ident is not None
        signers.append(format_allowed_signer(ident.principal, ident.public_key) + "\n")
        people.append(Person(ident.principal, ident.display_name, ident.role, models))
    (root / "roster").mkdir(exist_ok=True)
    (root / "roster" / "allowed_signers").write_text("".join(signers))
    (root / "roster" / "people.toml").write_text(format_people(people))
    _legacy_decision(root, ava, LOOK1, "approve", 1)
    _legacy_decision(root, kim, LOOK1, "approve", 2)
    return root, bo, ava, kim


def status_of(root: Path, asset: str = LOOK1) -> State:
    ws = Workspace.open(root)
    found = compute_status(ws, report=Verifier.default().verify(root)).get(asset)
    assert found is not None
    return found.state


def test_before_migration_nothing_can_be_cleared(
    legacy: tuple[Path, KeyService, KeyService, KeyService],
) -> None:
    root, *_ = legacy
    # The plain files alone are no authority: anyone could have written them.
    assert status_of(root) is State.BLOCKED


def test_migration_keeps_the_old_decisions_and_waits_for_consent(
    legacy: tuple[Path, KeyService, KeyService, KeyService],
) -> None:
    root, bo, ava, _ = legacy
    roster, done = roster_service(bo).migrate(root)
    assert roster.ok
    assert roster.owner == "bo@brand.example"
    assert any("ava@example.com" in line for line in done)
    assert any("took over 2 existing log(s)" in line for line in done)
    report = Verifier.default().verify(root)
    assert report.ok, report.problems
    assert status_of(root) is State.BLOCKED  # her consent is not in the plain files
    sign_consent(root, ava, "ava")
    assert status_of(root) is State.CLEARED


def test_an_old_style_entry_appended_after_the_migration_does_not_count(
    legacy: tuple[Path, KeyService, KeyService, KeyService],
) -> None:
    root, bo, ava, _ = legacy
    roster_service(bo).migrate(root)
    sign_consent(root, ava, "ava")
    # Someone holding Ava's old key writes an entry the old way, after the migration: no signed
    # roster entry took it over, so it counts for nothing (and is reported).
    _legacy_decision(root, ava, LOOK1, "reject", 30)
    report = Verifier.default().verify(root)
    assert any(p.kind == "unknown_key" for p in report.problems)


def test_migrate_on_the_command_line_and_twice(
    legacy: tuple[Path, KeyService, KeyService, KeyService],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, bo, _, _ = legacy
    from twinreview.cli import roster_cmd

    monkeypatch.setattr(roster_cmd, "make_service", lambda *, need_key=True: roster_service(bo))
    assert main(["roster", "migrate", str(root)]) == 0
    out = capsys.readouterr().out
    assert "signed roster created" in out
    assert "each model must now sign her consent" in out
    assert main(["roster", "migrate", str(root)]) == 1
    assert "already has a signed roster" in capsys.readouterr().err
    assert main(["roster", "show", str(root), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {p["principal"] for p in shown["people"]} == {
        "bo@brand.example",
        "ava@example.com",
        "kim@agency.example",
    }
