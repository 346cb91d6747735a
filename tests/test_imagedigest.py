"""The image-data digest: unchanged by metadata and by publishing, changed by any pixel or table.

Files are built from synthetic patterns and from the real-file corpus (read in place).
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from twinreview.core.publish import imagedigest
from twinreview.core.publish.imagedigest import AmbiguousImageError, ambiguity, image_digest
from twinreview.core.publish.xmpwrite import packet_with_source_type, put_main_packet
from wsbuild import pattern

TAM = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


@pytest.mark.parametrize(("fmt", "kw"), [("JPEG", {"quality": 90}), ("PNG", {}), ("WEBP", {})])
def test_metadata_does_not_change_it_pixels_do(fmt: str, kw: dict[str, object]) -> None:
    img = pattern(3, (200, 150))
    plain = encode(img, fmt, **kw)
    with_meta = encode(img, fmt, exif=exif_orientation(1), **kw)
    assert with_meta != plain
    digest = image_digest(plain)
    assert digest is not None and len(digest) == 64
    assert image_digest(with_meta) == digest
    fmt_name = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}[fmt]
    packet = packet_with_source_type(None, TAM)
    assert packet is not None
    assert image_digest(put_main_packet(plain, fmt_name, packet)) == digest
    changed = img.copy()
    changed.putpixel((5, 5), (0, 0, 0))
    assert image_digest(encode(changed, fmt, **kw)) != digest
    # Turned on screen by its Exif orientation: another picture.
    assert image_digest(encode(img, fmt, exif=exif_orientation(6), **kw)) != digest


def test_jpeg_tables_are_part_of_it() -> None:
    """Same scan data, another quantisation table: other pixels, another digest."""
    data = bytearray(encode(pattern(4, (160, 120)), "JPEG", quality=80))
    dqt = data.find(b"\xff\xdb")
    assert dqt > 0
    before = image_digest(bytes(data))
    data[dqt + 10] ^= 0x01
    assert image_digest(bytes(data)) != before


def test_jpeg_comment_and_trailing_bytes_are_not() -> None:
    data = encode(pattern(5, (160, 120)), "JPEG", quality=80)
    com = b"\xff\xfe" + struct.pack(">H", 2 + 5) + b"hello"
    assert image_digest(data[:2] + com + data[2:]) == image_digest(data)
    assert image_digest(data + b"trailing junk") == image_digest(data)


def test_png_text_and_time_are_not_part_of_it() -> None:
    from PIL import PngImagePlugin

    img = pattern(6, (120, 90))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "a note")
    info.add_itxt("Description", "more")
    assert image_digest(encode(img, "PNG", pnginfo=info)) == image_digest(encode(img, "PNG"))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8\xff",
        b"\x89PNG\r\n\x1a\n\x00\x00",
        b"RIFF\x10\x00\x00\x00WEBPVP8 ",
        b"GIF89a",
    ],
)
def test_damaged_or_other_formats_have_none(data: bytes) -> None:
    assert image_digest(data) is None


def test_truncated_jpeg_has_none() -> None:
    data = encode(pattern(7, (160, 120)), "JPEG")
    assert image_digest(data[: len(data) // 2]) is None


def test_corpus_files_keep_it_under_an_xmp_rewrite(corpus_dir: Path) -> None:
    """Real files (C2PA, XMP, extended XMP, WebP from c2pa-rs): a new XMP packet changes nothing."""
    from twinreview.core.disclosure.sniff import sniff

    folder = corpus_dir / "disclosure"
    checked = 0
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        fmt = sniff(data).format
        if fmt not in ("jpeg", "png", "webp") or path.name.startswith(("malformed", "tamper")):
            continue
        digest = image_digest(data)
        assert digest is not None, path.name
        packet = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
        assert image_digest(put_main_packet(data, fmt, packet)) == digest, path.name
        checked += 1
    assert checked >= 10


def test_a_decision_signs_the_digest_of_the_bytes_decided_on(tmp_path: Path) -> None:
    from decision_helpers import build_workspace, decider, enroll, reviewer
    from twinreview.core.workspace import Workspace

    root = build_workspace(tmp_path / "ws")
    ava = reviewer(tmp_path / "people", "ava@example.com", "model", "Ava")
    enroll(root, ava, ("ava",))
    entry = decider(ava).decide(Workspace.open(root), "assets/ava/look1.jpg", "approve")
    digest = image_digest((root / "assets" / "ava" / "look1.jpg").read_bytes())
    assert digest is not None and entry.payload["image_digest"] == digest


def _scan_end_bytewise(data: bytes, pos: int) -> int | None:
    """The end of entropy-coded data, byte by byte as the JPEG standard says (B.1.1.5)."""
    while pos + 1 < len(data):
        if data[pos] == 0xFF:
            nxt = data[pos + 1]
            if nxt == 0xFF:  # a fill byte: the marker starts at the last 0xFF
                pos += 1
                continue
            if nxt != 0x00 and not 0xD0 <= nxt <= 0xD7:
                return pos
            pos += 2
            continue
        pos += 1
    return None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"\xff", b"\x00", b"\xd0", b"\xd7", b"\xd9", b"\xda", b"a"])))
def test_scan_data_ends_at_the_first_marker_but_restarts_and_stuffing(parts: list[bytes]) -> None:
    data = b"".join(parts)
    expected = _scan_end_bytewise(data, 0)
    if expected is None:
        with pytest.raises(imagedigest._Damaged):
            imagedigest._scan_end(data, 0)
    else:
        assert imagedigest._scan_end(data, 0) == expected


def test_ambiguity_reads_the_file_as_the_digest_does() -> None:
    img = pattern(5, (240, 160))
    plain = encode(img, "JPEG", quality=85, progressive=True)  # several scans
    assert image_digest(plain) is not None
    assert ambiguity(plain) is None
    twice = plain[:2] + b"\xff\xe1" + struct.pack(">H", 8) + b"Exif\x00\x00" + plain[2:]
    twice = twice[:2] + b"\xff\xe1" + struct.pack(">H", 8) + b"Exif\x00\x00" + twice[2:]
    with pytest.raises(AmbiguousImageError):
        image_digest(twice)
    assert (ambiguity(twice) or "").startswith("the file is ambiguous: ")
