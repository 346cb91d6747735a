"""A sign-off whose model is swapped to another model must not escape her withdrawn consent.

An insider with the brand's certificate and an export takes Ava's legitimately published
``assets/ava/look.jpg``, keeps its pixels and its decisions (Ava's and Sam's approvals), sets the
sign-off's model to ``ben`` and its consent to Ben's (who is in consent), and carries the XMP and
``c2pa.metadata`` of a published Ben file. After Ava withdrew her consent, the file must still be
judged as hers: the sign-off's model must be the asset's model (its folder under
``assets/<model>/``) and the model her model-role decision was signed for, and her consent
decides. The one sentence about consent names her, never Ben.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from decision_helpers import reviewer
from publish_helpers import (
    PENDING,
    PURPOSE,
    PublishWs,
    build_publish_ws,
    decision_ref,
    forge,
    manifest_assertion,
    publish_cli,
    strip_c2pa,
)
from twinreview.cli.main import main
from twinreview.core.publish.imagedigest import image_digest
from twinreview.core.publish.signoff import LABEL
from twinreview.core.publish.xmpwrite import main_packet, put_main_packet
from twinreview.core.roster.people import Person
from twinreview.services.export import export_workspace
from twinreview.services.publish.publisher import METADATA
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import TrustStore, Verifier
from wsbuild import add_model, pattern

LOOK = "assets/ava/look.jpg"
BEN = "assets/ben/b1.jpg"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Ava's look.jpg and Ben's b1.jpg published; then Ava withdrew her consent; an export."""
    base = tmp_path_factory.mktemp("swap")
    pw = build_publish_ws(base)
    root = pw.root
    add_model(root, "ben", {"ref1.jpg": pattern(2)}, toml='display_name = "Ben"\n')
    (root / "assets/ben").mkdir(parents=True, exist_ok=True)
    pattern(21, (640, 480)).save(root / BEN, "JPEG", quality=90)
    owner = RosterService(pw.brand, TrustStore.default(), Verifier.default(), clock=pw.clock)
    ben = reviewer(base / "people", "ben@example.com", "model", "Ben")
    bi = ben.current()
    assert bi is not None
    owner.add_person(root, Person(bi.principal, "Ben", "model", ("ben",)), bi.public_key)
    RosterService(ben, TrustStore.default(), Verifier.default(), clock=pw.clock).consent(
        root, "ben", purpose="Ben's campaign", no_expiry=True, require=("model",)
    )
    pw.decide(ben, BEN, "approve")
    out = base / "out"
    assert publish_cli(pw, out, "--asset", LOOK, "--asset", BEN) == 0
    # Ava approved pending.jpg and Sam approves it now: cleared, never published.
    pw.decide(pw.agent, PENDING, "approve")
    RosterService(pw.model, TrustStore.default(), Verifier.default(), clock=pw.clock).consent(
        root, "ava", withdraw=True, purpose=PURPOSE, no_expiry=True
    )
    ident, key = pw.agent.signer()
    export_workspace(root, base / "export", ident, key)
    return {
        "pw": pw,
        "export": base / "export",
        "look": (out / "ava/look.jpg").read_bytes(),
        "ben": (out / "ben/b1.jpg").read_bytes(),
        "genuine": out / "ava/look.jpg",
    }


def _check(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["check-published", str(path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _swapped(scene: dict[str, Any], signoff: dict[str, Any], data: bytes, path: Path) -> Path:
    """``data`` with the sign-off made Ben's, and Ben's published XMP and metadata."""
    ben = scene["ben"]
    signoff["model"] = "ben"
    signoff["consent"] = manifest_assertion(ben, LABEL)["consent"]
    data = put_main_packet(strip_c2pa(data), "jpeg", main_packet(ben, "jpeg") or b"")
    assertions = [
        {"label": LABEL, "data": signoff},
        {"label": METADATA, "data": manifest_assertion(ben, METADATA)},
    ]
    path.write_bytes(forge(data, assertions, scene["pw"].pki))
    return path


def test_her_genuine_file_is_out_of_consent(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _check(capsys, scene["genuine"], "--export", str(scene["export"]))
    assert code == 1
    assert "out of consent: Ava withdrew her consent" in err, err


def test_a_published_file_swapped_to_another_model_fails_and_names_her(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pw: PublishWs = scene["pw"]
    signoff = manifest_assertion(scene["look"], LABEL)
    forged = _swapped(scene, signoff, scene["look"], tmp_path / "swapped.jpg")
    for extra in ((), ("--workspace", str(pw.root))):
        code, out, err = _check(capsys, forged, "--export", str(scene["export"]), *extra)
        assert code == 1, out
        assert "ok:" not in out
        assert "names model 'ben', but assets/ava/look.jpg is an asset of model 'ava'" in err, err
        assert "out of consent: Ava withdrew her consent" in err, err
        assert "Ben withdrew" not in err, err


def test_a_cleared_file_never_published_swapped_to_another_model_fails(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pw: PublishWs = scene["pw"]
    raw = (pw.root / PENDING).read_bytes()
    signoff = manifest_assertion(scene["look"], LABEL)
    signoff.update(
        asset=PENDING,
        asset_sha256=hashlib.sha256(raw).hexdigest(),
        image_digest=image_digest(raw),
        label_box=None,
        decisions=[decision_ref(pw, PENDING, "model"), decision_ref(pw, PENDING, "agent")],
    )
    forged = _swapped(scene, signoff, raw, tmp_path / "pending-swapped.jpg")
    code, out, err = _check(
        capsys, forged, "--export", str(scene["export"]), "--workspace", str(pw.root)
    )
    assert code == 1, out
    assert "ok:" not in out
    assert "names model 'ben', but assets/ava/pending.jpg is an asset of model 'ava'" in err, err
    assert "out of consent: Ava withdrew her consent" in err, err
    assert "Ben withdrew" not in err, err


def test_a_published_entry_swapped_to_another_model_is_judged_as_hers(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The publisher's register says which model a file shows: ``published`` (and the app's
    Published view) judge her consent for the asset's own model, whatever the entry says."""
    import shutil

    from twinreview.core.logs.verify import verify_workspace
    from twinreview.core.workspace import Workspace

    pw: PublishWs = scene["pw"]
    root = tmp_path / "ws"
    shutil.copytree(pw.root, root)
    [entry] = [
        e
        for e in verify_workspace(root).entries
        if e.ok and e.kind == "published" and e.payload.get("asset") == LOOK
    ]
    header = {"v", "log", "seq", "prev", "ts", "principal", "key", "kind", "ws", "roster", "role"}
    item = {k: v for k, v in entry.payload.items() if k not in header}
    item.update(model="ben", output="ava/look-again.jpg", output_sha256="0" * 64)
    from twinreview.core.roster.log import SignedRoster

    roster = SignedRoster.load(root / "roster")
    assert roster.workspace_id is not None and roster.owner_key is not None
    TrustStore.default().pin(roster.workspace_id, roster.owner_key.fingerprint, "", root)
    pw.register().record(Workspace.open(root), [item])
    capsys.readouterr()
    code = main(["published", str(root), "--json"])
    out, _ = capsys.readouterr()
    import json

    records = [r for r in json.loads(out)["published"] if r["output"] == "ava/look-again.jpg"]
    assert code == 1
    assert [r["model"] for r in records] == ["ava"], records
    assert [r["state"] for r in records] == ["out_of_consent"], records
