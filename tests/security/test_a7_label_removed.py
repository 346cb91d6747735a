"""A stamped label that was removed or altered must not pass as "a visible AI label was stamped".

An insider with the brand's certificate takes a legitimately labelled file, pastes the approved
image's own pixels over the label (the label is gone) or paints over part of it, and re-signs it
with the copied sign-off and metadata. With ``--workspace`` the label's box must hold the stamp
publishing makes: the workspace's label, stamped on the approved image the same way.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from publish_helpers import (
    PublishWs,
    build_publish_ws,
    export_owner,
    forge,
    manifest_assertion,
    publish_cli,
)
from twinreview.cli.main import main
from twinreview.core.publish.signoff import LABEL
from twinreview.core.publish.xmpwrite import main_packet, put_main_packet
from twinreview.services.export import export_workspace
from twinreview.services.publish.publisher import METADATA

LOOK = "assets/ava/look.jpg"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("label-removed")
    pw = build_publish_ws(base)
    out = base / "out"
    assert publish_cli(pw, out, "--label", "--asset", LOOK) == 0
    ident, key = pw.agent.signer()
    export_workspace(pw.root, base / "export", ident, key)
    return {"pw": pw, "labelled": out / "ava" / "look.jpg", "export": base / "export"}


def _resigned(scene: dict[str, Any], img: Image.Image, path: Path) -> Path:
    src = scene["labelled"].read_bytes()
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    data = put_main_packet(buf.getvalue(), "jpeg", main_packet(src, "jpeg") or b"")
    keep = [
        {"label": LABEL, "data": manifest_assertion(src, LABEL)},
        {"label": METADATA, "data": manifest_assertion(src, METADATA)},
    ]
    path.write_bytes(forge(data, keep, scene["pw"].pki))
    return path


def _check(
    capsys: pytest.CaptureFixture[str], scene: dict[str, Any], path: Path
) -> tuple[int, str, str]:
    pw: PublishWs = scene["pw"]
    capsys.readouterr()
    code = main(
        [
            "check-published",
            str(path),
            "--export",
            str(scene["export"]),
            "--owner",
            export_owner(scene["export"]),
            "--workspace",
            str(pw.root),
        ]
    )
    out, err = capsys.readouterr()
    return code, out, err


def _box(scene: dict[str, Any]) -> tuple[int, int, int, int]:
    box = manifest_assertion(scene["labelled"].read_bytes(), LABEL)["label_box"]
    return box["x"], box["y"], box["width"], box["height"]


def test_the_genuine_labelled_file_passes_with_its_stamp_checked(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _check(capsys, scene, scene["labelled"])
    assert code == 0, err
    assert "the label in it is the workspace's label as publishing stamps it" in out, out


def test_a_label_pasted_over_with_the_approved_pixels_fails(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pw: PublishWs = scene["pw"]
    x, y, w, h = _box(scene)
    approved = Image.open(pw.root / LOOK).convert("RGB")
    img = Image.open(scene["labelled"]).convert("RGB")
    img.paste(approved.crop((x, y, x + w, y + h)), (x, y))
    code, out, err = _check(capsys, scene, _resigned(scene, img, tmp_path / "no-label.jpg"))
    assert code == 1, out
    assert "ok" not in out.split("\n", 1)[1], out
    assert "the label is missing or altered" in err, err


def test_a_label_partly_painted_over_fails(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    x, y, w, h = _box(scene)
    img = Image.open(scene["labelled"]).convert("RGB")
    # Half the label (its words) painted the colour of its background.
    ImageDraw.Draw(img).rectangle((x + w // 2, y, x + w - 1, y + h - 1), fill=(20, 20, 20))
    code, out, err = _check(capsys, scene, _resigned(scene, img, tmp_path / "half-label.jpg"))
    assert code == 1, out
    assert "the label is missing or altered" in err, err
