"""A hostile admin must not make her own certificate authority a trust anchor.

An admin may sign the workspace policy, and the policy carries the trust anchors
``check-published`` and the scan check C2PA signers against. Ada, appointed admin, writes her
self-made CA into ``twinreview.toml`` and signs the policy; the owner exports; Ada copies the
sign-off and metadata of a legitimately published *labelled* file onto Ava's vetoed image and
signs it with her CA. The trust anchors are the owner's alone: her policy is refused (by the
service before signing, and by the roster replay when she appends the line with her own tool),
``roster show`` and ``verify`` say why, and the forgery fails as signed by an untrusted signer.
A labelled file checked without the workspace is not passed either: its pixels outside the
label were not compared, so nothing shows they are the approved ones.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from decision_helpers import reviewer
from publish_helpers import (
    TAM,
    PublishWs,
    build_publish_ws,
    copy_publish_ws,
    forge,
    manifest_assertion,
    publish_cli,
    xmp_jpeg,
)
from tools.c2pa_pki import make_pki
from twinreview.cli.main import main
from twinreview.core.publish.signoff import LABEL
from twinreview.core.publish.xmpwrite import main_packet, put_main_packet
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.people import Person
from twinreview.core.roster.views import policy_tables
from twinreview.core.roster.write import build_roster_line
from twinreview.services.disclosure import pin_trust_anchors
from twinreview.services.export import export_workspace
from twinreview.services.keys import KeyService
from twinreview.services.publish.check import check_published, export_anchors
from twinreview.services.publish.publisher import METADATA
from twinreview.services.roster_admin import RosterAdminError, RosterService
from twinreview.services.trust import TrustStore, Verifier
from worlds import Built, build_once
from wsbuild import pattern

LOOK = "assets/ava/look.jpg"
VETOED = "assets/ava/vetoed.jpg"
ADA_ANCHORS = 'trust_anchors = ["trust/ada-ca.pem", "trust/brand-ca.pem"'


def _ada(pw: PublishWs, base: Path) -> KeyService:
    """Ada, a brand reviewer the owner appoints admin."""
    owner = RosterService(pw.brand, TrustStore.default(), Verifier.default(), clock=pw.clock)
    keys = reviewer(base / "people", "ada@brand.example", "brand", "Ada")
    ident = keys.current()
    assert ident is not None
    owner.add_person(pw.root, Person(ident.principal, "Ada", "brand", ()), ident.public_key)
    owner.set_admin(pw.root, ident.principal, True)
    return keys


def _append_by_hand(root: Path, keys: KeyService, tables: dict[str, Any]) -> None:
    """What her own tool can do: sign a policy entry with her key and append it unchecked."""
    ident, key = keys.signer()
    roster = SignedRoster.load(root / "roster")
    state = roster.current
    assert state is not None
    _, line = build_roster_line(
        key,
        ident.principal,
        seq=state.seq + 1,
        prev=state.head_hash,
        ts=dt.datetime.now(dt.UTC),
        kind="policy",
        fields={"policy": tables},
        workspace_id=roster.workspace_id,
    )
    with (root / "roster" / "roster.dlog").open("ab") as fh:
        fh.write(line)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _build(folder: Path) -> dict[str, Any]:
    pw = build_publish_ws(folder)
    pattern(31, (640, 480)).save(pw.root / VETOED, "JPEG", quality=90)
    pw.decide(pw.agent, VETOED, "approve")
    pw.decide(pw.model, VETOED, "reject", reasons=["likeness_wrong"])
    out = folder / "out"
    assert publish_cli(pw, out, "--label", "--asset", LOOK) == 0
    evil = make_pki("Ada's Own CA", dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    (pw.root / "trust" / "ada-ca.pem").write_bytes(evil.ca_pem)
    # The scan cache names the folder it scanned (a binary file, not copied): each copy's
    # device starts with an empty one.
    shutil.rmtree(os.environ["TWINREVIEW_CACHE_DIR"])
    return {"pw": pw, "labelled": out / "ava" / "look.jpg", "evil": evil}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built[dict[str, Any]]:
    return build_once(tmp_path_factory, "a1-scene", _build)


@pytest.fixture
def scene(built: Built[dict[str, Any]], tmp_path: Path) -> dict[str, Any]:
    """A copy of the scene in ``tmp_path`` (built once for the module)."""
    pw = copy_publish_ws(Built(built.value["pw"], built.files, built.user), tmp_path)
    labelled = tmp_path / built.value["labelled"].relative_to(built.files)
    return {"pw": pw, "base": tmp_path, "labelled": labelled, "evil": built.value["evil"]}


def test_an_admin_cannot_sign_her_own_ca_into_the_policy(scene: dict[str, Any]) -> None:
    pw: PublishWs = scene["pw"]
    ada = _ada(pw, scene["base"])
    toml = pw.root / "twinreview.toml"
    toml.write_text(toml.read_text().replace('trust_anchors = ["trust/brand-ca.pem"', ADA_ANCHORS))
    before = (pw.root / "roster" / "roster.dlog").read_bytes()
    service = RosterService(ada, TrustStore.default(), Verifier.default(), clock=pw.clock)
    with pytest.raises(RosterAdminError, match="only the owner sets the trust anchors"):
        service.set_policy(pw.root)
    assert (pw.root / "roster" / "roster.dlog").read_bytes() == before


def test_her_hand_made_policy_entry_does_not_count_and_her_forgery_fails(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    pw: PublishWs = scene["pw"]
    base: Path = scene["base"]
    ada = _ada(pw, base)
    toml = pw.root / "twinreview.toml"
    toml.write_text(toml.read_text().replace('trust_anchors = ["trust/brand-ca.pem"', ADA_ANCHORS))
    import tomllib

    tables = pin_trust_anchors(pw.root, policy_tables(tomllib.loads(toml.read_text())))
    assert "trust/ada-ca.pem" in tables["disclosure"]["trust_anchor_certs"]
    _append_by_hand(pw.root, ada, tables)

    code, out, err = _run(capsys, "roster", "show", str(pw.root))
    assert "only the owner sets the trust anchors" in out + err, out + err
    code, out, err = _run(capsys, "verify", str(pw.root), "--json")
    assert code != 0
    assert "only the owner sets the trust anchors" in out, out

    identity, key = pw.brand.signer()
    export = base / "export"
    export_workspace(pw.root, export, identity, key)
    roster = SignedRoster.load(export / "roster")
    assert all("BEGIN CERTIFICATE" in a for a in export_anchors(roster))
    assert scene["evil"].ca_pem.decode().strip() not in "".join(export_anchors(roster))

    # Her forgery: Ava's vetoed pixels, the copied labelled sign-off, metadata and XMP.
    source = scene["labelled"].read_bytes()
    vetoed = xmp_jpeg(Image.open(pw.root / VETOED), TAM)
    vetoed = put_main_packet(vetoed, "jpeg", main_packet(source, "jpeg") or b"")
    forged = base / "forged-vetoed.jpg"
    forged.write_bytes(
        forge(
            vetoed,
            [
                {"label": LABEL, "data": manifest_assertion(source, LABEL)},
                {"label": METADATA, "data": manifest_assertion(source, METADATA)},
            ],
            scene["evil"],
        )
    )
    code, out, err = _run(capsys, "check-published", str(forged), "--export", str(export))
    assert code == 1, out
    assert "ok:" not in out
    assert "Ada's Own CA" in err and "not trusted" in err, err
    [check] = check_published([forged], export, workspace=pw.root)
    assert not check.ok and check.c2pa_state != "trusted"


def test_an_admin_may_still_sign_a_policy_that_keeps_the_owners_anchors(
    scene: dict[str, Any],
) -> None:
    pw: PublishWs = scene["pw"]
    ada = _ada(pw, scene["base"])
    toml = pw.root / "twinreview.toml"
    toml.write_text(toml.read_text().replace('"partial", "missing"]', '"partial"]'))
    service = RosterService(ada, TrustStore.default(), Verifier.default(), clock=pw.clock)
    roster = service.set_policy(pw.root)
    assert roster.ok
    state = roster.current
    assert state is not None and state.policy is not None
    assert state.policy.principal == "ada@brand.example"
    assert state.policy.tables["disclosure"]["approvable"] == ["disclosed", "partial"]


def test_the_owner_changes_the_anchors(scene: dict[str, Any]) -> None:
    pw: PublishWs = scene["pw"]
    toml = pw.root / "twinreview.toml"
    toml.write_text(toml.read_text().replace('trust_anchors = ["trust/brand-ca.pem"', ADA_ANCHORS))
    owner = RosterService(pw.brand, TrustStore.default(), Verifier.default(), clock=pw.clock)
    roster = owner.set_policy(pw.root)
    assert roster.ok
    assert scene["evil"].ca_pem.decode().strip() in "".join(export_anchors(roster))


def test_a_labelled_file_without_the_workspace_is_not_passed(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    pw: PublishWs = scene["pw"]
    identity, key = pw.brand.signer()
    export = scene["base"] / "export"
    export_workspace(pw.root, export, identity, key)
    labelled = str(scene["labelled"])
    code, out, err = _run(capsys, "check-published", labelled, "--export", str(export))
    assert code == 1, out
    assert "ok:" not in out
    assert "outside the label were not compared" in err and "--workspace" in err, err
    code, out, _ = _run(capsys, "check-published", labelled, "--export", str(export), "--json")
    [record] = json.loads(out)
    assert record["ok"] is False and record["pixels"] == "label-not-compared"
    code, out, err = _run(
        capsys, "check-published", labelled, "--export", str(export), "--workspace", str(pw.root)
    )
    assert code == 0, err
    assert out.startswith("ok") or "\nok" in out
