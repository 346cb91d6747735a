"""A published file says who is in it and under which consent, and the manifest binds it.

Read back with readers that are not twinreview's: c2pa-python's Reader for the manifest's
assertions, ExifTool for the XMP fields. Then the edits: a bound field changed in place (the
manifest breaks), the XMP rewritten and the file signed again with the brand's key (the XMP no
longer matches what the manifest binds), a sign-off naming a consent the export does not hold.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import c2pa
import pytest

from publish_helpers import (
    CLEARED,
    COMPOSITE,
    PURPOSE,
    TAM,
    PublishWs,
    build_publish_ws,
    publish_cli,
)
from twinreview.cli.main import main
from twinreview.core.disclosure.c2pa_writer import make_signer, signing_context
from twinreview.core.disclosure.xmpfields import read_fields
from twinreview.core.publish.signoff import LABEL
from twinreview.core.publish.xmpwrite import main_packet, put_main_packet
from twinreview.core.roster.log import SignedRoster
from twinreview.services.export import export_workspace

MIME = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
LIMITED = "http://ns.useplus.org/ldf/vocab/MR-LMR"


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("fields")
    pw = build_publish_ws(base)
    out = base / "out"
    assert publish_cli(pw, out, "--no-training") == 0
    identity, key = pw.agent.signer()
    export_workspace(pw.root, base / "export", identity, key)
    roster = SignedRoster.load(pw.root / "roster")
    consent = roster.current.consent_for("ava")  # type: ignore[union-attr]
    assert consent is not None
    return {
        "pw": pw,
        "base": base,
        "files": {rel: out / rel.removeprefix("assets/") for rel in CLEARED},
        "export": base / "export",
        "consent": consent,
        "ws_id": roster.workspace_id,
    }


def reader_store(path: Path) -> dict[str, Any]:
    """The manifest store as c2pa-python's own Reader gives it."""
    ctx = c2pa.Context(
        settings=c2pa.Settings.from_dict(
            {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
        )
    )
    with c2pa.Reader(MIME[path.suffix], io.BytesIO(path.read_bytes()), None, ctx) as reader:
        store: dict[str, Any] = json.loads(reader.json())
    return store


def active_assertion(store: dict[str, Any], label: str) -> Any:
    active = store["manifests"][store["active_manifest"]]
    return next(a["data"] for a in active["assertions"] if a["label"] == label)


@pytest.mark.parametrize("rel", CLEARED)
def test_the_manifest_binds_who_is_shown_and_her_consent(done: dict[str, Any], rel: str) -> None:
    store = reader_store(done["files"][rel])
    consent = done["consent"]
    meta = active_assertion(store, "c2pa.metadata")
    source_type = COMPOSITE if rel.endswith(".webp") else TAM
    expected = {
        "Iptc4xmpExt:DigitalSourceType": source_type,
        "Iptc4xmpExt:PersonInImage": ["Ava"],
        "Iptc4xmpExt:PersonInImageWDetails": [
            {
                "Iptc4xmpExt:PersonName": {"x-default": "Ava"},
                "Iptc4xmpExt:PersonId": [f"urn:twinreview:{done['ws_id']}:model:ava"],
            }
        ],
        "plus:ModelReleaseStatus": LIMITED,
        "plus:ModelReleaseID": [f"twinreview-consent:sha256:{consent.entry_hash}"],
        "plus:DataMining": "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED",
    }
    if rel.endswith(".webp"):
        expected["Iptc4xmpExt:AISystemUsed"] = "FluxGen 2"  # from its sidecar's generator
    assert {k: v for k, v in meta.items() if k != "@context"} == expected
    # The XMP says the same, field for field.
    packet = main_packet(
        done["files"][rel].read_bytes(), rel.rsplit(".", 1)[1].replace("jpg", "jpeg")
    )
    assert packet is not None and read_fields(packet) == expected
    signoff = active_assertion(store, LABEL)
    assert signoff["consent"] == {
        "entry_hash": consent.entry_hash,
        "roster_seq": consent.seq,
        "uses": None,
        "purpose": PURPOSE,
        "expires": None,
        "no_expiry": False,
    }
    assert "cawg.training-mining" in [
        a["label"] for a in store["manifests"][store["active_manifest"]]["assertions"]
    ]


def _exiftool() -> str:
    exe = shutil.which("exiftool")
    if exe is None:
        import os

        if os.environ.get("CI") == "true":
            pytest.fail("exiftool is required in CI (libimage-exiftool-perl)")
        pytest.skip("exiftool is not installed (apt-get install libimage-exiftool-perl)")
    return exe


@pytest.mark.parametrize("rel", CLEARED)
def test_exiftool_reads_the_fields(done: dict[str, Any], rel: str) -> None:
    exe = _exiftool()
    path = done["files"][rel]
    proc = subprocess.run(
        [exe, "-j", "-struct", "-XMP:all", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    [tags] = json.loads(proc.stdout)
    assert tags["PersonInImage"] == ["Ava"]
    assert tags["PersonInImageWDetails"] == [
        {"PersonId": [f"urn:twinreview:{done['ws_id']}:model:ava"], "PersonName": "Ava"}
    ]
    assert tags["ModelReleaseStatus"] == "Limited or Incomplete Model Releases"
    assert tags["ModelReleaseID"] == [f"twinreview-consent:sha256:{done['consent'].entry_hash}"]
    assert tags["DigitalSourceType"] in (TAM, COMPOSITE)
    if rel.endswith(".webp"):
        assert tags["AISystemUsed"] == "FluxGen 2"
    else:
        assert "AISystemUsed" not in tags  # no generator in the sidecar: nothing invented


def test_a_bound_field_edited_in_place_breaks_the_manifest(
    done: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = done["files"][CLEARED[0]]
    edited = tmp_path / "edited.jpg"
    data = source.read_bytes()
    assert data.count(b"<rdf:li>Ava</rdf:li>") == 1
    edited.write_bytes(data.replace(b"<rdf:li>Ava</rdf:li>", b"<rdf:li>Eve</rdf:li>"))
    assert reader_store(edited)["validation_state"] == "Invalid"
    capsys.readouterr()
    assert main(["check-published", str(edited), "--export", str(done["export"])]) == 1
    assert "altered after signing" in capsys.readouterr().err


def _resign(data: bytes, store: dict[str, Any], pw: PublishWs, mime: str) -> bytes:
    """The brand's key signs ``data`` again, with the active manifest's own assertions."""
    active = store["manifests"][store["active_manifest"]]
    keep = [
        {"label": a["label"], "data": a["data"]}
        for a in active["assertions"]
        if not a["label"].startswith(("c2pa.hash", "c2pa.ingredient"))
    ]
    manifest = {
        "claim_generator_info": [{"name": "twinreview", "version": "0"}],
        "assertions": keep,
    }
    signer = make_signer("es256", pw.pki.chain_pem, pw.pki.key_pem)
    try:
        with c2pa.Builder.from_json(manifest, signing_context()) as builder:
            out = io.BytesIO()
            builder.sign(signer, mime, io.BytesIO(data), out)
            return out.getvalue()
    finally:
        signer.close()


def test_xmp_rewritten_and_signed_again_no_longer_matches_what_is_bound(
    done: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An insider with the brand key points the model release id at another consent."""
    pw: PublishWs = done["pw"]
    source = done["files"][CLEARED[0]]
    data = source.read_bytes()
    store = reader_store(source)
    packet = main_packet(data, "jpeg")
    assert packet is not None
    other = packet.replace(done["consent"].entry_hash.encode(), b"0" * 64)
    forged = tmp_path / "forged.jpg"
    forged.write_bytes(_resign(put_main_packet(data, "jpeg", other), store, pw, "image/jpeg"))
    assert reader_store(forged)["validation_state"] != "Invalid"  # a valid manifest...
    capsys.readouterr()
    assert main(["check-published", str(forged), "--export", str(done["export"])]) == 1
    err = capsys.readouterr().err
    assert "its XMP plus:ModelReleaseID is" in err and "the metadata was changed" in err


def test_a_signoff_naming_a_consent_the_export_does_not_hold_fails(
    done: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pw: PublishWs = done["pw"]
    source = done["files"][CLEARED[0]]
    store = reader_store(source)
    active = store["manifests"][store["active_manifest"]]
    for a in active["assertions"]:
        if a["label"] == LABEL:
            a["data"]["consent"]["entry_hash"] = "ab" * 32
    forged = tmp_path / "forged.jpg"
    forged.write_bytes(_resign(source.read_bytes(), store, pw, "image/jpeg"))
    capsys.readouterr()
    assert main(["check-published", str(forged), "--export", str(done["export"])]) == 1
    err = capsys.readouterr().err
    assert "the consent it names (abababababababab...) is not a consent of model 'ava'" in err


def test_the_genuine_files_pass(done: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in done["files"].values()]
    capsys.readouterr()
    assert main(["check-published", *files, "--export", str(done["export"])]) == 0, (
        capsys.readouterr().err
    )
