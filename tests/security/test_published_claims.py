"""Forged sign-offs that name real decisions: ``check-published`` judges the asset, her consent
and the person fields from the signed logs, never from what the published file claims.

An insider holds the brand's signing certificate and the workspace's export. They sign, with
the brand's key, a file whose sign-off assertion names only decisions that really exist:
- only the agent's approval of an image the model vetoed;
- a labelled copy whose label box covers the whole picture (or sits where publishing never
  stamps it), so that no pixel is compared;
- a copy without the ``c2pa.metadata`` assertion and the sign-off's consent, after she withdrew
  her consent;
- a copy whose IPTC person fields name another model, or another consent entry.
Each must fail through the real CLI with one line saying why.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from publish_helpers import (
    TAM,
    PublishWs,
    build_publish_ws,
    decision_ref,
    export_owner,
    forge,
    manifest_assertion,
    publish_cli,
    strip_c2pa,
)
from twinreview.cli.main import main
from twinreview.core.publish.imagedigest import image_digest
from twinreview.core.publish.signoff import LABEL
from twinreview.core.publish.xmpwrite import (
    PublishedFields,
    main_packet,
    packet_with_fields,
    put_main_packet,
)
from twinreview.services.export import export_workspace
from twinreview.services.publish.publisher import METADATA
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import TrustStore, Verifier

LOOK = "assets/ava/look.jpg"
VETOED = "assets/ava/vetoed.jpg"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """look.jpg published plain and labelled; vetoed.jpg approved by Sam, rejected by Ava."""
    from wsbuild import pattern

    base = tmp_path_factory.mktemp("claims")
    pw = build_publish_ws(base)
    pattern(31, (640, 480)).save(pw.root / VETOED, "JPEG", quality=90)
    pw.decide(pw.agent, VETOED, "approve")
    pw.decide(pw.model, VETOED, "reject", reasons=["likeness_wrong"])
    assert publish_cli(pw, base / "plain", "--asset", LOOK) == 0
    assert publish_cli(pw, base / "labelled", "--label", "--asset", LOOK) == 0
    identity, key = pw.agent.signer()
    export_workspace(pw.root, base / "export", identity, key)
    return {
        "pw": pw,
        "base": base,
        "plain": base / "plain" / "ava" / "look.jpg",
        "labelled": base / "labelled" / "ava" / "look.jpg",
        "export": base / "export",
    }


def check(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["check-published", str(path), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def lines_about(err: str, path: Path) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith(f"twinreview: {path}: ")]


# -- 1. a sign-off naming only the agent's approval of an image she vetoed -------------------------


def test_an_agent_only_signoff_on_her_vetoed_image_fails(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pw: PublishWs = scene["pw"]
    genuine = scene["plain"].read_bytes()
    vetoed = (pw.root / VETOED).read_bytes()
    signoff = manifest_assertion(genuine, LABEL)
    signoff.update(
        asset=VETOED,
        asset_sha256=hashlib.sha256(vetoed).hexdigest(),
        image_digest=image_digest(vetoed),
        sidecar_sha256=None,
        decisions=[decision_ref(pw, VETOED, "agent")],
    )
    # The person fields and the metadata assertion are the genuine ones: only the veto is at stake.
    data = put_main_packet(vetoed, "jpeg", main_packet(genuine, "jpeg") or b"")
    forged = tmp_path / "vetoed.jpg"
    forged.write_bytes(
        forge(
            data,
            [
                {"label": LABEL, "data": signoff},
                {"label": METADATA, "data": manifest_assertion(genuine, METADATA)},
            ],
            pw.pki,
        )
    )
    code, out, err = check(capsys, forged, "--export", str(scene["export"]))
    assert code == 1, out
    assert "ok:" not in out
    lines = lines_about(err, forged)
    assert any(
        "Ava (model) rejected it" in ln and "not the right person" in ln and "not cleared" in ln
        for ln in lines
    ), lines
    assert "likeness_wrong" not in err


def test_the_genuine_files_still_pass(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    pw: PublishWs = scene["pw"]
    for path in (scene["plain"], scene["labelled"]):
        code, out, err = check(
            capsys,
            path,
            "--export",
            str(scene["export"]),
            "--workspace",
            str(pw.root),
            "--owner",
            export_owner(scene["export"]),
        )
        assert code == 0, err
        assert out.splitlines()[1].startswith(f"ok: {path}: {LOOK} approved by"), out


# -- 2. a label box that covers the picture, or sits where publishing never stamps ----------------


def _painted_with_xmp(source: bytes) -> bytes:
    img = Image.open(io.BytesIO(source)).convert("RGB")
    ImageDraw.Draw(img).rectangle((200, 150, 330, 260), fill=(250, 20, 20))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return put_main_packet(buf.getvalue(), "jpeg", main_packet(source, "jpeg") or b"")


@pytest.mark.parametrize(
    "box",
    [
        {"x": 0, "y": 0, "width": 640, "height": 480},  # the whole picture
        {"x": 10, "y": 10, "width": 620, "height": 400},  # most of it
        {"x": 13, "y": 13, "width": 102, "height": 27},  # publish's size, in the wrong corner
        {"x": 525, "y": 200, "width": 102, "height": 267},  # publish's corner, far too tall
    ],
)
def test_a_label_box_publishing_cannot_produce_fails(
    scene: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    box: dict[str, int],
) -> None:
    pw: PublishWs = scene["pw"]
    labelled = scene["labelled"].read_bytes()
    signoff = manifest_assertion(labelled, LABEL)
    real = signoff["label_box"]
    assert real["x"] + real["width"] < 640 and real["width"] == round(640 * 0.16)
    signoff["label_box"] = box
    forged = tmp_path / "wide-label.jpg"
    forged.write_bytes(
        forge(
            _painted_with_xmp(labelled),
            [
                {"label": LABEL, "data": signoff},
                {"label": METADATA, "data": manifest_assertion(labelled, METADATA)},
            ],
            pw.pki,
        )
    )
    for extra in ((), ("--workspace", str(pw.root))):
        code, out, err = check(capsys, forged, "--export", str(scene["export"]), *extra)
        assert code == 1, out
        lines = lines_about(err, forged)
        assert len(lines) == 1, lines
        assert "label box" in lines[0] and "publishing stamps" in lines[0], lines


# -- 3. the consent and the metadata assertion dropped, after she withdrew -------------------------


@pytest.fixture
def withdrawn(tmp_path: Path) -> dict[str, Any]:
    pw = build_publish_ws(tmp_path)
    assert publish_cli(pw, tmp_path / "out", "--asset", LOOK) == 0
    RosterService(pw.model, TrustStore.default(), Verifier.default(), clock=pw.clock).consent(
        pw.root, "ava", withdraw=True
    )
    identity, key = pw.agent.signer()
    export_workspace(pw.root, tmp_path / "export", identity, key)
    return {"pw": pw, "published": tmp_path / "out" / "ava" / "look.jpg", "tmp": tmp_path}


def test_dropping_the_consent_claims_does_not_hide_her_withdrawal(
    withdrawn: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    pw: PublishWs = withdrawn["pw"]
    export = str(withdrawn["tmp"] / "export")
    genuine = withdrawn["published"].read_bytes()
    code, _, err = check(capsys, withdrawn["published"], "--export", export)
    assert code == 1 and "Ava withdrew her consent" in err, err
    signoff = manifest_assertion(genuine, LABEL)
    del signoff["consent"]
    forged = withdrawn["tmp"] / "no-consent.jpg"
    forged.write_bytes(forge(strip_c2pa(genuine), [{"label": LABEL, "data": signoff}], pw.pki))
    code, out, err = check(capsys, forged, "--export", export)
    assert code == 1, out
    lines = lines_about(err, forged)
    assert any("Ava withdrew her consent" in ln for ln in lines), lines
    assert any("names no consent" in ln for ln in lines), lines
    assert any(METADATA in ln for ln in lines), lines


def test_a_missing_consent_or_metadata_assertion_fails_on_its_own(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pw: PublishWs = scene["pw"]
    genuine = scene["plain"].read_bytes()
    signoff = manifest_assertion(genuine, LABEL)
    no_metadata = tmp_path / "no-metadata.jpg"
    no_metadata.write_bytes(forge(strip_c2pa(genuine), [{"label": LABEL, "data": signoff}], pw.pki))
    code, _, err = check(capsys, no_metadata, "--export", str(scene["export"]))
    assert code == 1
    [line] = lines_about(err, no_metadata)
    assert METADATA in line and "carry no" in line
    del signoff["consent"]
    no_consent = tmp_path / "no-consent.jpg"
    no_consent.write_bytes(
        forge(
            strip_c2pa(genuine),
            [
                {"label": LABEL, "data": signoff},
                {"label": METADATA, "data": manifest_assertion(genuine, METADATA)},
            ],
            pw.pki,
        )
    )
    code, _, err = check(capsys, no_consent, "--export", str(scene["export"]))
    assert code == 1
    [line] = lines_about(err, no_consent)
    assert "names no consent" in line


# -- 4. the IPTC person fields: another model, another consent ---------------------------------


@pytest.mark.parametrize("field", ["person_id", "person_name", "release_id"])
def test_person_fields_that_do_not_name_her_and_her_consent_fail(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path, field: str
) -> None:
    pw: PublishWs = scene["pw"]
    genuine = scene["plain"].read_bytes()
    metadata = manifest_assertion(genuine, METADATA)
    signoff = manifest_assertion(genuine, LABEL)
    ws_id = signoff["workspace_id"]
    values = {
        "source_type": TAM,
        "person_name": "Ava",
        "person_id": f"urn:twinreview:{ws_id}:model:ava",
        "release_id": metadata["plus:ModelReleaseID"][0],
    }
    values[field] = {
        "person_id": f"urn:twinreview:{ws_id}:model:bea",
        "person_name": "Bea",
        "release_id": "twinreview-consent:sha256:" + "0" * 64,
    }[field]
    fields = PublishedFields(**values)
    data = put_main_packet(strip_c2pa(genuine), "jpeg", packet_with_fields(None, fields))
    forged = tmp_path / f"{field}.jpg"
    # The forger binds what they wrote: the manifest and the XMP agree with each other.
    forged.write_bytes(
        forge(
            data,
            [
                {"label": LABEL, "data": signoff},
                {"label": METADATA, "data": fields.metadata_assertion()},
            ],
            pw.pki,
        )
    )
    code, out, err = check(capsys, forged, "--export", str(scene["export"]))
    assert code == 1, out
    lines = lines_about(err, forged)
    assert len(lines) == 1, lines
    word = {"person_id": "person shown", "person_name": "person shown", "release_id": "release"}
    assert word[field] in lines[0], lines


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
@pytest.mark.parametrize("size", [(640, 480), (480, 640), (1001, 333), (3000, 2000), (301, 999)])
@pytest.mark.parametrize("label_size", [(240, 64), (64, 64), (500, 40)])
def test_every_box_publishing_stamps_is_accepted(
    fmt: str, size: tuple[int, int], label_size: tuple[int, int]
) -> None:
    """The bound is publish's own geometry: whatever publish stamps, the check accepts."""
    from twinreview.core.publish.labelstamp import (
        LabelStampError,
        box_problem,
        shown_size,
        stamp_label,
    )

    buf = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(buf, {"jpeg": "JPEG"}.get(fmt, fmt.upper()))
    label = Image.new("RGBA", label_size, (0, 0, 0, 255))
    try:
        stamped, box = stamp_label(buf.getvalue(), fmt, label)
    except LabelStampError:
        return  # too small to carry it: publish refuses, nothing to check
    shown = shown_size(stamped)
    assert shown == size
    assert box_problem(shown, box) is None
    x, y, w, h = box
    assert box_problem(shown, (x - 1, y, w, h)) is not None
    assert box_problem(shown, (0, 0, *shown)) is not None


def test_a_rotated_photo_is_bounded_as_shown() -> None:
    """EXIF orientation 6: the stamp and the check both use the picture as shown (portrait)."""
    from twinreview.core.publish.labelstamp import box_problem, shown_size, stamp_label

    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 150)).save(buf, "JPEG", exif=exif.tobytes())
    assert shown_size(buf.getvalue()) == (480, 640)
    stamped, box = stamp_label(buf.getvalue(), "jpeg", Image.new("RGBA", (240, 64)))
    assert box_problem(shown_size(stamped) or (0, 0), box) is None
    assert box[2] == round(480 * 0.16)
