"""Same digest, other picture: a published file re-signed by an insider after changing bytes the
image digest leaves out, so that Pillow and viewers show other pixels than the model approved.

The insider holds the brand's certificate and a legitimately published file. They change only
what the digest did not read (a WebP header flag, a second Exif block, an XMP orientation),
copy the sign-off and metadata assertions, and sign again. ``check-published`` must fail with
one line "the file is ambiguous: ...", through the real CLI.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import c2pa
import numpy as np
import pytest
from PIL import Image, ImageOps

from publish_helpers import (
    TAM,
    PublishWs,
    build_publish_ws,
    clear,
    forge,
    publish_cli,
    strip_c2pa,
)
from twinreview.cli.main import main
from twinreview.core.disclosure.c2pa_writer import make_signer, read_store, signing_context
from twinreview.core.publish.signoff import LABEL
from twinreview.core.publish.xmpwrite import main_packet, put_main_packet
from twinreview.services.export import export_workspace
from twinreview.services.publish.publisher import METADATA

LOOK = "assets/ava/look.jpg"
ALPHA = "assets/ava/alpha.webp"


def _hidden_webp() -> bytes:
    """Grey, with a red block under fully transparent pixels: shown white on white."""
    rgb = np.full((240, 320, 3), 200, np.uint8)
    rgb[60:180, 80:240] = (255, 0, 0)
    alpha = np.full((240, 320), 255, np.uint8)
    alpha[60:180, 80:240] = 0
    buf = io.BytesIO()
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(buf, "WEBP", quality=90, exact=True)
    return buf.getvalue()


def _chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    pos = 12
    while pos + 8 <= len(data):
        length = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        size = 8 + length + (length & 1)
        yield data[pos : pos + 4], pos, size
        pos += size


def _without_c2pa_webp(data: bytes) -> bytes:
    body = b"".join(data[i : i + n] for cc, i, n in _chunks(data) if cc != b"C2PA")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _copied(data: bytes, mime: str) -> list[dict[str, Any]]:
    store = json.loads(read_store(data, mime, signing_context()))
    active = store["manifests"][store["active_manifest"]]
    return [
        {"label": a["label"], "data": a["data"]}
        for a in active["assertions"]
        if a["label"] in (LABEL, METADATA)
    ]


def _sign_webp(data: bytes, assertions: list[dict[str, Any]], pw: PublishWs) -> bytes:
    manifest = {
        "claim_generator_info": [{"name": "twinreview", "version": "0.1.0"}],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": TAM}]},
            },
            *assertions,
        ],
    }
    signer = make_signer("es256", pw.pki.chain_pem, pw.pki.key_pem)
    try:
        with c2pa.Builder.from_json(manifest, signing_context()) as builder:
            out = io.BytesIO()
            builder.sign(signer, "image/webp", io.BytesIO(data), out)
            return out.getvalue()
    finally:
        signer.close()


def _exif_app1(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    body = b"Exif\x00\x00" + exif.tobytes()
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def _check(
    pw: PublishWs, forged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    identity, key = pw.agent.signer()
    export_workspace(pw.root, tmp_path / "export", identity, key)
    capsys.readouterr()
    code = main(
        [
            "check-published",
            str(forged),
            "--export",
            str(tmp_path / "export"),
            "--workspace",
            str(pw.root),
        ]
    )
    out, err = capsys.readouterr()
    return code, out + err


def _shown_centre(data: bytes) -> tuple[int, ...]:
    img = Image.open(io.BytesIO(data)).convert("RGBA")
    white = Image.new("RGBA", img.size, (255, 255, 255, 255))
    return tuple(int(v) for v in Image.alpha_composite(white, img).getpixel((160, 120)))


def test_a_cleared_webp_alpha_flag_fails_check_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pw = build_publish_ws(tmp_path)
    (pw.root / ALPHA).write_bytes(_hidden_webp())
    (pw.root / "assets/ava/alpha.json").write_text(
        json.dumps({"digital_source_type": "trainedAlgorithmicMedia"})
    )
    clear(pw, ALPHA)
    out = tmp_path / "out"
    assert publish_cli(pw, out, "--asset", ALPHA) == 0
    published = (out / "ava" / "alpha.webp").read_bytes()
    raw = bytearray(_without_c2pa_webp(published))
    vp8x = next(i for cc, i, _ in _chunks(bytes(raw)) if cc == b"VP8X")
    raw[vp8x + 8] &= ~0x10
    forged = tmp_path / "forged.webp"
    forged.write_bytes(_sign_webp(bytes(raw), _copied(published, "image/webp"), pw))
    # What the attack achieves: the red block under the transparent pixels is shown.
    assert _shown_centre(published)[:3] == (255, 255, 255)
    assert _shown_centre(forged.read_bytes())[1] < 50

    code, text = _check(pw, forged, tmp_path, capsys)
    assert code != 0
    lines = [line for line in text.splitlines() if "ambiguous" in line]
    assert len(lines) == 1, text
    assert "the file is ambiguous: its VP8X ALPHA flag is clear" in lines[0]
    assert main(["check-published", str(forged), "--export", str(tmp_path / "export"), "--json"])
    [record] = json.loads(capsys.readouterr().out)
    assert record["ok"] is False and record["problems"] == [lines[0].split(": ", 2)[2]]


@pytest.mark.parametrize("first", [8, 2, 5])
def test_a_second_exif_block_fails_check_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], first: int
) -> None:
    pw = build_publish_ws(tmp_path)
    out = tmp_path / "out"
    assert publish_cli(pw, out, "--asset", LOOK) == 0
    published = (out / "ava" / "look.jpg").read_bytes()
    raw = strip_c2pa(published)
    data = raw[:2] + _exif_app1(first) + _exif_app1(1) + raw[2:]
    forged = tmp_path / "forged.jpg"
    forged.write_bytes(forge(data, _copied(published, "image/jpeg"), pw.pki))
    # Pillow (the app) turns or mirrors it by the first block.
    with Image.open(forged) as img:
        assert img.getexif().get(0x0112) == first

    code, text = _check(pw, forged, tmp_path, capsys)
    assert code != 0
    assert "the file is ambiguous: it has 2 Exif blocks" in text, text


def test_an_xmp_orientation_fails_check_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pw = build_publish_ws(tmp_path)
    out = tmp_path / "out"
    assert publish_cli(pw, out, "--asset", LOOK) == 0
    published = (out / "ava" / "look.jpg").read_bytes()
    raw = strip_c2pa(published)
    packet = main_packet(raw, "jpeg")
    assert packet is not None and b"Orientation" not in packet
    turned = packet.replace(b"<rdf:Description ", b'<rdf:Description tiff:Orientation="6" ', 1)
    turned = turned.replace(
        b"<rdf:Description ",
        b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" ',
        1,
    )
    forged = tmp_path / "forged.jpg"
    forged.write_bytes(
        forge(put_main_packet(raw, "jpeg", turned), _copied(published, "image/jpeg"), pw.pki)
    )
    # Pillow reads the XMP orientation when there is no Exif one: the picture is turned.
    with Image.open(forged) as img:
        assert ImageOps.exif_transpose(img).size == (480, 640)

    code, text = _check(pw, forged, tmp_path, capsys)
    assert code != 0
    assert "the file is ambiguous: its XMP tiff:Orientation is 6" in text, text


def _two_exif(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:2] + _exif_app1(6) + _exif_app1(1) + data[2:])


def test_an_ambiguous_asset_cannot_be_approved_and_scan_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from decision_helpers import build_workspace, decider, enroll, reviewer
    from twinreview.core.workspace import Workspace
    from twinreview.services.decisions import DecisionError

    root = build_workspace(tmp_path / "ws")
    _two_exif(root / "assets" / "ava" / "look1.jpg")
    ava = reviewer(tmp_path / "people", "ava@example.com", "model", "Ava")
    enroll(root, ava, ("ava",))
    service = decider(ava)
    with pytest.raises(DecisionError) as refused:
        service.decide(Workspace.open(root), "assets/ava/look1.jpg", "approve")
    assert str(refused.value).startswith(
        "assets/ava/look1.jpg cannot be approved: the file is ambiguous: it has 2 Exif blocks"
    )
    # Her veto never depends on the file being clean.
    entry = service.decide(
        Workspace.open(root), "assets/ava/look1.jpg", "reject", reasons=["likeness_wrong"]
    )
    assert entry.payload["decision"] == "reject" and entry.payload["image_digest"] is None

    capsys.readouterr()
    assert main(["scan", str(root), "--json", "--no-cache"]) == 0
    found = {
        r["path"]: [f for f in r["findings"] if f["kind"] == "ambiguous_image"]
        for r in json.loads(capsys.readouterr().out)["assets"]
    }
    [finding] = found["assets/ava/look1.jpg"]
    assert finding["severity"] == "block"
    assert "it has 2 Exif blocks" in finding["message"]
    assert not found["assets/ava/spring/look2.jpg"]


def test_publish_refuses_an_ambiguous_file_approved_without_a_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decisions signed before they carried a digest may have cleared an ambiguous file."""
    from twinreview.services import decisions

    pw = build_publish_ws(tmp_path)
    rel = "assets/ava/twice.jpg"
    (pw.root / rel).write_bytes((pw.root / LOOK).read_bytes())
    _two_exif(pw.root / rel)
    with monkeypatch.context() as patched:
        patched.setattr(decisions, "_image_digest", lambda ws, facts: None)
        clear(pw, rel)
    capsys.readouterr()
    out = tmp_path / "out"
    assert publish_cli(pw, out, "--asset", rel) != 0
    text = "".join(capsys.readouterr())
    assert "the file is ambiguous: it has 2 Exif blocks" in text, text
    assert not (out / "ava" / "twice.jpg").exists()
