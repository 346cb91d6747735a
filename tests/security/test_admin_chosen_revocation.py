"""An admin's revocation with a hand-picked ``after`` does not erase a model's reject.

``after`` in a ``remove_person`` or ``revoke_key`` entry says what the revoker's device had
verified of the person's logs; entries past it count as signed after the revocation. A hostile
admin signs one by hand with ``after`` at Ava's approval, so that her later reject would become
``revoked_key`` while her approval still counts. Her reject must still decide the image, and
``status`` must name it, also after the owner in good faith resets her key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from decision_helpers import build_workspace
from laptops import AVA, CONSENT_TERMS, Laptop, Studio

pytestmark = pytest.mark.usefixtures("no_faces")

LOOK1 = "assets/ava/look1.jpg"


@pytest.mark.parametrize("kind", ["remove_person", "revoke_key"])
def test_admin_chosen_after_does_not_discard_her_reject(tmp_path: Path, kind: str) -> None:
    root = build_workspace(tmp_path / "ws")
    s = Studio(tmp_path / "laptops", root)
    s.kim.decide(root, LOOK1, "approve")
    s.ava.decide(root, LOOK1, "approve")  # her log: genesis 0, approve 1, reject 2
    s.ava.decide(root, LOOK1, "reject", reasons=["likeness_wrong"])
    fp = s.ava.fingerprint
    fields: dict[str, Any] = {"person": AVA, "after": {fp: 1}}
    if kind == "revoke_key":
        fields["fingerprint"] = fp
    s.ada.forge_roster(root, kind, fields)

    for lt in s.laptops:
        assert lt.state(root, LOOK1) == "rejected", lt.name
    status = s.kim.status(root, LOOK1)
    assert [r["principal"] for r in status["rejections"]] == [AVA]
    assert AVA not in [a["principal"] for a in status["approvals"]]

    # The owner, in good faith, resets her key (a lost laptop); she consents again.
    new = Laptop(tmp_path / "laptops", "ava-new")
    new.ok("keys", "init", "--principal", AVA, "--name", "Ava", "--role", "model")
    new.ok("trust", root, "--fingerprint", s.owner.fingerprint)
    if kind == "remove_person":
        s.owner.ok("roster", "reset", root, AVA, "--key", new.key_line, "--model", "ava")
    else:
        s.owner.ok("roster", "reset", root, AVA, "--key", new.key_line)
    new.ok("consent", root, "--model", "ava", *CONSENT_TERMS)
    for lt in (*s.laptops, new):
        assert lt.state(root, LOOK1) == "rejected", lt.name
    status = s.kim.status(root, LOOK1)
    assert AVA in [r["principal"] for r in status["rejections"]]


def test_an_admin_revocation_still_stops_approvals_past_its_point(tmp_path: Path) -> None:
    """What a revoked key signs after the revoker's point, other than her veto, does not count."""
    root = build_workspace(tmp_path / "ws")
    s = Studio(tmp_path / "laptops", root)
    s.kim.decide(root, LOOK1, "approve")
    s.ava.decide(root, LOOK1, "reject", reasons=["likeness_wrong"])  # her log: 0, reject 1
    s.ava.decide(root, LOOK1, "approve")  # 2
    fp = s.ava.fingerprint
    s.ada.forge_roster(root, "revoke_key", {"person": AVA, "fingerprint": fp, "after": {fp: 1}})
    assert s.kim.state(root, LOOK1) != "cleared"
