"""XMP reading: every container, every text encoding, hostile packets, sidecars.

The containers are built here byte by byte (or with Pillow / pillow-heif writers), so each test
knows exactly what the file holds.
"""

from __future__ import annotations

import io
import os
import zlib
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, PngImagePlugin

from twinreview.core.disclosure import (
    C2paState,
    DisclosurePolicy,
    InspectSettings,
    Verdict,
    disclosure_findings,
    inspect_bytes,
)
from twinreview.core.disclosure.sniff import sniff
from twinreview.core.disclosure.xmp import MAX_PACKET_BYTES, decode_packet, read_xmp
from twinreview.services.disclosure import read_xmp_sidecar

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TAM = IPTC + "trainedAlgorithmicMedia"
CAPTURE = IPTC + "digitalCapture"

_HEAD = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
_TAIL = '<?xpacket end="w"?>'
_NS = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    'xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xmpNote="http://ns.adobe.com/xmp/note/"'
)


def packet(body: str = "", attrs: str = "", *, wrapper: bool = True) -> str:
    xml = (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {_NS}>'
        f'<rdf:Description rdf:about="" {attrs}>{body}</rdf:Description></rdf:RDF></x:xmpmeta>'
    )
    return f"{_HEAD}{xml}{_TAIL}" if wrapper else xml


def dst_element(value: str, field: str = "DigitalSourceType") -> str:
    return f"<Iptc4xmpExt:{field}>{value}</Iptc4xmpExt:{field}>"


def base_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 140, 30)).save(buf, "JPEG")
    return buf.getvalue()


def app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def jpeg_with(*segments: bytes) -> bytes:
    data = base_jpeg()
    return data[:2] + b"".join(segments) + data[2:]


def std_xmp(text: bytes) -> bytes:
    return app1(b"http://ns.adobe.com/xap/1.0/\x00" + text)


def ext_xmp(guid: str, full: int, offset: int, chunk: bytes) -> bytes:
    return app1(
        b"http://ns.adobe.com/xmp/extension/\x00"
        + guid.encode()
        + full.to_bytes(4, "big")
        + offset.to_bytes(4, "big")
        + chunk
    )


def png_with_chunks(*chunks: tuple[bytes, bytes], after_idat: bool = False) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buf, "PNG")
    data = buf.getvalue()
    raw = b"".join(
        len(body).to_bytes(4, "big") + ctype + body + zlib.crc32(ctype + body).to_bytes(4, "big")
        for ctype, body in chunks
    )
    if after_idat:
        iend = data.rindex(b"IEND") - 4
        return data[:iend] + raw + data[iend:]
    return data[:33] + raw + data[33:]  # after the 8-byte signature and 25-byte IHDR chunk


def settings() -> InspectSettings:
    return InspectSettings.offline()


# --- JPEG ------------------------------------------------------------------------------------


def test_jpeg_app1_element_form() -> None:
    data = jpeg_with(std_xmp(packet(dst_element(TAM)).encode()))
    report = read_xmp(data, "jpeg")
    assert report.source_type == TAM
    assert report.where == "JPEG APP1"


@pytest.mark.parametrize(
    ("attrs", "body"),
    [
        (f'Iptc4xmpExt:DigitalSourceType="{TAM}"', ""),
        ("", f'<Iptc4xmpExt:DigitalSourceType rdf:resource="{TAM}"/>'),
        (
            "",
            f"<Iptc4xmpExt:DigitalSourceType><rdf:Alt><rdf:li>{TAM}</rdf:li></rdf:Alt>"
            "</Iptc4xmpExt:DigitalSourceType>",
        ),
    ],
    ids=["attribute", "rdf-resource", "rdf-alt"],
)
def test_rdf_shapes(attrs: str, body: str) -> None:
    report = read_xmp(jpeg_with(std_xmp(packet(body, attrs).encode())), "jpeg")
    assert report.source_type == TAM


def test_jpeg_extended_xmp_over_several_segments() -> None:
    guid = "0123456789ABCDEF0123456789ABCDEF"
    main = packet("", f'xmpNote:HasExtendedXMP="{guid}"').encode()
    extended = packet(
        dst_element(TAM) + "<dcterms:title>" + "x" * 150_000 + "</dcterms:title>", wrapper=False
    ).encode()
    step = 65_000
    parts = [
        ext_xmp(guid, len(extended), off, extended[off : off + step])
        for off in range(0, len(extended), step)
    ]
    assert len(parts) == 3
    # Segments may come in any order; the offsets put them back together.
    data = jpeg_with(std_xmp(main), parts[2], parts[0], parts[1])
    report = read_xmp(data, "jpeg")
    assert report.packets == ("JPEG APP1", "JPEG extended XMP")
    assert report.source_type == TAM
    assert report.where == "JPEG extended XMP"


def test_jpeg_extended_xmp_missing_segment_is_noted_not_guessed() -> None:
    guid = "0123456789ABCDEF0123456789ABCDEF"
    main = packet("", f'xmpNote:HasExtendedXMP="{guid}"').encode()
    extended = packet(
        dst_element(TAM) + "<dcterms:title>" + "y" * 100_000 + "</dcterms:title>", wrapper=False
    ).encode()
    first = ext_xmp(guid, len(extended), 0, extended[:60_000])
    report = read_xmp(jpeg_with(std_xmp(main), first), "jpeg")
    assert report.source_type is None
    assert any("incomplete" in n for n in report.notes)


def test_jpeg_extended_xmp_with_foreign_guid_is_ignored() -> None:
    main = packet("", 'xmpNote:HasExtendedXMP="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"').encode()
    extended = packet(dst_element(TAM), wrapper=False).encode()
    other = ext_xmp("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", len(extended), 0, extended)
    report = read_xmp(jpeg_with(std_xmp(main), other), "jpeg")
    assert report.source_type is None
    assert any("not referenced" in n for n in report.notes)


@pytest.mark.parametrize("codec", ["utf-16-be", "utf-16-le", "utf-32-be", "utf-32-le"])
@pytest.mark.parametrize("bom", [True, False])
def test_utf16_and_utf32_packets(codec: str, bom: bool) -> None:
    text = packet(dst_element(TAM))
    if not bom:
        text = text.replace("\ufeff", "")  # the xpacket begin attribute may be empty
    raw = text.encode(codec)
    if bom:
        raw = "\ufeff".encode(codec) + raw
    assert decode_packet(raw) is not None
    report = read_xmp(jpeg_with(std_xmp(raw)), "jpeg")
    assert report.source_type == TAM, report.notes


def test_xml_declaration_naming_another_encoding() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?>' + packet(dst_element(TAM))
    report = read_xmp(jpeg_with(std_xmp(text.encode("utf-16-le"))), "jpeg")
    assert report.source_type == TAM


def test_damaged_jpeg_structure_is_a_note() -> None:
    data = jpeg_with(std_xmp(packet(dst_element(TAM)).encode()))
    truncated = data[:60]
    report = read_xmp(truncated, "jpeg")
    assert report.source_type is None
    assert any("truncated" in n for n in report.notes)


# --- PNG, WebP, GIF, TIFF, HEIF --------------------------------------------------------------


def _itxt(text: bytes, compressed: bool) -> bytes:
    body = zlib.compress(text) if compressed else text
    return b"XML:com.adobe.xmp\x00" + bytes([1 if compressed else 0, 0]) + b"\x00\x00" + body


@pytest.mark.parametrize(
    ("chunk", "where"),
    [
        ((b"iTXt", _itxt(packet(dst_element(TAM)).encode(), False)), "PNG iTXt"),
        ((b"iTXt", _itxt(packet(dst_element(TAM)).encode(), True)), "PNG iTXt"),
        (
            (
                b"zTXt",
                b"XML:com.adobe.xmp\x00\x00" + zlib.compress(packet(dst_element(TAM)).encode()),
            ),
            "PNG zTXt",
        ),
        ((b"tEXt", b"XML:com.adobe.xmp\x00" + packet(dst_element(TAM)).encode()), "PNG tEXt"),
    ],
    ids=["iTXt", "iTXt-compressed", "zTXt", "tEXt"],
)
def test_png_text_chunks(chunk: tuple[bytes, bytes], where: str) -> None:
    report = read_xmp(png_with_chunks(chunk), "png")
    assert report.source_type == TAM
    assert report.where == where


def test_png_raw_profile_and_chunk_after_idat() -> None:
    xml = packet(dst_element(TAM)).encode()
    hexed = xml.hex()
    lines = "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72))
    body = f"\nxmp\n{len(xml):8d}\n{lines}\n".encode()
    chunk = (b"zTXt", b"Raw profile type xmp\x00\x00" + zlib.compress(body))
    report = read_xmp(png_with_chunks(chunk, after_idat=True), "png")
    assert report.source_type == TAM


def test_png_decompression_bomb_is_capped() -> None:
    bomb = zlib.compress(b" " * (MAX_PACKET_BYTES + 1024), 9)
    data = png_with_chunks((b"zTXt", b"XML:com.adobe.xmp\x00\x00" + bomb))
    report = read_xmp(data, "png")
    assert report.source_type is None
    assert any("decompresses to more than" in n for n in report.notes)


def test_pillow_written_png_itxt() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet(dst_element(TAM)), zip=True)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG", pnginfo=info)
    assert read_xmp(buf.getvalue(), "png").source_type == TAM


def test_webp_xmp_chunk() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (3, 4, 5)).save(buf, "WEBP", xmp=packet(dst_element(TAM)).encode())
    data = buf.getvalue()
    assert sniff(data).format == "webp"
    report = read_xmp(data, "webp")
    assert report.source_type == TAM
    assert report.where == "WebP XMP chunk"


def test_tiff_tag_700() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (3, 4, 5)).save(
        buf, "TIFF", tiffinfo={700: packet(dst_element(TAM)).encode()}
    )
    data = buf.getvalue()
    assert sniff(data).format == "tiff"
    report = read_xmp(data, "tiff")
    assert report.source_type == TAM
    assert report.where == "TIFF tag 700"


def test_gif_xmp_application_extension() -> None:
    buf = io.BytesIO()
    Image.new("P", (8, 8)).save(buf, "GIF")
    data = buf.getvalue()
    xml = packet(dst_element(TAM)).encode()
    trailer = b"\x01" + bytes(range(255, -1, -1)) + b"\x00"  # the "magic trailer"
    block = b"\x21\xff\x0bXMP DataXMP" + xml + trailer
    data = data[:-1] + block + data[-1:]
    report = read_xmp(data, "gif")
    assert report.source_type == TAM


def test_heic_xmp() -> None:
    buf = io.BytesIO()
    heif = pillow_heif.from_pillow(Image.new("RGB", (64, 48), (50, 60, 70)))
    heif.save(buf, format="HEIF", xmp=packet(dst_element(TAM)).encode())
    data = buf.getvalue()
    assert sniff(data).format == "heic"
    report = read_xmp(data, "heic")
    assert report.source_type == TAM
    assert report.where == "HEIF XMP item"


def test_avif_xmp() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (50, 60, 70)).save(
        buf, "AVIF", xmp=packet(dst_element(TAM)).encode()
    )
    data = buf.getvalue()
    assert sniff(data).format == "avif"
    assert read_xmp(data, "avif").source_type == TAM


def test_format_is_sniffed_not_taken_from_the_name() -> None:
    data = jpeg_with(std_xmp(packet(dst_element(TAM)).encode()))
    report = inspect_bytes(data, path_hint="looks-like.png", settings=settings())
    assert report.format == "jpeg"
    assert report.xmp.source_type == TAM


# --- values, hostile packets -----------------------------------------------------------------


def test_non_vocabulary_value_is_reported_as_such() -> None:
    data = jpeg_with(std_xmp(packet(dst_element("trainedAlgorithmicMedia")).encode()))
    report = inspect_bytes(data, settings=settings())
    assert report.xmp.source_type is None
    assert report.xmp.raw == "trainedAlgorithmicMedia"
    assert report.verdict is Verdict.MISSING
    assert any("not in the IPTC" in n and TAM in n for n in report.notes)


def test_deprecated_field_is_read_and_flagged() -> None:
    data = jpeg_with(std_xmp(packet(dst_element(TAM, "DigitalSourcefileType")).encode()))
    report = read_xmp(data, "jpeg")
    assert report.source_type == TAM
    assert report.values[0].field == "Iptc4xmpExt:DigitalSourcefileType"
    assert any("deprecated" in n for n in report.notes)


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
    '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
    '<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">'
    '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">'
    '<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">'
    '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>'
    + packet(dst_element("&lol9;"), wrapper=False)
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
    + packet(dst_element("&ext;"), wrapper=False)
)


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "xxe"])
def test_entity_attacks_are_refused_with_a_note(xml: str) -> None:
    data = jpeg_with(std_xmp(xml.encode()))
    report = inspect_bytes(data, settings=settings())
    assert report.xmp.source_type is None
    assert report.xmp.raw is None
    assert any("Unreadable XMP" in n and "entities" in n for n in report.notes), report.notes


def test_malformed_and_oversized_packets_are_notes() -> None:
    broken = read_xmp(jpeg_with(std_xmp(b"<x:xmpmeta><rdf:RDF>")), "jpeg")
    assert any("not well-formed" in n for n in broken.notes)
    huge = b"<x:xmpmeta>" + b" " * (MAX_PACKET_BYTES + 1) + b"</x:xmpmeta>"
    report = read_xmp(b"", None, sidecar=huge)
    assert report.source_type is None
    assert any("too large" in n for n in report.notes)


@pytest.mark.parametrize("depth", [100_000, 1_000_000])
def test_deep_nesting_does_not_crash(depth: int) -> None:
    deep = "<a>" * depth + dst_element(TAM) + "</a>" * depth
    report = inspect_bytes(base_jpeg(), sidecar_xmp=deep.encode(), settings=settings())
    # Not XMP (no namespace declarations): unreadable, but no RecursionError or crash.
    assert report.xmp.source_type is None
    assert report.error is None


# --- sidecars, stripped manifests, conflicts -------------------------------------------------


def test_sidecar_alone_discloses_partially() -> None:
    report = inspect_bytes(
        base_jpeg(), sidecar_xmp=packet(dst_element(TAM)).encode(), settings=settings()
    )
    assert report.xmp.source_type == TAM
    assert report.xmp.where == "sidecar"
    assert report.verdict is Verdict.PARTIAL


def test_embedded_and_sidecar_contradicting_is_a_conflict() -> None:
    data = jpeg_with(std_xmp(packet(dst_element(CAPTURE)).encode()))
    report = inspect_bytes(data, sidecar_xmp=packet(dst_element(TAM)).encode(), settings=settings())
    assert report.verdict is Verdict.BLOCKED
    assert report.conflict is not None
    kinds = {f.kind for f in disclosure_findings(report, DisclosurePolicy())}
    assert "disclosure_conflict" in kinds


def test_provenance_reference_without_manifest_means_stripped() -> None:
    ref = "self#jumbf=/c2pa/urn:uuid:0000/c2pa.claim"
    data = jpeg_with(std_xmp(packet("", f'dcterms:provenance="{ref}"').encode()))
    report = inspect_bytes(data, settings=settings())
    assert report.c2pa.state is C2paState.ABSENT
    assert report.manifest_stripped
    assert report.xmp.provenance == (ref,)
    findings = disclosure_findings(report, DisclosurePolicy())
    assert {f.kind for f in findings} == {"missing_disclosure", "manifest_stripped"}


@pytest.mark.parametrize("style", ["name.xmp", "name.ext.xmp"])
def test_sidecar_files_next_to_the_asset(tmp_path: Path, style: str) -> None:
    asset = tmp_path / "photo.jpg"
    asset.write_bytes(base_jpeg())
    side = tmp_path / ("photo.xmp" if style == "name.xmp" else "photo.jpg.xmp")
    side.write_text(packet(dst_element(TAM)), encoding="utf-8")
    assert read_xmp_sidecar(asset) == side.read_bytes()


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks on this platform")
def test_sidecar_symlink_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.xmp"
    outside.write_text(packet(dst_element(TAM)), encoding="utf-8")
    ws = tmp_path / "ws"
    ws.mkdir()
    asset = ws / "photo.jpg"
    asset.write_bytes(base_jpeg())
    (ws / "photo.xmp").symlink_to(outside)
    assert read_xmp_sidecar(asset) is None
