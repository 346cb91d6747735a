"""A published look-alike image is not cleared without the word of the model it looks like.

A hostile admin adds a model ``mal`` whose reference photos are copies of Ava's, with a model
person and an agent whose keys she holds; both approve (with an override) an AI image of Ava
filed under ``mal``. ``status`` keeps it from clearing: it looks like Ava, so Ava's own approval
is needed. A forger holding the brand's signing certificate and an export then signs that image
with a sign-off naming Mal's and her agent's real approvals (and the person fields of a Mal image
published genuinely). ``check-published --export`` must judge it as ``status`` does: not
cleared, because Ava's approval is missing; and her reject is named as a reject. Real corpus
faces (Ava is the corpus person "obama").
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from conftest import CORPUS, SyncExecutor
from decision_helpers import reviewer
from publish_helpers import (
    TAM,
    PublishWs,
    build_publish_ws,
    decision_ref,
    export_owner,
    forge,
    manifest_assertion,
    publish_cli,
    xmp_jpeg,
)
from twinreview.cli.main import main
from twinreview.core.publish.imagedigest import image_digest
from twinreview.core.publish.signoff import LABEL
from twinreview.core.publish.xmpwrite import main_packet, put_main_packet
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.people import Person
from twinreview.core.workspace import Workspace
from twinreview.services.compose import make_scan_service
from twinreview.services.export import export_workspace
from twinreview.services.publish.publisher import METADATA
from twinreview.services.roster_admin import RosterService
from twinreview.services.scan.cache import ResultCache
from twinreview.services.status import compute_status
from twinreview.services.trust import TrustStore, Verifier
from wsbuild import pattern

LOOK = "assets/mal/look.jpg"
PLAIN = "assets/mal/plain.jpg"
MISSING = "the image also looks like Ava: her own approval is needed and none stands in the export"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # A module-wide world: the same rule as the ``corpus_dir`` fixture (a failure when CI=true).
    if not CORPUS.is_dir():
        msg = f"shared corpus not found at {CORPUS}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{msg} (CI=true: the corpus is required)")
        pytest.skip(msg)
    corpus = CORPUS / "faces"
    base = tmp_path_factory.mktemp("lookalike")
    pw = build_publish_ws(base)
    root = pw.root
    refs = root / "models/ava/references"
    for f in refs.iterdir():
        f.unlink()
    (root / "models/mal/references").mkdir(parents=True)
    (root / "models/mal/model.toml").write_text('display_name = "Mal"\n')
    for n in ("obama_1.jpg", "obama_2.jpg"):
        shutil.copy(corpus / n, refs / n)
        shutil.copy(corpus / n, root / "models/mal/references" / n)
    (root / "assets/mal").mkdir(parents=True)
    (root / LOOK).write_bytes(xmp_jpeg(Image.open(corpus / "obama_3.jpg").convert("RGB"), TAM))
    pattern(41, (640, 480)).save(root / PLAIN, "JPEG", quality=90)

    admin = RosterService(pw.brand, TrustStore.default(), Verifier.default(), clock=pw.clock)
    mal = reviewer(base / "people", "mal@evil.example", "model", "Mal")
    pup = reviewer(base / "people", "pup@evil.example", "agent", "Pup")
    for keys in (mal, pup):
        ident = keys.current()
        assert ident is not None
        admin.add_person(
            root,
            Person(ident.principal, ident.display_name, ident.role, ("mal",)),
            ident.public_key,
        )
    RosterService(mal, TrustStore.default(), Verifier.default(), clock=pw.clock).consent(
        root, "mal", purpose="anything", no_expiry=True
    )
    # A Mal image without a face, cleared and published genuinely: its person fields are Mal's.
    for keys in (mal, pup):
        pw.decide(keys, PLAIN, "approve")
    out = base / "out"
    assert publish_cli(pw, out, "--asset", PLAIN) == 0

    scan = make_scan_service(SyncExecutor(), ResultCache.in_memory()).scan(Workspace.open(root))
    (result,) = [a for a in scan.assets if a.asset.rel == LOOK]
    kinds = {f.kind for f in result.findings}
    assert {"also_looks_like_model", "reference_copies"} <= kinds, kinds
    for keys in (mal, pup):
        pw.decide(
            keys, LOOK, "approve", findings=result.findings, override=True,
            expected_sha256=result.sha256,
        )  # fmt: skip
    return {"pw": pw, "plain": (out / "mal/plain.jpg").read_bytes(), "scan": result}


def _export(pw: PublishWs, dest: Path) -> Path:
    ident, key = pw.agent.signer()
    export_workspace(pw.root, dest, ident, key)
    return dest


def _forged(scene: dict[str, Any], path: Path) -> Path:
    """The look-alike image signed with the brand's key, naming Mal's and Pup's approvals."""
    pw: PublishWs = scene["pw"]
    raw = (pw.root / LOOK).read_bytes()
    signoff = manifest_assertion(scene["plain"], LABEL)
    signoff.update(
        asset=LOOK,
        asset_sha256=hashlib.sha256(raw).hexdigest(),
        image_digest=image_digest(raw),
        sidecar_sha256=None,
        label_box=None,
        decisions=[decision_ref(pw, LOOK, "model"), decision_ref(pw, LOOK, "agent")],
    )
    data = put_main_packet(raw, "jpeg", main_packet(scene["plain"], "jpeg") or b"")
    assertions = [
        {"label": LABEL, "data": signoff},
        {"label": METADATA, "data": manifest_assertion(scene["plain"], METADATA)},
    ]
    path.write_bytes(forge(data, assertions, pw.pki))
    return path


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["check-published", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _state(pw: PublishWs) -> str:
    [asset] = [a for a in compute_status(Workspace.open(pw.root)).assets if a.path == LOOK]
    return asset.evaluation.state.value


def test_a_forged_signoff_on_a_look_alike_image_is_not_cleared(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pw: PublishWs = scene["pw"]
    assert _state(pw) != "cleared"
    export = _export(pw, tmp_path / "export")
    forged = _forged(scene, tmp_path / "look.jpg")
    owner = ("--owner", export_owner(export))
    for extra in (owner, (*owner, "--workspace", str(pw.root))):
        code, out, err = _check(capsys, str(forged), "--export", str(export), *extra)
        assert code == 1, out
        assert "ok:" not in out
        lines = [ln for ln in err.splitlines() if MISSING in ln]
        assert len(lines) == 1, err


def test_her_approval_clears_it_and_her_reject_is_named(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pw: PublishWs = scene["pw"]
    root = tmp_path / "ws"
    shutil.copytree(pw.root, root)
    roster = SignedRoster.load(root / "roster")
    assert roster.workspace_id is not None and roster.owner_key is not None
    TrustStore.default().pin(roster.workspace_id, roster.owner_key.fingerprint, "", root)
    copy = PublishWs(root, pw.pki, pw.model, pw.agent, pw.clock, pw.brand)
    forged = _forged({**scene, "pw": copy}, tmp_path / "look.jpg")

    seen = {"findings": scene["scan"].findings, "expected_sha256": scene["scan"].sha256}
    copy.decide(copy.model, LOOK, "approve", **seen)
    assert _state(copy) == "cleared"
    export = _export(copy, tmp_path / "a")
    code, out, err = _check(
        capsys, str(forged), "--export", str(export), "--owner", export_owner(export)
    )
    assert MISSING not in err, err
    assert code == 0, err

    copy.decide(copy.model, LOOK, "reject", reasons=["likeness_wrong"], **seen)
    assert _state(copy) == "rejected"
    export = _export(copy, tmp_path / "r")
    code, out, err = _check(
        capsys, str(forged), "--export", str(export), "--owner", export_owner(export)
    )
    assert code == 1, out
    assert "Ava (model) rejected it" in err and "not cleared in the export" in err, err
    assert MISSING not in err, err
