"""``twinreview inspect FILE... [--json] [--workspace WS]``."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from twinreview.cli.main import main

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "disclosure"
TAM = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def xmp_text(value: str = TAM) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{value}"/></rdf:RDF></x:xmpmeta>'
    )


def xmp_jpeg(path: Path, value: str = TAM, size: tuple[int, int] = (64, 48)) -> Path:
    xml = xmp_text(value).encode()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + xml
    buf = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buf, "JPEG")
    data = buf.getvalue()
    path.write_bytes(
        data[:2] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + data[2:]
    )
    return path


def test_json_is_one_list_in_argument_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    a = xmp_jpeg(tmp_path / "a.jpg")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    missing = tmp_path / "missing.jpg"
    args = [str(p) for p in (text, a, missing, empty, tmp_path, a)]
    before = hashlib.sha256(a.read_bytes()).hexdigest()
    code, out, err = run(capsys, "inspect", "--json", *args)
    assert code == 0, err
    records = json.loads(out)
    assert [r["path"] for r in records] == args
    by = dict(zip(["text", "a", "missing", "empty", "dir", "a2"], records, strict=True))
    assert by["a"]["format"] == "jpeg" and by["a"]["error"] is None
    assert by["a"]["disclosure"]["verdict"] == "partial"
    assert by["a"]["disclosure"]["xmp"]["source_type"] == TAM
    assert by["a2"] == by["a"]
    for key in ("text", "missing", "empty", "dir"):
        rec = by[key]
        assert rec["error"], key
        assert rec["disclosure"]["verdict"] == "missing"
        assert set(rec) == {"path", "format", "error", "disclosure"}
    assert "empty" in by["empty"]["error"]
    assert "folder" in by["dir"]["error"]
    assert hashlib.sha256(a.read_bytes()).hexdigest() == before  # nothing written


def test_sidecar_next_to_the_file_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plain = tmp_path / "p.jpg"
    Image.new("RGB", (32, 32)).save(plain, "JPEG")
    (tmp_path / "p.jpg.xmp").write_text(xmp_text(), encoding="utf-16")
    code, out, _ = run(capsys, "inspect", "--json", str(plain))
    assert code == 0
    (record,) = json.loads(out)
    assert record["disclosure"]["xmp"]["source_type"] == TAM
    assert record["disclosure"]["xmp"]["where"] == "sidecar"


def test_table_by_default(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = xmp_jpeg(tmp_path / "a.jpg")
    code, out, _ = run(capsys, "inspect", str(a), str(tmp_path / "nope.jpg"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["VERDICT", "C2PA", "XMP", "SOURCE", "TYPE", "FILE"]
    assert lines[1].split()[:3] == ["partial", "absent", "trainedAlgorithmicMedia"]
    assert lines[1].endswith(str(a))
    assert lines[2].split()[:2] == ["missing", "absent"]
    assert "Partial: the IPTC XMP metadata declares AI generation" in out
    assert "error: cannot read the file" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["inspect"])
    assert info.value.code == 2
    capsys.readouterr()
    code, out, err = run(capsys, "inspect", "--workspace", str(tmp_path / "nowhere"), "x.jpg")
    assert code == 2 and out == ""
    assert err.startswith("twinreview: ") and err.count("\n") == 1


def _workspace(root: Path, toml: str) -> Path:
    root.mkdir()
    (root / "models").mkdir()
    (root / "assets").mkdir()
    (root / "twinreview.toml").write_text(toml)
    return root


def test_workspace_settings_apply(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    label = Image.new("RGBA", (120, 40), (0, 0, 0, 0))
    draw = ImageDraw.Draw(label)
    draw.rounded_rectangle((0, 0, 119, 39), radius=8, fill=(10, 10, 10, 255))
    draw.text((10, 8), "AI made", fill=(255, 255, 255, 255), font_size=20)
    ws = _workspace(
        tmp_path / "ws", 'id = "t"\nname = "T"\n[disclosure]\nlabel = "brand/label.png"\n'
    )
    (ws / "brand").mkdir()
    label.save(ws / "brand" / "label.png")
    photo = Image.effect_noise((800, 600), 40).convert("RGB")
    stamped = photo.copy()
    big = label.resize((200, 67))
    stamped.paste(big, (800 - 220, 600 - 87), big)
    stamped.save(tmp_path / "stamped.jpg", quality=85)
    photo.save(tmp_path / "plain.jpg", quality=85)
    code, out, err = run(
        capsys,
        "inspect",
        "--json",
        "--workspace",
        str(ws),
        str(tmp_path / "stamped.jpg"),
        str(tmp_path / "plain.jpg"),
    )
    assert code == 0, err
    stamped_rec, plain_rec = json.loads(out)
    assert stamped_rec["disclosure"]["label"]["found"] is True
    assert stamped_rec["disclosure"]["label"]["corner"] == "bottom-right"
    assert plain_rec["disclosure"]["label"]["found"] is False


def test_bad_workspace_disclosure_config_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = _workspace(
        tmp_path / "ws", 'id = "t"\nname = "T"\n[disclosure]\ntrust_anchors = ["trust/none.pem"]\n'
    )
    code, out, err = run(capsys, "inspect", "--workspace", str(ws), "x.jpg")
    assert code == 2 and out == ""
    assert err == (
        "twinreview: twinreview.toml: disclosure.trust_anchors: cannot read trust/none.pem "
        "(No such file or directory)\n"
    )


@pytest.mark.corpus
def test_whole_corpus_in_one_call(capsys: pytest.CaptureFixture[str], corpus_dir: Path) -> None:
    paths = sorted(str(p) for p in (corpus_dir / "disclosure").iterdir())
    code, out, err = run(capsys, "inspect", "--json", *paths)
    assert code == 0, err
    records = json.loads(out)
    assert [r["path"] for r in records] == paths
    for rec in records:
        d = rec["disclosure"]
        assert d["verdict"] in {"disclosed", "partial", "missing", "blocked"}
        assert {"state", "failures", "source_types", "signer", "generator"} <= set(d["c2pa"])
        assert {"source_type", "raw"} <= set(d["xmp"])
        assert d["label"] is None and d["notes"]
    by_name = {Path(r["path"]).name: r for r in records}
    assert by_name["MANIFEST.tsv"]["error"] is not None
    assert by_name["malformed_svg-bad-jumbf.svg"]["format"] == "svg"
    assert by_name["ai_firefly-sundae_c2pa+xmp.png"]["disclosure"]["verdict"] == "disclosed"
    code, table, _ = run(capsys, "inspect", *paths)
    assert code == 0 and len(table.splitlines()) > len(paths)


def test_table_escapes_terminal_controls_in_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # ESC [2K erases the line; U+202E reverses what follows; a newline would fake a new record.
    name = "\x1b[2Kdisclosed\u202egpj.exe\ndisclosed  valid"
    a = xmp_jpeg(tmp_path / f"{name}.jpg")
    code, out, _ = run(capsys, "inspect", str(a))
    assert code == 0
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[2Kdisclosed\\u202egpj.exe\\ndisclosed  valid.jpg" in out
    assert not any(line.startswith("disclosed  valid") for line in out.splitlines())
