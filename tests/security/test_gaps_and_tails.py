"""Her veto survives a damaged or shortened log: accepted gaps, torn ends, sync conflict copies.

The attacker can write the shared folder, and Ada is an admin. Each attack runs through the real
command line on separate laptops; ``bea`` is a laptop that joins late and never saw Ava's reject.
After each attack the image is not cleared on any laptop, and ``verify --json`` names the problem.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from decision_helpers import build_workspace
from laptops import ADA, AVA, KIM, Laptop, Studio, kinds, messages, studio_once

LOOK1 = "assets/ava/look1.jpg"
LOOK2 = "assets/ava/spring/look2.jpg"
BEN1 = "assets/ben/look1.jpg"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Studio:
    return studio_once(
        tmp_path_factory,
        "gaps-and-tails",
        lambda folder: Studio(folder / "laptops", build_workspace(folder / "ws")),
    )


@pytest.fixture
def studio(tmp_path: Path, built: Studio) -> Studio:
    return built.copy(tmp_path / "laptops", tmp_path / "ws")


@pytest.fixture
def bea(studio: Studio, tmp_path: Path) -> Laptop:
    """A brand reviewer's laptop that has seen nothing of the workspace yet."""
    laptop = Laptop(tmp_path / "laptops", "bea")
    laptop.ok(
        "keys", "init", "--principal", "bea@brand.example", "--name", "Bea", "--role", "brand"
    )
    laptop.ok("trust", studio.root, "--fingerprint", studio.owner.fingerprint)
    return laptop


def log_of(root: Path, principal: str) -> Path:
    (path,) = sorted((root / "logs").glob(f"{principal}--*.dlog"))
    return path


def her_reject(studio: Studio) -> Path:
    """Kim and Ava approve, then Ava rejects; returns her log."""
    root = studio.root
    studio.kim.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK2, "approve")
    studio.ava.decide(root, LOOK1, "reject", reasons=["likeness_wrong"])
    return log_of(root, AVA)


def cut_last_line(log: Path) -> bytes:
    whole = log.read_bytes()
    log.write_bytes(b"".join(whole.splitlines(keepends=True)[:-1]))
    return whole


# -- an accepted gap never undoes a model's decision -----------------------------------------


def test_only_she_accepts_a_gap_in_her_log(studio: Studio, bea: Laptop) -> None:
    root = studio.root
    log = her_reject(studio)
    studio.kim.decide(root, LOOK2, "approve")  # Kim's laptop saw her reject and names her head
    cut_last_line(log)
    fp = studio.ava.fingerprint
    for laptop in (studio.kim, bea):
        assert laptop.state(root, LOOK1) == "blocked", laptop.name
    reason = " ".join(studio.kim.status(root, LOOK1)["problems"])
    assert "until she" in reason  # in plain words: what it takes to unblock her images
    # Neither an admin nor the owner may accept it for her.
    for laptop in (studio.ada, studio.owner):
        refused = laptop.run("roster", "accept", root, fp)
        assert refused.code == 1, laptop.name
        assert "only she" in refused.err
    # Signed by hand anyway (the owner's own valid key): it does not count.
    studio.owner.forge_roster(
        root, "accept_head", {"target_log": fp, "target_seq": 1, "target_hash": _head(log)}
    )
    for laptop in (*studio.laptops, bea):
        assert laptop.state(root, LOOK1) != "cleared", laptop.name
    doc = bea.verify(root)
    assert {"roster", "rolled_back"} <= kinds(doc)
    assert "only she" in messages(doc)


def test_she_accepts_the_gap_herself(studio: Studio, bea: Laptop) -> None:
    root = studio.root
    log = her_reject(studio)
    studio.kim.decide(root, LOOK2, "approve")
    cut_last_line(log)
    studio.ava.ok("roster", "accept", root, studio.ava.fingerprint)
    doc = bea.verify(root)
    assert doc["ok"]
    assert "accepted_gap" in kinds(doc)
    assert bea.state(root, LOOK2) == "cleared"  # her approval, and she accepted the rest


def test_an_admin_cannot_accept_a_gap_in_another_persons_log(studio: Studio) -> None:
    root = studio.root
    studio.kim.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK2, "approve")  # Ava's laptop saw Kim's log
    log_of(root, KIM).unlink()
    assert studio.ava.state(root, LOOK1) == "blocked"
    fp = studio.kim.fingerprint
    refused = studio.ada.run("roster", "accept", root, fp)
    assert refused.code == 1
    assert "only the owner" in refused.err
    studio.ada.forge_roster(
        root, "accept_head", {"target_log": fp, "target_seq": -1, "target_hash": None}
    )
    assert studio.ava.state(root, LOOK1) == "blocked"
    assert "roster" in kinds(studio.ava.verify(root))
    assert ADA in messages(studio.ava.verify(root))


# -- a damaged end counts as a possible veto --------------------------------------------------


def test_stripping_her_last_newline_does_not_hide_her_reject(studio: Studio, bea: Laptop) -> None:
    root = studio.root
    log = her_reject(studio)
    log.write_bytes(log.read_bytes()[:-1])  # her reject, whole and signed, without its newline
    for laptop in (*studio.laptops, bea):
        assert laptop.state(root, LOOK1) == "rejected", laptop.name
    doc = bea.verify(root)
    assert "torn_tail" in kinds(doc)


def test_an_unreadable_tail_blocks_every_image_of_her_models(studio: Studio, bea: Laptop) -> None:
    root = studio.root
    log = her_reject(studio)
    data = log.read_bytes()
    log.write_bytes(data[: len(data) - 40])  # the end of her reject is gone: unreadable
    for laptop in (studio.kim, bea):
        assert laptop.state(root, LOOK1) == "blocked", laptop.name
        assert laptop.state(root, LOOK2) == "blocked", laptop.name
        ben = laptop.status(root, BEN1)  # not a model she decides for
        assert ben["blocked_by"] != "verification", laptop.name
    assert "torn_tail" in kinds(bea.verify(root))
    reason = " ".join(bea.status(root, LOOK2)["problems"])
    assert "cannot be read" in reason


def test_an_unreadable_roster_tail_blocks_everything_until_set_aside(
    studio: Studio, bea: Laptop
) -> None:
    root = studio.root
    studio.kim.decide(root, LOOK1, "approve")
    studio.ava.decide(root, LOOK1, "approve")
    roster = root / "roster" / "roster.dlog"
    with roster.open("ab") as fh:
        fh.write(b'{"payload": "eyJ2Ijo')  # perhaps her consent withdrawal, perhaps not
    assert bea.state(root, LOOK1) == "blocked"
    assert "torn_tail" in kinds(bea.verify(root))
    studio.owner.ok("roster", "repair", root)  # sets it aside (kept beside the roster)
    assert bea.verify(root)["ok"]
    assert bea.state(root, LOOK1) == "cleared"


# -- sync conflict copies are merged, not ignored ---------------------------------------------


@pytest.mark.parametrize(
    "conflicted",
    [
        "{stem} (Kim's conflicted copy 2026-12-07).dlog",  # Dropbox
        "{stem}.sync-conflict-20261207-101500-KIMLAPT.dlog",  # Syncthing
        "{stem} (1).dlog",  # Google Drive, a second download
        "{stem}-KIMS-LAPTOP.dlog",  # OneDrive: the device's name
        "{stem}.dlog.sync-conflict-20261201-ABC.dlog",  # a conflict copy of the whole name
        "sub/{stem}.dlog",  # a folder synced into logs/
        "{stem}.DLOG",  # another case (a case-insensitive disk's copy)
        "{stem}.dlog (1)",  # a copy named after the whole file name
        "{stem}.dlog~",  # an editor's or a sync tool's backup
    ],
)
def test_a_longer_sync_conflict_copy_counts(studio: Studio, bea: Laptop, conflicted: str) -> None:
    root = studio.root
    log = her_reject(studio)
    copy = log.parent / conflicted.format(stem=log.stem)
    copy.parent.mkdir(exist_ok=True)
    shutil.copy(log, copy)  # the sync tool kept her whole log beside the original...
    cut_last_line(log)  # ...and the original lost her reject
    for laptop in (*studio.laptops, bea):
        assert laptop.state(root, LOOK1) == "rejected", laptop.name
    doc = bea.verify(root)
    assert "sync_conflict" in kinds(doc)
    [said] = [p for p in doc["problems"] if p["kind"] == "sync_conflict"]
    assert said["file"] == copy.relative_to(root).as_posix()
    assert log.name in said["message"]  # named beside the log it copies
    # status says so too (a line on stderr; its JSON carries the problem as verify does).
    status = bea.run("status", root, "--json")
    assert said["file"] in status.err and "merged" in status.err
    problems = status.json()["verification"]["problems"]
    assert [p["file"] for p in problems if p["kind"] == "sync_conflict"] == [said["file"]]


def _head(log: Path) -> str:
    import hashlib

    return hashlib.sha256(log.read_bytes().splitlines(keepends=True)[-1]).hexdigest()


def test_a_log_that_is_nothing_but_an_unreadable_line_blocks_every_image(
    studio: Studio, bea: Laptop
) -> None:
    root = studio.root
    log = her_reject(studio)
    log.write_bytes(log.read_bytes()[:60])  # her whole log, down to the start of its first line
    for asset in (LOOK1, BEN1):
        assert bea.status(root, asset)["blocked_by"] == "verification", asset
    assert "torn_tail" in kinds(bea.verify(root))


def test_a_damaged_end_that_a_longer_conflict_copy_holds_whole_does_not_block(
    studio: Studio, bea: Laptop
) -> None:
    root = studio.root
    log = her_reject(studio)
    shutil.copy(log, log.with_name(f"{log.stem} (Kim's conflicted copy).dlog"))
    data = log.read_bytes()
    log.write_bytes(data[: len(data) - 40])  # the original's end is damaged; the copy is whole
    assert bea.state(root, LOOK1) == "rejected"
    assert {"torn_tail", "sync_conflict"} <= kinds(bea.verify(root))
