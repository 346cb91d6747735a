"""Publishing: only cleared assets leave, disclosed, brand-signed, carrying a checkable sign-off.

Attacks first: a pixel changed after publishing, the assertion edited in the file, a log entry
edited or dropped from the export, a sign-off grafted from another asset, an asset that is not
cleared, a certificate C2PA must refuse. Then the round trip on JPEG, PNG and WebP, read back
with c2pa-python's own Reader, the options, the keyring, and the demo out of the box.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import zlib
from pathlib import Path
from typing import Any

import c2pa
import pytest
from PIL import Image

from decision_helpers import MemoryKeyring
from publish_helpers import (
    BLOCKED,
    CAPTURE,
    CLEARED,
    COMPOSITE,
    PENDING,
    REJECTED,
    TAM,
    PublishWs,
    build_publish_ws,
    clear,
    copy_publish_ws,
    publish_cli,
    tree_digest,
    xmp_jpeg,
)
from twinreview.cli.keys_cmd import cmd_import_c2pa
from twinreview.cli.main import main
from twinreview.cli.publish_cmd import cmd_publish, register
from twinreview.core.disclosure.c2pa_writer import make_signer, sign_asset, signing_context
from twinreview.core.publish.signoff import LABEL, Signoff
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionService
from twinreview.services.export import export_workspace
from twinreview.services.keys import KeyringRefused, KeyService, KeyStore
from twinreview.services.publish.check import check_published
from twinreview.services.publish.publisher import publish_workspace
from twinreview.services.publish.register import PublishRegister
from twinreview.services.publish.signer import C2paKeyStore, load_credentials
from worlds import Built, build_once
from wsbuild import pattern


@pytest.fixture(scope="module")
def built_pw(tmp_path_factory: pytest.TempPathFactory) -> Built[PublishWs]:
    return build_once(tmp_path_factory, "publish-ws", build_publish_ws)


@pytest.fixture
def pw(built_pw: Built[PublishWs], tmp_path: Path) -> PublishWs:
    """A fresh copy of the publishing workspace in ``tmp_path`` (built once for the module)."""
    return copy_publish_ws(built_pw, tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def publish_as(
    capsys: pytest.CaptureFixture[str], keys: KeyService, *argv: str
) -> tuple[int, str, str]:
    """``twinreview publish ARGV`` with ``keys`` as this device's reviewer key."""
    parser = argparse.ArgumentParser(prog="twinreview")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["publish", *argv])
    code = cmd_publish(args, C2paKeyStore.from_system, lambda: PublishRegister(keys))
    out, err = capsys.readouterr()
    return code, out, err


def demo_with_publisher(tmp_path: Path) -> tuple[Path, KeyService]:
    """The demo, with a brand reviewer of this device on its roster (as ``twinreview demo``)."""
    from decision_helpers import reviewer
    from twinreview.core.roster.people import Person
    from twinreview.services.demo import build_demo
    from twinreview.services.trust import TrustStore

    me = reviewer(tmp_path / "people", "me@brand.example", "brand", "Me")
    ident = me.current()
    assert ident is not None
    person = Person(ident.principal, ident.display_name, "brand", ("milo", "nova"))
    demo = build_demo(tmp_path / "demo", (person, ident.public_key), TrustStore.default())
    return demo, me


def publish(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, out: Path, *extra: str
) -> tuple[int, str, str]:
    code = publish_cli(pw, out, *extra)
    stdout, err = capsys.readouterr()
    return code, stdout, err


def inspect(capsys: pytest.CaptureFixture[str], pw: PublishWs, *files: Path) -> list[Any]:
    code, out, _ = run(capsys, "inspect", "--json", "--workspace", str(pw.root), *map(str, files))
    assert code == 0
    records: list[Any] = json.loads(out)
    return records


def store_of(path: Path, anchors: bytes | None = None) -> dict[str, Any]:
    """The manifest store as c2pa-python's own Reader reads it (no twinreview code)."""
    settings = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if anchors:
        settings["trust"] = {"user_anchors": anchors.decode()}  # type: ignore[dict-item]
    ctx = c2pa.Context(settings=c2pa.Settings.from_dict(settings))
    mime = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}[path.suffix]
    with c2pa.Reader(mime, io.BytesIO(path.read_bytes()), None, ctx) as reader:
        store: dict[str, Any] = json.loads(reader.json())
    return store


def assertion(store: dict[str, Any], label: str) -> Any:
    active = store["manifests"][store["active_manifest"]]
    found = [a["data"] for a in active["assertions"] if a["label"] == label]
    assert found, f"no {label} in {[a['label'] for a in active['assertions']]}"
    return found[0]


def out_path(out: Path, rel: str) -> Path:
    return out / rel.removeprefix("assets/")


def export(pw: PublishWs, dest: Path) -> Path:
    identity, key = pw.agent.signer()
    export_workspace(pw.root, dest, identity, key)
    return dest


def published(capsys: pytest.CaptureFixture[str], pw: PublishWs, out: Path) -> None:
    code, _, err = publish(capsys, pw, out, *[a for rel in CLEARED for a in ("--asset", rel)])
    assert code == 0, err


# -- attacks -------------------------------------------------------------------------------------


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    pos, chunks = 8, []
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def _png_with_pixel_changed(data: bytes) -> bytes:
    """The same PNG, every other chunk kept (manifest, XMP), its pixels with one pixel changed."""
    img = Image.open(io.BytesIO(data))
    img.load()
    r, g, b = img.getpixel((0, 0))  # type: ignore[misc]
    img.putpixel((0, 0), (r ^ 1, g, b))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    new_idat = b"".join(body for ctype, body in _chunks(buf.getvalue()) if ctype == b"IDAT")
    out, done = bytearray(data[:8]), False
    for ctype, body in _chunks(data):
        if ctype == b"IDAT":
            if done:
                continue
            body, done = new_idat, True
        crc = zlib.crc32(ctype + body) & 0xFFFFFFFF
        out += len(body).to_bytes(4, "big") + ctype + body + crc.to_bytes(4, "big")
    return bytes(out)


def test_one_pixel_changed_after_publishing_is_tampered(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    published(capsys, pw, out)
    png = out_path(out, "assets/ava/still.png")
    before = Image.open(io.BytesIO(png.read_bytes())).convert("RGB")
    png.write_bytes(_png_with_pixel_changed(png.read_bytes()))
    after = Image.open(png).convert("RGB")
    from PIL import ImageChops

    assert ImageChops.difference(before, after).getbbox() == (0, 0, 1, 1)  # one pixel
    jpg = out_path(out, "assets/ava/look.jpg")
    data = bytearray(jpg.read_bytes())
    data[-200] ^= 0x10  # inside the entropy-coded pixels
    jpg.write_bytes(bytes(data))
    for rec in inspect(capsys, pw, png, jpg):
        d = rec["disclosure"]
        assert (d["verdict"], d["c2pa"]["state"]) == ("blocked", "invalid-integrity"), rec["path"]
    export_dir = export(pw, tmp_path / "export")
    code, _, err = run(capsys, "check-published", str(png), "--export", str(export_dir))
    assert code == 1
    assert "altered after signing" in err


def test_assertion_edited_in_the_file_is_caught(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    published(capsys, pw, out)
    jpg = out_path(out, "assets/ava/look.jpg")
    data = jpg.read_bytes()
    who = b"sam@agency.example"
    assert who in data
    jpg.write_bytes(data.replace(who, b"eve@agency.example"))
    [rec] = inspect(capsys, pw, jpg)
    assert rec["disclosure"]["c2pa"]["state"] == "invalid-integrity"
    code, _, err = run(
        capsys, "check-published", str(jpg), "--export", str(export(pw, tmp_path / "exp"))
    )
    assert code == 1 and "altered after signing" in err


def test_export_log_entry_edited_or_missing_fails_check(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    published(capsys, pw, out)
    jpg = out_path(out, "assets/ava/look.jpg")
    signoff = Signoff.from_json(assertion(store_of(jpg), LABEL))
    agent_decision = next(d for d in signoff.decisions if d.role == "agent")
    good = export(pw, tmp_path / "good")
    code, stdout, err = run(capsys, "check-published", str(jpg), "--export", str(good))
    assert code == 0, err
    assert "approved by ava@example.com (model), sam@agency.example (agent)" in stdout

    # Edited: the decision's line in the exported log says something else (re-encoded payload).
    edited = export(pw, tmp_path / "edited")
    log = next(p for p in (edited / "logs").rglob("*.dlog") if p.name.startswith("sam@"))
    lines = log.read_bytes().splitlines(keepends=True)
    line = json.loads(lines[agent_decision.seq])
    payload = json.loads(base64.b64decode(line["payload"]))
    payload["note"] = "changed after the fact"
    line["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    lines[agent_decision.seq] = (json.dumps(line) + "\n").encode()
    log.write_bytes(b"".join(lines))
    code, _, err = run(capsys, "check-published", str(jpg), "--export", str(edited))
    assert code == 1
    assert "sam@agency.example (agent)" in err

    # Missing: the decision's line (and what follows) is gone from the exported log.
    missing = export(pw, tmp_path / "missing")
    log = next(p for p in (missing / "logs").rglob("*.dlog") if p.name.startswith("sam@"))
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[: agent_decision.seq]))
    code, _, err = run(capsys, "check-published", str(jpg), "--export", str(missing))
    assert code == 1
    assert "is not in the export" in err


def test_signoff_grafted_from_another_asset_fails_check(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    """Someone holding the brand key signs a never-cleared image with another asset's sign-off."""
    out = tmp_path / "out"
    published(capsys, pw, out)
    donor = Signoff.from_json(assertion(store_of(out_path(out, "assets/ava/look.jpg")), LABEL))
    victim = (pw.root / PENDING).read_bytes()
    forged_signoff = {
        **donor.to_json(),
        "asset": PENDING,
        "asset_sha256": hashlib.sha256(victim).hexdigest(),
    }
    manifest = {
        "claim_generator_info": [{"name": "twinreview", "version": "0.1.0"}],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": TAM}]},
            },
            {"label": LABEL, "data": forged_signoff},
        ],
    }
    signer = make_signer("es256", pw.pki.chain_pem, pw.pki.key_pem)
    forged = sign_asset(
        xmp_jpeg(Image.open(io.BytesIO(victim)), TAM),
        "image/jpeg",
        manifest,
        {"title": "pending.jpg", "relationship": "componentOf"},
        victim,
        signer,
        signing_context(),
    )
    signer.close()
    path = tmp_path / "forged.jpg"
    path.write_bytes(forged)
    [rec] = inspect(capsys, pw, path)
    assert rec["disclosure"]["verdict"] == "disclosed"  # the C2PA side is perfectly valid
    code, _, err = run(
        capsys, "check-published", str(path), "--export", str(export(pw, tmp_path / "exp"))
    )
    assert code == 1
    assert "approved other bytes" in err
    assert "carry no c2pa.metadata assertion" in err
    assert err.count("\n") == 3  # one line per named decision, one for the unbound fields


def test_an_approval_withdrawn_after_publishing_no_longer_passes(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    """The model takes her approval back after the image went out: the auditor must hear it."""
    out = tmp_path / "out"
    published(capsys, pw, out)
    jpg = out_path(out, "assets/ava/look.jpg")
    code, _, err = run(
        capsys, "check-published", str(jpg), "--export", str(export(pw, tmp_path / "before"))
    )
    assert code == 0, err

    DecisionService(pw.model, clock=pw.clock).withdraw(
        Workspace.open(pw.root), "assets/ava/look.jpg", note="I changed my mind"
    )
    code, _, err = run(
        capsys, "check-published", str(jpg), "--export", str(export(pw, tmp_path / "after"))
    )
    assert code == 1
    assert "ava@example.com (model)" in err
    assert "withdrawn" in err
    assert err.count("\n") == 1  # the agent's approval still stands


@pytest.mark.parametrize("rel", [PENDING, REJECTED, BLOCKED, "assets/ava/nope.jpg"])
def test_not_cleared_asset_is_refused_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path, rel: str
) -> None:
    before = tree_digest(pw.root)
    out = tmp_path / "out"
    code, stdout, err = publish(capsys, pw, out, "--asset", CLEARED[0], "--asset", rel)
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"twinreview: {rel}: ")
    assert "nothing was written" in lines[-1] and len(lines) == 2
    assert stdout == ""
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".twinreview-publish")] == []
    assert tree_digest(pw.root) == before


def test_publish_all_skips_pending_rejected_and_blocked(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, stdout, err = publish(capsys, pw, out)
    assert code == 0, err
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(rel.removeprefix("assets/") for rel in CLEARED)
    assert stdout.count("published ") == 3


def test_bytes_changed_since_clearing_are_not_published(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    target = pw.root / CLEARED[0]
    target.write_bytes(target.read_bytes() + b"\0")  # the approved bytes are gone
    code, _, err = publish(capsys, pw, tmp_path / "out", "--asset", CLEARED[0])
    assert code == 1 and "not cleared (pending: model, agent)" in err


def test_metadata_is_never_contradicted(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    rel = "assets/ava/captured.jpg"
    (pw.root / rel).write_bytes(xmp_jpeg(pattern(16, (640, 480)), CAPTURE))
    clear(pw, rel)
    code, _, err = publish(capsys, pw, tmp_path / "out", "--asset", rel)
    assert code == 1
    assert "digitalCapture, which is not AI generation" in err
    # Publishing everything is all or nothing too.
    code, _, err = publish(capsys, pw, tmp_path / "out2")
    assert code == 1 and not (tmp_path / "out2").exists()


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("ca", "is a CA certificate"),
        ("no_eku", "no extended key usage"),
        ("any_eku", "no extended key usage C2PA accepts"),
        ("expired", "expired on"),
        ("not_pem", "not a PEM file of X.509 certificates"),
        ("wrong_key", "does not belong to the first certificate"),
    ],
)
def test_certificate_outside_the_c2pa_profile_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path, case: str, why: str
) -> None:
    from cert_helpers import bad_credentials

    chain, key = bad_credentials(case, pw, tmp_path)
    code, stdout, err = publish_as(
        capsys,
        pw.brand,
        str(pw.root),
        str(tmp_path / "out"),
        "--signer-cert",
        str(chain),
        "--signer-key",
        str(key),
    )
    assert code == 2
    assert err.count("\n") == 1 and why in err and "Traceback" not in err
    assert stdout == "" and not (tmp_path / "out").exists()


def test_outdir_must_be_empty_and_outside_the_workspace(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    code, _, err = publish(capsys, pw, pw.root / "published")
    assert code == 2 and "inside the workspace" in err
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    code, _, err = publish(capsys, pw, full)
    assert code == 2 and "not an empty folder" in err
    assert (full / "keep.txt").read_text() == "mine"


# -- the round trip ------------------------------------------------------------------------------


def test_round_trip_on_every_format(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    before = tree_digest(pw.root)
    out = tmp_path / "out"
    published(capsys, pw, out)
    after = tree_digest(pw.root)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    # Only the publisher's own log grew (and its lock file appeared); nothing else changed.
    assert {k for k in changed if not k.endswith(".lock")} == {
        next(k for k in after if k.startswith("logs/owner@brand.example--"))
    }
    ws = Workspace.open(pw.root)
    from twinreview.services.status import compute_status

    status = compute_status(ws)
    records = inspect(capsys, pw, *(out_path(out, rel) for rel in CLEARED))
    for rel, rec in zip(CLEARED, records, strict=True):
        path = out_path(out, rel)
        d = rec["disclosure"]
        expected = COMPOSITE if rel.endswith(".webp") else TAM
        assert (d["verdict"], d["c2pa"]["state"]) == ("disclosed", "trusted"), rel
        assert d["xmp"]["source_type"] == expected
        assert {st["value"] for st in d["c2pa"]["source_types"]} == {expected}
        # Same format as the reviewed file.
        with Image.open(path) as img, Image.open(pw.root / rel) as orig:
            assert (img.format, img.size) == (orig.format, orig.size)
            if rel.endswith(".png"):
                assert img.tobytes() == orig.tobytes()  # not re-encoded: same pixels
        # Read back with c2pa-python's own Reader, trusting the brand CA.
        store = store_of(path, pw.pki.ca_pem)
        assert store["validation_state"] == "Trusted"
        data = assertion(store, LABEL)
        asset = status.get(rel)
        assert asset is not None
        assert data["asset"] == rel and data["asset_sha256"] == asset.sha256
        assert data["workspace_id"] == ws.roster.workspace_id
        assert data["roster_head"]["seq"] == ws.roster.head[0]  # type: ignore[index]
        got = {(d["principal"], d["role"], d["key"], d["entry_hash"]) for d in data["decisions"]}
        want = {(a.principal, a.role, a.log, a.entry_hash) for a in asset.evaluation.approvals}
        assert got == want and len(got) == 2
        assert all(d["roster_head"] and d["ts"] for d in data["decisions"])
        actions = assertion(store, "c2pa.actions.v2")["actions"]
        assert actions[0]["action"] == "c2pa.created"
        assert actions[0]["digitalSourceType"] == expected
        active = store["manifests"][store["active_manifest"]]
        [ingredient] = active["ingredients"]
        assert ingredient["instance_id"] == f"sha256:{asset.sha256}"
        assert "c2pa.training-mining" not in [a["label"] for a in active["assertions"]]
    # And the auditor's check against a real export passes for all three.
    exp = export(pw, tmp_path / "export")
    checks = check_published([out_path(out, rel) for rel in CLEARED], exp)
    assert [(c.ok, c.problems) for c in checks] == [(True, ())] * 3


def test_no_training_declares_training_and_mining_not_allowed(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, _, err = publish(capsys, pw, out, "--asset", CLEARED[0], "--no-training")
    assert code == 0, err
    path = out_path(out, CLEARED[0])
    entries = assertion(store_of(path), "cawg.training-mining")["entries"]
    assert entries["cawg.ai_generative_training"] == {"use": "notAllowed"}
    assert {e["use"] for e in entries.values()} == {"notAllowed"} and len(entries) == 4
    [rec] = inspect(capsys, pw, path)
    assert rec["disclosure"]["c2pa"]["training_mining"] == {
        "ai_generative_training": "notAllowed",
        "ai_inference": "notAllowed",
        "ai_training": "notAllowed",
        "data_mining": "notAllowed",
    }


def test_the_older_training_mining_label_is_still_read(pw: PublishWs) -> None:
    from twinreview.core.disclosure.c2pa_reader import make_context, read_c2pa

    data = (pw.root / CLEARED[0]).read_bytes()
    older = {"entries": {"c2pa.ai_training": {"use": "notAllowed"}}}
    current = {"entries": {"cawg.ai_training": {"use": "allowed"}}}
    for assertions, expected in (
        ([("c2pa.training-mining", older)], {"ai_training": "notAllowed"}),
        (
            [("c2pa.training-mining", older), ("cawg.training-mining", current)],
            {"ai_training": "allowed"},  # the current label wins over the older one
        ),
    ):
        manifest = {
            "claim_generator_info": [{"name": "test", "version": "1"}],
            "assertions": [
                {
                    "label": "c2pa.actions.v2",
                    "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": TAM}]},
                },
                *({"label": label, "data": body} for label, body in assertions),
            ],
        }
        signer = make_signer("es256", pw.pki.chain_pem, pw.pki.key_pem)
        signed = sign_asset(
            data,
            "image/jpeg",
            manifest,
            {"title": "look.jpg", "relationship": "componentOf"},
            data,
            signer,
            signing_context(),
        )
        signer.close()
        report = read_c2pa(signed, "image/jpeg", make_context(), trust_configured=False)
        assert dict(report.training_mining) == expected


def test_label_is_stamped_and_found_by_the_label_check(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    plain, stamped = tmp_path / "plain", tmp_path / "stamped"
    published(capsys, pw, plain)
    code, _, err = publish(
        capsys, pw, stamped, *[a for rel in CLEARED for a in ("--asset", rel)], "--label"
    )
    assert code == 0, err
    without = inspect(capsys, pw, *(out_path(plain, rel) for rel in CLEARED))
    withlabel = inspect(capsys, pw, *(out_path(stamped, rel) for rel in CLEARED))
    for a, b in zip(without, withlabel, strict=True):
        assert a["disclosure"]["label"]["found"] is False
        label = b["disclosure"]["label"]
        assert label["found"] is True and label["corner"] == "bottom-right", b["path"]
        assert (b["disclosure"]["verdict"], b["disclosure"]["c2pa"]["state"]) == (
            "disclosed",
            "trusted",
        )
    actions = assertion(store_of(out_path(stamped, CLEARED[0])), "c2pa.actions.v2")["actions"]
    assert [a["action"] for a in actions] == ["c2pa.created", "c2pa.edited"]


def test_label_without_a_workspace_label_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    demo, me = demo_with_publisher(tmp_path)
    code, _, err = publish_as(
        capsys,
        me,
        str(demo),
        str(tmp_path / "out"),
        "--signer-cert",
        str(demo / "brand" / "demo-signer-chain.pem"),
        "--signer-key",
        str(demo / "brand" / "demo-signer-key.pem"),
        "--label",
    )
    assert code == 2 and "names no visible label" in err and err.count("\n") == 1


# -- keys from the keyring -----------------------------------------------------------------------


def test_signing_key_from_the_keyring(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    memory = MemoryKeyring()
    store = C2paKeyStore(KeyStore(memory, allow_untrusted_backend=True))
    args = argparse.Namespace(cert=pw.chain, key=pw.key)
    assert cmd_import_c2pa(args, store) == 0
    fingerprint = load_credentials(pw.chain, pw.key).fingerprint
    assert list(memory.items) == [("twinreview", f"c2pa-signing-key {fingerprint}")]
    assert (
        b"PRIVATE KEY"
        not in memory.items[("twinreview", f"c2pa-signing-key {fingerprint}")].encode()
    )
    capsys.readouterr()
    pub = argparse.Namespace(
        workspace=pw.root,
        outdir=tmp_path / "out",
        signer_cert=pw.chain,
        signer_key=None,
        asset=[CLEARED[0]],
        label=False,
        no_training=False,
    )
    assert cmd_publish(pub, lambda: store, pw.register) == 0
    assert out_path(tmp_path / "out", CLEARED[0]).is_file()
    # Another certificate has no key in the keyring: one line, exit 2.
    from cert_helpers import bad_credentials

    other_chain, _ = bad_credentials("other", pw, tmp_path)
    pub.signer_cert, pub.outdir = other_chain, tmp_path / "out2"
    capsys.readouterr()
    assert cmd_publish(pub, lambda: store, pw.register) == 2
    assert "holds no signing key" in capsys.readouterr().err


def test_plaintext_keyrings_are_refused_for_the_signing_key() -> None:
    from keyring.backends import null

    with pytest.raises(KeyringRefused):
        C2paKeyStore(KeyStore(null.Keyring()))


# -- the demo, out of the box --------------------------------------------------------------------


def test_demo_publishes_out_of_the_box(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    demo, me = demo_with_publisher(tmp_path)
    assert "DEMO ONLY" in (demo / "brand" / "README-DEMO-ONLY.txt").read_text()
    out = tmp_path / "out"
    code, stdout, err = publish_as(
        capsys,
        me,
        str(demo),
        str(out),
        "--signer-cert",
        str(demo / "brand" / "demo-signer-chain.pem"),
        "--signer-key",
        str(demo / "brand" / "demo-signer-key.pem"),
    )
    assert code == 0, err
    assert stdout.startswith("published milo/autumn/look-06.jpg") and stdout.count("\n") == 1
    path = out / "milo" / "autumn" / "look-06.jpg"
    before, after = (
        json.loads(run(capsys, "inspect", "--json", "--workspace", str(demo), str(p))[1])[0]
        for p in (demo / "assets" / "milo" / "autumn" / "look-06.jpg", path)
    )
    assert before["disclosure"]["verdict"] == "partial"  # XMP only, as reviewed
    assert (after["disclosure"]["verdict"], after["disclosure"]["c2pa"]["state"]) == (
        "disclosed",
        "trusted",
    )


def test_own_content_credentials_are_kept_as_the_parent(
    capsys: pytest.CaptureFixture[str], pw: PublishWs, tmp_path: Path
) -> None:
    from twinreview.services.resources import resource

    rel = "assets/ava/signed.jpg"
    (pw.root / rel).write_bytes(resource("demo", "c2pa-disclosed.jpg").read_bytes())
    clear(pw, rel)
    out = tmp_path / "out"
    code, _, err = publish(capsys, pw, out, "--asset", rel)
    assert code == 0, err
    path = out_path(out, rel)
    [rec] = inspect(capsys, pw, path)
    assert (rec["disclosure"]["verdict"], rec["disclosure"]["c2pa"]["state"]) == (
        "disclosed",
        "trusted",
    )
    store = store_of(path)
    active = store["manifests"][store["active_manifest"]]
    [ingredient] = active["ingredients"]
    assert ingredient["relationship"] == "parentOf"
    parent = store["manifests"][ingredient["active_manifest"]]
    assert parent["claim_generator_info"][0]["name"] == "twinreview demo"
    first = assertion(store, "c2pa.actions.v2")["actions"][0]
    assert (first["action"], first["digitalSourceType"]) == ("c2pa.opened", TAM)


def test_publish_service_reports_progress(pw: PublishWs, tmp_path: Path) -> None:
    seen: list[tuple[int, int, str]] = []
    result = publish_workspace(
        Workspace.open(pw.root),
        tmp_path / "out",
        load_credentials(pw.chain, pw.key),
        register=pw.register(),
        progress=lambda done, total, rel: seen.append((done, total, rel)),
    )
    assert result.ok
    assert [s[:2] for s in seen] == [(1, 3), (2, 3), (3, 3)]
    assert {s[2] for s in seen} == set(CLEARED)


PUBLISH_WITH_KEYS = """
import argparse, json, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from decision_helpers import MemoryKeyring
from twinreview.cli import publish_cmd
from twinreview.services.publish.signer import C2paKeyStore
from twinreview.services.keys import IdentityStore, KeyService, KeyStore
from twinreview.services.publish.register import PublishRegister
ring = MemoryKeyring()
for service, user, value in json.loads(Path({items!r}).read_text()):
    ring.items[(service, user)] = value
keys = KeyService(
    KeyStore(ring, allow_untrusted_backend=True), IdentityStore(Path({identity!r}).parent)
)
parser = argparse.ArgumentParser()
publish_cmd.register(parser.add_subparsers())
args = parser.parse_args(["publish", *sys.argv[1:]])
sys.exit(publish_cmd.cmd_publish(args, C2paKeyStore.from_system, lambda: PublishRegister(keys)))
"""


def test_publishing_and_checking_never_connect(pw: PublishWs, tmp_path: Path) -> None:
    """OS level, under strace: no AF_INET/AF_INET6 connect() while signing or checking."""
    from test_disclosure_network import _strace_usable, _traced_connects

    reason = _strace_usable()
    if reason:
        pytest.skip(reason)
    run_cli = "import sys\nfrom twinreview.cli.main import main\nsys.exit(main(sys.argv[1:]))"
    out = tmp_path / "out"
    # The publisher's reviewer key lives in the test's in-memory keyring: hand it over.
    store = pw.brand.keystore.backend
    assert isinstance(store, MemoryKeyring)
    items = tmp_path / "keyring.json"
    items.write_text(json.dumps([[s, u, v] for (s, u), v in store.items.items()]))
    publish_code = PUBLISH_WITH_KEYS.format(
        tests=str(Path(__file__).parent), items=str(items), identity=str(pw.brand.identities.path)
    )
    publish_args = [str(pw.root), str(out), "--signer-cert", str(pw.chain)]
    publish_args += ["--signer-key", str(pw.key), "--no-training", "--label"]
    assert _traced_connects(tmp_path, publish_code, *publish_args) == []
    exp = export(pw, tmp_path / "export")
    files = [str(out_path(out, rel)) for rel in CLEARED]
    assert (
        _traced_connects(
            tmp_path,
            run_cli,
            "check-published",
            *files,
            "--export",
            str(exp),
            "--workspace",
            str(pw.root),
        )
        == []
    )
