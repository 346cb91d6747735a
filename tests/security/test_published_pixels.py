"""Forged published files: a real sign-off on other pixels must never pass ``check-published``.

The forger holds a legitimately published file and copies its ``org.twinreview.signoff``
assertion, verbatim, onto another image: the model's vetoed image, a copy of her real reference
photo, or the published file itself with pixels painted over. They sign it with a CA they made
themselves, or with the brand's own certificate (an insider), with no ingredient, with the
reviewed file's instance id, or with any other. Every forgery must fail, through the real CLI,
with one line saying why.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import c2pa
import pytest
from PIL import Image, ImageDraw

from publish_helpers import (
    CLEARED,
    TAM,
    PublishWs,
    build_publish_ws,
    export_owner,
    publish_cli,
    xmp_jpeg,
)
from tools.c2pa_pki import Pki, make_pki
from twinreview.cli.main import main
from twinreview.core.disclosure.c2pa_writer import make_signer, read_store, signing_context
from twinreview.core.publish.signoff import LABEL
from twinreview.core.publish.xmpwrite import main_packet, put_main_packet
from twinreview.services.export import export_workspace
from twinreview.services.publish.publisher import METADATA

LOOK = "assets/ava/look.jpg"
VETOED = "assets/ava/vetoed.jpg"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A published look.jpg, Ava's vetoed image, an export; built once for every forgery."""
    base = tmp_path_factory.mktemp("forgery")
    pw = build_publish_ws(base)
    from wsbuild import pattern

    pattern(31, (640, 480)).save(pw.root / VETOED, "JPEG", quality=90)
    pw.decide(pw.agent, VETOED, "approve")
    pw.decide(pw.model, VETOED, "reject", reasons=["likeness_wrong"])
    out = base / "out"
    assert publish_cli(pw, out, *[a for rel in CLEARED for a in ("--asset", rel)]) == 0
    identity, key = pw.agent.signer()
    export_workspace(pw.root, base / "export", identity, key)
    published = out / "ava" / "look.jpg"
    store = json.loads(read_store(published.read_bytes(), "image/jpeg", signing_context()))
    active = store["manifests"][store["active_manifest"]]
    signoff = next(a["data"] for a in active["assertions"] if a["label"] == LABEL)
    evil = make_pki("Evil Studio", dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    return {
        "pw": pw,
        "base": base,
        "published": published,
        "signoff": signoff,
        "export": base / "export",
        "evil": evil,
    }


def _painted(data: bytes) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    ImageDraw.Draw(img).rectangle((200, 150, 330, 260), fill=(250, 20, 20))
    return xmp_jpeg(img, TAM)


def _target(scene: dict[str, Any], name: str) -> bytes:
    pw: PublishWs = scene["pw"]
    if name == "vetoed":
        return xmp_jpeg(Image.open(pw.root / VETOED), TAM)
    if name == "reference":
        return xmp_jpeg(Image.open(pw.root / "models" / "ava" / "references" / "ref1.jpg"), TAM)
    return _painted(scene["published"].read_bytes())


def _forge(
    data: bytes,
    signoff: dict[str, Any],
    pki: Pki,
    ingredient: str,
    metadata: dict[str, Any] | None = None,
) -> bytes:
    """Sign ``data`` with the copied sign-off (and metadata assertion), through c2pa-python."""
    manifest = {
        "claim_generator_info": [{"name": "twinreview", "version": "0.1.0"}],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": TAM}]},
            },
            {"label": LABEL, "data": signoff},
            *([{"label": METADATA, "data": metadata}] if metadata is not None else []),
        ],
    }
    signer = make_signer("es256", pki.chain_pem, pki.key_pem)
    try:
        with c2pa.Builder.from_json(manifest, signing_context()) as builder:
            if ingredient != "none":
                instance = (
                    f"sha256:{signoff['asset_sha256']}"
                    if ingredient == "reviewed"
                    else "xmp:iid:0b2f6c1e-forged"
                )
                builder.add_ingredient(
                    {"title": "look.jpg", "relationship": "componentOf", "instance_id": instance},
                    "image/jpeg",
                    io.BytesIO(data),
                )
            out = io.BytesIO()
            builder.sign(signer, "image/jpeg", io.BytesIO(data), out)
            return out.getvalue()
    finally:
        signer.close()


@pytest.mark.parametrize("target", ["vetoed", "reference", "painted"])
@pytest.mark.parametrize("signed_with", ["brand", "self-made CA"])
def test_a_copied_signoff_on_other_pixels_fails(
    scene: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    target: str,
    signed_with: str,
) -> None:
    pw: PublishWs = scene["pw"]
    pki = pw.pki if signed_with == "brand" else scene["evil"]
    data = _target(scene, target)
    files = []
    for ingredient in ("none", "reviewed", "other"):
        path = tmp_path / f"{target}-{ingredient}.jpg"
        path.write_bytes(_forge(data, scene["signoff"], pki, ingredient))
        files.append(path)
    capsys.readouterr()
    code = main(["check-published", *map(str, files), "--export", str(scene["export"])])
    out, err = capsys.readouterr()
    assert code == 1, out
    assert "ok:" not in out
    for path in files:
        lines = [ln for ln in err.splitlines() if ln.startswith(f"twinreview: {path}: ")]
        assert lines, (path.name, err)
        if signed_with == "self-made CA":
            assert len(lines) == 1, lines
            assert "not trusted" in lines[0] and "Evil Studio" in lines[0], lines
        else:
            assert any("image data" in ln and "not the image" in ln for ln in lines), lines


def test_the_genuine_file_still_passes(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    owner = export_owner(scene["export"])
    export = ["--export", str(scene["export"])]
    code = main(["check-published", str(scene["published"]), *export, "--owner", owner])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines()[1].startswith(f"ok: {scene['published']}: {LOOK} approved by"), out


# -- a stamped label: the pixels outside it, compared with the approved file -----------------------


@pytest.fixture(scope="module")
def labelled(scene: dict[str, Any]) -> dict[str, Any]:
    pw: PublishWs = scene["pw"]
    out = scene["base"] / "labelled"
    assert publish_cli(pw, out, "--label", *[a for r in CLEARED for a in ("--asset", r)]) == 0
    return {"out": out, "files": [out / rel.removeprefix("assets/") for rel in CLEARED]}


def test_a_labelled_copy_says_who_stamped_it_and_compares_the_rest(
    scene: dict[str, Any], labelled: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    pw: PublishWs = scene["pw"]
    files = [str(p) for p in labelled["files"]]
    capsys.readouterr()
    code = main(["check-published", *files, "--export", str(scene["export"])])
    out, err = capsys.readouterr()
    # Without the approved file the pixels around the label are unchecked: not passed.
    assert code == 1, out
    assert "ok: " not in out
    assert err.count("its pixels outside the label were not compared with the approved file") == 3
    assert err.count("check it with --workspace WS") == 3
    owner = ["--owner", export_owner(scene["export"])]
    code = main(
        [
            "check-published",
            *files,
            "--export",
            str(scene["export"]),
            "--workspace",
            str(pw.root),
            *owner,
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.count("ok: ") == 3
    assert out.count("stamped by the publisher (Test Brand signer)") == 3
    assert out.count("every other pixel was compared with the approved file") == 3


def test_a_labelled_copy_painted_over_and_re_signed_fails_against_the_workspace(
    scene: dict[str, Any],
    labelled: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """An insider paints over a labelled copy and signs it again with the brand's key."""
    pw: PublishWs = scene["pw"]
    source = labelled["files"][0]
    store = json.loads(read_store(source.read_bytes(), "image/jpeg", signing_context()))
    active = store["manifests"][store["active_manifest"]]
    signoff = next(a["data"] for a in active["assertions"] if a["label"] == LABEL)
    metadata = next(a["data"] for a in active["assertions"] if a["label"] == METADATA)
    assert signoff["label_box"] is not None
    # The insider keeps the person fields and their binding: only the pixels are at stake.
    painted = put_main_packet(
        _painted(source.read_bytes()), "jpeg", main_packet(source.read_bytes(), "jpeg") or b""
    )
    forged = tmp_path / "painted-labelled.jpg"
    forged.write_bytes(_forge(painted, signoff, pw.pki, "reviewed", metadata))
    capsys.readouterr()
    code = main(
        [
            "check-published",
            str(forged),
            "--export",
            str(scene["export"]),
            "--workspace",
            str(pw.root),
        ]
    )
    _, err = capsys.readouterr()
    assert code == 1
    assert "outside the label its pixels differ from the approved image" in err
    assert "between x 192-336 and y 144-264" in err  # the painted rectangle
    # Without the workspace nothing can be compared: the output says so, and does not pass it.
    code = main(["check-published", str(forged), "--export", str(scene["export"]), "--json"])
    [record] = json.loads(capsys.readouterr().out)
    assert code == 1 and record["ok"] is False
    assert record["pixels"] == "label-not-compared"
    assert any("were not compared" in p for p in record["problems"])


# -- decisions signed before they named their image data -------------------------------------------


def test_a_decision_without_image_digest_is_checked_through_the_workspace(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twinreview.services import decisions

    monkeypatch.setattr(decisions, "_image_digest", lambda ws, facts: None)
    pw = build_publish_ws(tmp_path)
    out = tmp_path / "out"
    assert publish_cli(pw, out, "--asset", LOOK) == 0
    identity, key = pw.agent.signer()
    export_workspace(pw.root, tmp_path / "export", identity, key)
    published = out / "ava" / "look.jpg"
    capsys.readouterr()
    code = main(["check-published", str(published), "--export", str(tmp_path / "export")])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.count("does not name the image data it approved") == 2
    assert "--workspace WS" in err
    check = ["check-published", str(published), "--export", str(tmp_path / "export")]
    assert main([*check, "--workspace", str(pw.root)]) == 0, capsys.readouterr().err
    # The workspace's file must still be the approved one.
    (pw.root / LOOK).write_bytes((pw.root / LOOK).read_bytes() + b"\0")
    capsys.readouterr()
    assert main([*check, "--workspace", str(pw.root)]) == 1
    assert "is no longer the file that was approved" in capsys.readouterr().err


# -- trust anchors: the owner's, carried by the export ---------------------------------------------


def test_an_export_without_signed_anchors_needs_trust_anchor(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A policy signed before anchors were signed with it: the auditor names the CA."""
    pw: PublishWs = scene["pw"]
    from twinreview.services.export_check import ROSTER_FILE

    export = tmp_path / "old-export"
    identity, key = pw.agent.signer()
    export_workspace(pw.root, export, identity, key)
    from twinreview.services.publish import check as publish_check

    roster = publish_check.SignedRoster.from_bytes((export / ROSTER_FILE).read_bytes())
    assert publish_check.export_anchors(roster)  # signed with the policy at init
    published = str(scene["published"])
    real = publish_check.export_anchors
    try:
        publish_check.export_anchors = lambda roster: []  # type: ignore[assignment]
        capsys.readouterr()
        assert main(["check-published", published, "--export", str(export)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no trust anchor" in err and "--trust-anchor PEM" in err
        ca = tmp_path / "brand-ca.pem"
        ca.write_bytes(pw.pki.ca_pem)
        other = tmp_path / "evil-ca.pem"
        other.write_bytes(scene["evil"].ca_pem)
        assert (
            main(["check-published", published, "--export", str(export), "--trust-anchor", str(ca)])
            == 0
        )
        capsys.readouterr()
        assert (
            main(
                [
                    "check-published",
                    published,
                    "--export",
                    str(export),
                    "--trust-anchor",
                    str(other),
                ]
            )
            == 1
        )
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "which is not trusted" in err
    finally:
        publish_check.export_anchors = real  # type: ignore[assignment]


def test_a_swapped_anchor_file_in_the_folder_changes_nothing(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A writer of the folder puts their own CA where the brand's was: the signed one counts."""
    pw: PublishWs = scene["pw"]
    evil_file = tmp_path / "evil.jpg"
    evil_file.write_bytes(_forge(_target(scene, "vetoed"), scene["signoff"], scene["evil"], "none"))
    anchor = pw.root / "trust" / "brand-ca.pem"
    original = anchor.read_bytes()
    try:
        anchor.write_bytes(scene["evil"].ca_pem)
        capsys.readouterr()
        main(["inspect", "--json", "--workspace", str(pw.root), str(evil_file)])
        [record] = json.loads(capsys.readouterr().out)
        assert record["disclosure"]["c2pa"]["state"] == "valid-untrusted"
    finally:
        anchor.write_bytes(original)
