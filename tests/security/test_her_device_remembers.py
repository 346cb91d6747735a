"""Her own device remembers what she signed: a log (or roster) cut back in the folder.

The attacker can write the shared folder. Ava's laptop keeps a copy of every entry it signs,
outside the workspace; when the workspace copy is shorter, older or gone, her laptop reports it
(``rolled_back``), blocks what depends on it, and puts the missing lines back on request
(``verify --restore``). Each attack runs through the real command line on separate laptops.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from decision_helpers import build_workspace
from laptops import Studio, kinds, messages, studio_once
from twinreview.services.decisions import DecisionError

LOOK1 = "assets/ava/look1.jpg"
LOOK2 = "assets/ava/spring/look2.jpg"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Studio:
    return studio_once(
        tmp_path_factory,
        "her-device",
        lambda folder: Studio(folder / "laptops", build_workspace(folder / "ws")),
    )


@pytest.fixture
def studio(tmp_path: Path, built: Studio) -> Studio:
    return built.copy(tmp_path / "laptops", tmp_path / "ws")


def her_log(root: Path) -> Path:
    (path,) = sorted((root / "logs").glob("ava@example.com--*.dlog"))
    return path


def her_reject_then_cut(studio: Studio) -> tuple[Path, bytes]:
    """Kim and Ava approve; Ava then rejects; her reject's line is cut from the folder."""
    root = studio.root
    studio.kim.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK1, "reject", reasons=["likeness_wrong"])
    log = her_log(root)
    whole = log.read_bytes()
    log.write_bytes(b"".join(whole.splitlines(keepends=True)[:-1]))
    return log, whole


def assert_reported_and_restored(studio: Studio, log: Path, whole: bytes) -> None:
    root = studio.root
    assert studio.ava.state(root, LOOK1) == "blocked"
    doc = studio.ava.verify(root)
    assert "rolled_back" in kinds(doc)
    assert "this device signed" in messages(doc)
    assert "verify --restore" in messages(doc)
    # Her laptop signs nothing on top of the shortened log (that would fork it).
    with pytest.raises(DecisionError, match="verify --restore"):
        studio.ava.decide(root, LOOK2, "approve")
    done = studio.ava.ok("verify", root, "--restore")
    assert "put back" in done.out
    assert log.read_bytes() == whole  # the very lines she signed
    for laptop in studio.laptops:
        assert laptop.verify(root)["ok"], laptop.name
        assert laptop.state(root, LOOK1) == "rejected", laptop.name


def test_deleting_her_last_line_is_seen_by_her_own_laptop(studio: Studio) -> None:
    log, whole = her_reject_then_cut(studio)
    # Kim's laptop never saw the reject: no offline tool there can tell (the README says so).
    assert studio.kim.state(studio.root, LOOK1) == "cleared"
    assert_reported_and_restored(studio, log, whole)


def test_putting_back_an_older_copy_of_her_log(studio: Studio) -> None:
    root = studio.root
    studio.kim.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK1, "approve")
    log = her_log(root)
    older = log.read_bytes()
    studio.ava.decide(root, LOOK1, "reject", reasons=["likeness_wrong"])
    whole = log.read_bytes()
    log.write_bytes(older)
    assert_reported_and_restored(studio, log, whole)


def test_deleting_her_whole_log(studio: Studio) -> None:
    root = studio.root
    studio.kim.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK1, "approve")
    log = her_log(root)
    whole = log.read_bytes()
    log.unlink()
    assert studio.ava.state(root, LOOK1) == "blocked"
    doc = studio.ava.verify(root)
    assert "rolled_back" in kinds(doc)
    assert "gone" in messages(doc)
    studio.ava.ok("verify", root, "--restore")
    assert log.read_bytes() == whole
    assert studio.ava.verify(root)["ok"]
    assert studio.ava.state(root, LOOK1) == "cleared"


def test_cutting_her_consent_withdrawal_out_of_the_roster(studio: Studio) -> None:
    root = studio.root
    studio.kim.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK1, "approve")
    roster = root / "roster" / "roster.dlog"
    before = roster.read_bytes()
    studio.ava.ok("consent", root, "--model", "ava", "--withdraw")
    whole = roster.read_bytes()
    roster.write_bytes(before)  # her withdrawal is gone
    assert studio.ava.state(root, LOOK1) == "blocked"
    doc = studio.ava.verify(root)
    assert "rolled_back" in kinds(doc)
    assert "this device signed" in messages(doc)
    studio.ava.ok("verify", root, "--restore")
    assert roster.read_bytes() == whole
    for laptop in studio.laptops:
        assert laptop.verify(root)["ok"], laptop.name
        assert laptop.state(root, LOOK1) == "blocked", laptop.name  # consent withdrawn


def test_another_laptop_that_saw_her_reject_keeps_reporting_the_cut(studio: Studio) -> None:
    root = studio.root
    studio.kim.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK1, "reject", reasons=["likeness_wrong"])
    assert studio.kim.state(root, LOOK1) == "rejected"  # Kim's laptop verified the reject
    log = her_log(root)
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-1]))
    assert studio.kim.state(root, LOOK1) == "blocked"
    doc = studio.kim.verify(root)
    assert "rolled_back" in kinds(doc)
    assert "this device's last verification" in messages(doc)
