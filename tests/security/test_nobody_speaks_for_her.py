"""Nobody speaks for the model: an admin acting for her, and the owner's visible reset.

Each attack runs through the real command line on separate laptops (their own user folders and
keyrings, :mod:`laptops`). The attacker is Ada, a brand reviewer the owner made an admin: she may
change the roster, and she holds a key of her own that claims to be Ava's. Ava consented to
e-commerce only; ``look1`` is meant for a billboard, so only a wider consent "signed by Ava" could
clear it. After each attack: on no laptop is the image cleared, and ``verify --json`` names the
problem.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
from pathlib import Path

import pytest

from decision_helpers import build_workspace
from laptops import ADA, AVA, CONSENT_TERMS, Laptop, Studio, kinds, messages, studio_once
from twinreview.services.decisions import DecisionError, DecisionService

# Faces are not under test here (tests/test_faces*.py are about them).
pytestmark = pytest.mark.usefixtures("no_faces")

LOOK1 = "assets/ava/look1.jpg"
LOOK2 = "assets/ava/spring/look2.jpg"
MAL = "mal@evil.example"
# What an impostor signs in her name: a use she never allowed (the command asks for every term,
# so the attempt reaches the roster, which must refuse it).
WIDER_TERMS = ("--uses", "ecommerce,billboard", "--purpose", "anything", "--no-expiry")


def _build(folder: Path) -> Studio:
    root = build_workspace(folder / "ws")
    (root / "assets/ava/look1.json").write_text('{"intended_use": "billboard"}')
    s = Studio(folder / "laptops", root)
    s.ava.ok("consent", root, "--model", "ava", *CONSENT_TERMS)
    s.kim.decide(root, LOOK1, "approve")
    return s


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Studio:
    from twinreview.services import compose

    with pytest.MonkeyPatch.context() as mp:  # as the no_faces fixture of each test
        mp.setattr(compose, "FaceEngine", lambda: None)
        return studio_once(tmp_path_factory, "nobody-speaks", _build)


@pytest.fixture
def studio(tmp_path: Path, built: Studio) -> Studio:
    return built.copy(tmp_path / "laptops", tmp_path / "ws")


def impostor(studio: Studio, tmp_path: Path, principal: str = AVA) -> Laptop:
    """A laptop of Ada's with a key she made under ``principal``."""
    fake = Laptop(tmp_path / "laptops", f"ada-as-{principal.split('@')[0]}")
    fake.ok("keys", "init", "--principal", principal, "--name", "Ava", "--role", "model")
    fake.ok("trust", studio.root, "--fingerprint", studio.owner.fingerprint)
    return fake


def _person_fields(principal: str, laptop: Laptop) -> dict[str, object]:
    """An add_person entry making ``principal`` the model person of ``ava`` with its key."""
    return {
        "person": principal,
        "name": "Ava",
        "role": "model",
        "models": ["ava"],
        "keys": [laptop.key_line],
        "admin": False,
        "request": None,
    }


def speak_for_her(studio: Studio, fake: Laptop) -> None:
    """The impostor's key widens "her" consent and approves: what the attack is for."""
    tried = fake.run("consent", studio.root, "--model", "ava", *WIDER_TERMS)
    assert "nothing is assumed" not in tried.err  # the terms were complete: the roster decided
    with contextlib.suppress(DecisionError):  # refused: the roster does not let this key sign
        fake.decide(studio.root, LOOK1, "approve")


def assert_not_cleared_anywhere(studio: Studio, *more: Laptop) -> None:
    for laptop in (*studio.laptops, *more):
        assert laptop.state(studio.root, LOOK1) != "cleared", laptop.name


def test_an_admin_cannot_remove_and_re_add_her_with_a_key_the_admin_holds(
    studio: Studio, tmp_path: Path
) -> None:
    root, fake = studio.root, impostor(studio, tmp_path)
    studio.ada.ok("roster", "remove", root, AVA)  # an admin may take her off the roster
    as_her = ["--principal", AVA, "--role", "model", "--model", "ava"]
    refused = studio.ada.run("roster", "add", root, *as_her, "--key", fake.key_line)
    assert refused.code == 1
    assert "only the owner" in refused.err
    # Ada signs the entry by hand anyway, with her own valid admin key.
    studio.ada.forge_roster(
        root,
        "add_person",
        _person_fields(AVA, fake),
    )
    speak_for_her(studio, fake)
    assert_not_cleared_anywhere(studio, fake)
    doc = studio.kim.verify(root)
    assert "roster" in kinds(doc)
    assert "only the owner" in messages(doc)


def test_an_admin_cannot_give_her_model_id_to_another_person(
    studio: Studio, tmp_path: Path
) -> None:
    root, mal = studio.root, impostor(studio, tmp_path, MAL)
    studio.ada.ok("roster", "remove", root, AVA)
    as_mal = ["--principal", MAL, "--role", "model", "--model", "ava"]
    refused = studio.ada.run("roster", "add", root, *as_mal, "--key", mal.key_line)
    assert refused.code == 1
    assert "only the owner" in refused.err
    studio.ada.forge_roster(
        root,
        "add_person",
        _person_fields(MAL, mal),
    )
    speak_for_her(studio, mal)
    assert_not_cleared_anywhere(studio, mal)
    doc = studio.kim.verify(root)
    assert "roster" in kinds(doc)
    assert "only the owner" in messages(doc)


def test_no_role_change_adds_a_key_to_her(studio: Studio, tmp_path: Path) -> None:
    root, fake = studio.root, impostor(studio, tmp_path)
    # Agent for a moment, a key "of hers" added while she is not a model, then model again.
    studio.ada.forge_roster(root, "update_person", {"person": AVA, "role": "agent"})
    studio.ada.forge_roster(root, "add_key", {"person": AVA, "new_key": fake.key_line})
    studio.ada.forge_roster(root, "update_person", {"person": AVA, "role": "model"})
    speak_for_her(studio, fake)
    assert_not_cleared_anywhere(studio, fake)
    doc = studio.kim.verify(root)
    assert "roster" in kinds(doc)
    assert "role" in messages(doc)


def test_an_admin_cannot_reset_her_even_with_the_reset_command(
    studio: Studio, tmp_path: Path
) -> None:
    fake = impostor(studio, tmp_path)
    refused = studio.ada.run("roster", "reset", studio.root, AVA, "--key", fake.key_line)
    assert refused.code == 1
    assert "only the owner" in refused.err
    assert ADA not in studio.owner.ok("roster", "show", studio.root, "--json").json()["resets"]


def test_the_owners_reset_is_shown_to_everyone_and_her_rejects_stand(
    studio: Studio, tmp_path: Path
) -> None:
    root = studio.root
    studio.ava.decide(root, LOOK2, "reject", reasons=["likeness_wrong"])
    studio.kim.decide(root, LOOK2, "approve")
    # Her laptop was lost: the owner gives her a new key (she tells the owner its fingerprint).
    new = Laptop(tmp_path / "laptops", "ava-new")
    new.ok("keys", "init", "--principal", AVA, "--name", "Ava", "--role", "model")
    new.ok("trust", root, "--fingerprint", studio.owner.fingerprint)
    # Not by the back door of 'roster add', even for the owner: a reset says what it is.
    sneaky = studio.owner.run(
        "roster", "add", root, "--principal", AVA, "--key", new.key_line, "--role", "model"
    )
    assert sneaky.code == 1
    assert "roster reset" in sneaky.err
    studio.owner.ok("roster", "reset", root, AVA, "--key", new.key_line)

    today = dt.datetime.now(dt.UTC).date().isoformat()
    said = f"Ava's key was reset by the owner on {today}"
    for laptop in (*studio.laptops, new):
        doc = laptop.verify(root)
        assert "model_reset" in kinds(doc), laptop.name
        assert said in messages(doc)
        assert new.fingerprint in messages(doc)
        shown = laptop.ok("roster", "show", root).out
        assert said in shown and new.fingerprint in shown
    page = tmp_path / "report.html"
    studio.kim.ok("report", root, "--html", page)
    assert said in html.unescape(page.read_text())
    # Her consent from before does not carry over: nothing of hers is cleared until she signs.
    status = studio.kim.status(root, LOOK1)
    assert status["state"] == "blocked"
    assert "consent" in " ".join(status["problems"])
    # With the new key she consents and approves the image she had rejected: the reject stands.
    new.ok("consent", root, "--model", "ava", *CONSENT_TERMS)
    new.decide(root, LOOK2, "approve")
    for laptop in (*studio.laptops, new):
        assert laptop.state(root, LOOK2) == "rejected", laptop.name


def _agent_as_her(studio: Studio, tmp_path: Path, name: str) -> Laptop:
    """A laptop whose key claims to be Ava, as an agent."""
    laptop = Laptop(tmp_path / "laptops", name)
    laptop.ok("keys", "init", "--principal", AVA, "--name", "Ava", "--role", "agent")
    laptop.ok("trust", studio.root, "--fingerprint", studio.owner.fingerprint)
    return laptop


def test_an_admin_cannot_bring_her_back_as_an_agent_with_a_key_the_admin_holds(
    studio: Studio, tmp_path: Path
) -> None:
    root, fake = studio.root, _agent_as_her(studio, tmp_path, "ada-as-ava-agent")
    studio.ava.decide(root, LOOK2, "reject", reasons=["likeness_wrong"])
    studio.kim.decide(root, LOOK2, "approve")
    studio.ada.ok("roster", "remove", root, AVA)
    # Once a model, always her principal: no role brings her back without the owner's reset.
    as_agent = ["--principal", AVA, "--role", "agent", "--model", "ava"]
    refused = studio.ada.run("roster", "add", root, *as_agent, "--key", fake.key_line)
    assert refused.code == 1
    assert "only the owner" in refused.err
    fields = {**_person_fields(AVA, fake), "role": "agent"}
    studio.ada.forge_roster(root, "add_person", fields)
    with contextlib.suppress(DecisionError):  # refused: the roster does not let this key sign
        fake.decide(root, LOOK2, "approve")
    for laptop in (*studio.laptops, fake):
        # Held back: by her reject, or by the refused roster entry (which blocks until removed).
        status = laptop.status(root, LOOK2)
        assert status["state"] in ("rejected", "blocked"), laptop.name
        assert all(a["log"] != fake.fingerprint for a in status["approvals"]), laptop.name
        assert any(r["principal"] == AVA for r in status["rejections"]) or (
            status["blocked_by"] == "verification"
        )
    doc = studio.kim.verify(root)
    assert "roster" in kinds(doc)
    assert "only the owner" in messages(doc)


def test_a_removed_models_rejects_keep_counting(studio: Studio) -> None:
    root = studio.root
    studio.ava.decide(root, LOOK2, "reject", reasons=["likeness_wrong"])
    studio.kim.decide(root, LOOK2, "approve")
    studio.ada.ok("roster", "remove", root, AVA)
    for laptop in studio.laptops:
        assert laptop.state(root, LOOK2) == "rejected", laptop.name


def test_the_owner_may_bring_her_back_as_an_agent_by_a_reset_and_her_rejects_stand(
    studio: Studio, tmp_path: Path
) -> None:
    root, new = studio.root, _agent_as_her(studio, tmp_path, "ava-agent")
    studio.ava.decide(root, LOOK2, "reject", reasons=["likeness_wrong"])
    studio.kim.decide(root, LOOK2, "approve")
    studio.owner.ok("roster", "remove", root, AVA)
    sneaky = studio.owner.run(
        "roster", "add", root, "--principal", AVA, "--role", "agent", "--model", "ava",
        "--key", new.key_line,
    )  # fmt: skip
    assert sneaky.code == 1
    assert "roster reset" in sneaky.err
    reset = ("roster", "reset", root, AVA, "--key", new.key_line, "--role", "agent")
    studio.owner.ok(*reset, "--model", "ava")
    doc = studio.kim.verify(root)
    assert "model_reset" in kinds(doc)
    assert new.fingerprint in messages(doc)
    # As an agent with her new key she approves what she rejected as the model: the veto stands.
    new.decide(root, LOOK2, "approve")
    for laptop in (*studio.laptops, new):
        assert laptop.state(root, LOOK2) == "rejected", laptop.name


def test_a_reset_revokes_her_old_key(
    studio: Studio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, old = studio.root, studio.ava
    old.decide(root, LOOK1, "reject", reasons=["likeness_wrong"])  # before the reset: it stands
    studio.kim.decide(root, LOOK2, "approve")
    new = Laptop(tmp_path / "laptops", "ava-new")
    new.ok("keys", "init", "--principal", AVA, "--name", "Ava", "--role", "model")
    new.ok("trust", root, "--fingerprint", studio.owner.fingerprint)
    studio.owner.ok("roster", "reset", root, AVA, "--key", new.key_line)
    new.ok("consent", root, "--model", "ava", *CONSENT_TERMS)
    new.decide(root, LOOK2, "reject", reasons=["likeness_wrong"])
    # Her lost laptop, in other hands, after the reset: its key no longer speaks for her.
    refused = old.run("consent", root, "--model", "ava", *WIDER_TERMS)
    assert refused.code == 1
    # A hostile copy of the app signs anyway (no check of its own before signing); it has seen
    # her new reject, so its approval would be her latest word.
    monkeypatch.setattr(DecisionService, "_check_roster", staticmethod(lambda *a: "model"))
    old.decide(root, LOOK2, "approve")
    for laptop in (*studio.laptops, new):
        # Not hers: it does not count, and a revoked key signing at all holds back her images
        # until someone looks (as for any revoked key).
        status = laptop.status(root, LOOK2)
        assert status["state"] in ("rejected", "blocked"), laptop.name
        assert all(a["log"] != old.fingerprint for a in status["approvals"]), laptop.name
        assert "revoked_key" in " ".join(status["problems"]), laptop.name
    doc = studio.kim.verify(root)
    assert "revoked_key" in kinds(doc)
    assert old.fingerprint in messages(doc)
    # What the old key signed before the reset still counts: only its later entry is refused.
    revoked = [e for e in doc["entries"] if e["state"] == "revoked_key"]
    assert [e["seq"] for e in revoked] == [2]
    shown = studio.kim.ok("roster", "show", root, "--json").json()
    her = next(p for p in shown["people"] if p["principal"] == AVA)
    assert old.fingerprint not in json.dumps(her)
