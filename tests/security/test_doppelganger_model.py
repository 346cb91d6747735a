"""A look-alike model does not clear an image of another model without her word.

A hostile admin (and folder writer) files an AI image of Ava under a new model ``mal`` whose
reference photos are copies of Ava's, adds a model person and an agent for ``mal`` with keys she
holds, and has both approve it for a billboard. Ava's references stay where they are. The image
looks like Ava, so Ava's own approval is needed too; and Mal's references, copies of Ava's, block
Mal's images with a finding that says so. Real corpus faces (Ava is the corpus person "obama").
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from decision_helpers import build_workspace
from laptops import Laptop, Studio
from publish_helpers import TAM, xmp_jpeg

LOOK = "assets/mal/look.jpg"


def _doppelganger(tmp_path: Path, corpus_dir: Path) -> tuple[Path, Studio, Laptop, Laptop]:
    faces = corpus_dir / "faces"
    root = build_workspace(tmp_path / "ws")
    for f in (root / "models/ava/references").iterdir():
        f.unlink()
    for n in ("obama_1.jpg", "obama_2.jpg"):
        shutil.copy(faces / n, root / "models/ava/references" / n)
    s = Studio(tmp_path / "laptops", root)
    (root / "models/mal/references").mkdir(parents=True)
    (root / "models/mal/model.toml").write_text('display_name = "Mal"\n')
    for n in ("obama_1.jpg", "obama_2.jpg"):
        shutil.copy(faces / n, root / "models/mal/references" / n)
    (root / "assets/mal").mkdir(parents=True)
    img = Image.open(faces / "obama_3.jpg").convert("RGB")
    (root / LOOK).write_bytes(xmp_jpeg(img, TAM))
    (root / "assets/mal/look.json").write_text(json.dumps({"intended_use": "billboard"}))
    mal = Laptop(tmp_path / "laptops", "mal")
    mal.ok("keys", "init", "--principal", "mal@evil.example", "--name", "Mal", "--role", "model")
    pup = Laptop(tmp_path / "laptops", "pup")
    pup.ok("keys", "init", "--principal", "pup@evil.example", "--name", "Pup", "--role", "agent")
    for lt in (mal, pup):
        lt.ok("trust", root, "--fingerprint", s.owner.fingerprint)
    s.ada.ok(
        "roster", "add", root, "--principal", "mal@evil.example", "--role", "model",
        "--name", "Mal", "--model", "mal", "--key", mal.key_line,
    )  # fmt: skip
    s.ada.ok(
        "roster", "add", root, "--principal", "pup@evil.example", "--role", "agent",
        "--name", "Pup", "--model", "mal", "--key", pup.key_line,
    )  # fmt: skip
    mal.ok(
        "consent", root, "--model", "mal", "--uses", "billboard", "--purpose", "anything",
        "--no-expiry",
    )  # fmt: skip
    return root, s, mal, pup


def test_look_alike_model_cannot_clear_an_image_of_another_model(
    tmp_path: Path, corpus_dir: Path
) -> None:
    root, s, mal, pup = _doppelganger(tmp_path, corpus_dir)

    scan = s.kim.run("scan", root, "--json")
    (entry,) = [a for a in scan.json()["assets"] if a["path"] == LOOK]
    said = {f["kind"]: f for f in entry["findings"]}
    also = said["also_looks_like_model"]
    assert also["message"].startswith("This image also looks like Ava: she must approve it too")
    assert also["severity"] == "block"
    assert "Mal's reference photos are copies of Ava's" in said["reference_copies"]["message"]

    # Without an override the blocking findings refuse the approval; with one, it still does
    # not clear: Ava's own approval is missing.
    refused = mal.run("decide", "--approve", root, LOOK)
    assert refused.code != 0
    mal.ok("decide", "--approve", "--override", root, LOOK)
    pup.ok("decide", "--approve", "--override", root, LOOK)
    for lt in (*s.laptops, mal, pup):
        status = lt.status(root, LOOK)
        assert status["state"] != "cleared", lt.name
        assert any("also looks like Ava" in p for p in status["problems"]), status


def test_her_own_word_decides_an_image_that_looks_like_her(
    tmp_path: Path, corpus_dir: Path
) -> None:
    root, s, mal, pup = _doppelganger(tmp_path, corpus_dir)
    mal.ok("decide", "--approve", "--override", root, LOOK)
    pup.ok("decide", "--approve", "--override", root, LOOK)

    s.ava.ok("decide", "--reject", "--reason", "likeness_wrong", root, LOOK)
    assert s.kim.state(root, LOOK) == "rejected"

    # Her approval answers the findings that ask for her word: no override needed.
    s.ava.ok("decide", "--approve", root, LOOK)
    status = s.kim.status(root, LOOK)
    assert not any("also looks like Ava" in p for p in status.get("problems", []))
    assert status["state"] == "cleared"


@pytest.mark.usefixtures("no_faces")
def test_only_the_owner_changes_the_likeness_check(tmp_path: Path) -> None:
    """An admin who turns the face check off (or loosens it) would hide every look-alike."""
    from twinreview.core.roster.log import SignedRoster

    root = build_workspace(tmp_path / "ws")
    s = Studio(tmp_path / "laptops", root)
    before = SignedRoster.load(root / "roster").current
    assert before is not None
    off = {"similarity": {"likeness": {"enabled": False}}}
    s.ada.forge_roster(root, "policy", {"policy": off})
    after = SignedRoster.load(root / "roster").current
    assert after is not None and after.seq == before.seq  # the roster stops there
    assert after.policy == before.policy
    # The owner may (on a roster of her own, which the refused entry does not stop).
    root2 = build_workspace(tmp_path / "ws2")
    s2 = Studio(tmp_path / "laptops2", root2)
    s2.owner.forge_roster(root2, "policy", {"policy": off})
    mine = SignedRoster.load(root2 / "roster").current
    assert mine is not None and mine.policy is not None
    assert mine.policy.tables["similarity"]["likeness"] == {"enabled": False}
