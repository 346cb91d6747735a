"""A gap in the log of anyone who was ever a model is accepted only by her own key.

The owner gives Ava's model id to someone else (a visible reset). Ava is no longer the model
person of ``ava``, but the log her key signed still holds her veto: a folder writer cuts her
reject, and the owner's ``roster accept`` for that gap must be refused on every laptop.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from decision_helpers import build_workspace
from laptops import AVA, CONSENT_TERMS, Laptop, Studio, kinds

pytestmark = pytest.mark.usefixtures("no_faces")

LOOK1 = "assets/ava/look1.jpg"
MAL = "mal@evil.example"


def _log_of(root: Path, principal: str) -> Path:
    (path,) = sorted((root / "logs").glob(f"{principal}--*.dlog"))
    return path


def test_owner_cannot_accept_gap_in_former_models_log(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "ws")
    s = Studio(tmp_path / "laptops", root)
    s.kim.decide(root, LOOK1, "approve")
    s.ava.decide(root, LOOK1, "approve")
    s.ava.decide(root, LOOK1, "reject", reasons=["likeness_wrong"])
    mal = Laptop(tmp_path / "laptops", "mal")
    mal.ok("keys", "init", "--principal", MAL, "--name", "Ava", "--role", "model")
    mal.ok("trust", root, "--fingerprint", s.owner.fingerprint)
    s.owner.ok("roster", "remove", root, AVA)
    s.owner.ok(
        "roster", "reset", root, MAL, "--key", mal.key_line, "--model", "ava", "--name", "Ava"
    )
    mal.ok("consent", root, "--model", "ava", *CONSENT_TERMS)
    mal.decide(root, LOOK1, "approve")
    log = _log_of(root, AVA)
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-1]))

    accept = s.owner.run("roster", "accept", root, s.ava.fingerprint)

    assert accept.code != 0
    assert "only she accepts it" in accept.err
    fresh = Laptop(tmp_path / "laptops", "fresh")
    fresh.ok("keys", "init", "--principal", "bea@brand.example", "--name", "Bea", "--role", "brand")
    fresh.ok("trust", root, "--fingerprint", s.owner.fingerprint)
    for lt in (*s.laptops, mal, fresh):
        assert lt.state(root, LOOK1) != "cleared", lt.name
    assert "accepted_gap" not in kinds(s.kim.verify(root))
