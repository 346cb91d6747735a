"""Bytes the image digest leaves out must never change the picture shown.

Every attack keeps the digested bytes and changes only what the digest does not read (a second
Exif block, an XMP or text-chunk orientation, a PNG checksum, a WebP header flag or canvas),
so that Pillow or a viewer shows another picture. Each such file is refused as ambiguous. What
changes colours or transparency inside the digested bytes (PNG gAMA, cHRM, sRGB, iCCP, tRNS,
PLTE, bKGD; JPEG APP2 and APP14; WebP ICCP and ANIM) changes the digest. The refusals add
nothing to the digest of a file that passes them: the corpus's digests are pinned, as decisions
carry them.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps, PngImagePlugin

from twinreview.core.publish.imagedigest import AmbiguousImageError, ambiguity, image_digest
from twinreview.core.publish.xmpwrite import put_main_packet
from wsbuild import pattern

TIFF_NS = b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/"'


def encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()  # b"Exif\0\0" + TIFF


def app1(body: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def tiff_ifd(entries: list[tuple[int, int, int, int]]) -> bytes:
    """A little-endian TIFF whose IFD0 holds ``(tag, type, count, value)`` entries."""
    out = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        out += struct.pack("<HHII", tag, typ, count, value)
    return out + b"\x00\x00\x00\x00"


def shown(data: bytes) -> tuple[tuple[int, int], int | None]:
    """What Pillow (the app) shows: the size after turning, and the orientation it read."""
    with Image.open(io.BytesIO(data)) as img:
        orientation = img.getexif().get(0x0112)
        return ImageOps.exif_transpose(img).size, orientation


def refused(data: bytes, words: str) -> None:
    with pytest.raises(AmbiguousImageError) as caught:
        image_digest(data)
    message = str(caught.value)
    assert message.startswith("the file is ambiguous: ") and words in message, message
    assert "\n" not in message
    assert ambiguity(data) == message


# -- JPEG ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return encode(pattern(40, (160, 120)), "JPEG", quality=85)


@pytest.mark.parametrize("first", [8, 6, 2, 4, 5, 7])
def test_jpeg_two_exif_blocks_are_refused(jpeg: bytes, first: int) -> None:
    data = jpeg[:2] + app1(exif_bytes(first)) + app1(exif_bytes(1)) + jpeg[2:]
    assert shown(data)[1] == first  # Pillow reads the first block
    refused(data, "it has 2 Exif blocks")


@pytest.mark.parametrize(
    ("entries", "pillow_reads"),
    [
        ([(0x0112, 4, 1, 6)], 6),  # a LONG: Pillow turns it, a strict reader does not
        ([(0x0112, 3, 1, 1), (0x0112, 3, 1, 6)], None),  # twice: readers take first or last
        ([(0x0112, 3, 2, 6)], None),  # two values
    ],
)
def test_jpeg_an_orientation_readers_disagree_on_is_refused(
    jpeg: bytes, entries: list[tuple[int, int, int, int]], pillow_reads: int | None
) -> None:
    data = jpeg[:2] + app1(b"Exif\x00\x00" + tiff_ifd(entries)) + jpeg[2:]
    if pillow_reads is not None:
        assert shown(data)[1] == pillow_reads
    refused(data, "its Exif orientation is written twice or not as one number")


def test_jpeg_exif_directory_past_its_block_is_refused(jpeg: bytes) -> None:
    tiff = tiff_ifd([(0x0112, 3, 1, 6)])
    tiff = tiff[:8] + struct.pack("<H", 40) + tiff[10:]  # claims 40 entries, holds one
    refused(jpeg[:2] + app1(b"Exif\x00\x00" + tiff) + jpeg[2:], "runs past")


def test_jpeg_exif_after_the_image_data_is_refused(jpeg: bytes) -> None:
    before = jpeg[:2] + app1(exif_bytes(6)) + jpeg[2:]
    after = jpeg[:-2] + app1(exif_bytes(6)) + jpeg[-2:]
    assert shown(before)[0] == (120, 160) and shown(after)[0] == (160, 120)
    assert image_digest(before) is not None
    refused(after, "an Exif block after the image data")


def test_jpeg_an_app1_calling_itself_exif_otherwise_is_refused(jpeg: bytes) -> None:
    body = b"Exif\x00\xff" + exif_bytes(6)[6:]
    refused(jpeg[:2] + app1(body) + jpeg[2:], "names itself Exif")


def xmp(inner: bytes) -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        + inner
        + b"</rdf:RDF></x:xmpmeta>"
    )


ATTR_6 = xmp(b'<rdf:Description rdf:about="" ' + TIFF_NS + b' tiff:Orientation="6"/>')
ELEMENT_6 = xmp(
    b'<rdf:Description rdf:about="" ' + TIFF_NS + b"><tiff:Orientation>6</tiff:Orientation>"
    b"</rdf:Description>"
)
OTHER_PREFIX_6 = xmp(
    b'<rdf:Description rdf:about="" xmlns:t="http://ns.adobe.com/tiff/1.0/" t:Orientation="6"/>'
)
UNREADABLE = xmp(
    b'<rdf:Description rdf:about="" ' + TIFF_NS + b"><tiff:Orientation><rdf:Seq/>"
    b"</tiff:Orientation></rdf:Description>"
)


@pytest.mark.parametrize("packet", [ATTR_6, ELEMENT_6, OTHER_PREFIX_6])
def test_jpeg_xmp_orientation_without_exif_is_refused(jpeg: bytes, packet: bytes) -> None:
    data = put_main_packet(jpeg, "jpeg", packet)
    if packet is not OTHER_PREFIX_6:
        assert shown(data)[0] == (120, 160)  # Pillow turns it by the XMP
    refused(data, "its XMP tiff:Orientation is 6, but its Exif orientation is 1")


def test_jpeg_xmp_orientation_that_cannot_be_read_is_refused(jpeg: bytes) -> None:
    refused(put_main_packet(jpeg, "jpeg", UNREADABLE), "cannot be read")
    default_ns = xmp(
        b'<rdf:Description rdf:about=""><Orientation xmlns="http://ns.adobe.com/tiff/1.0/">6'
        b"</Orientation></rdf:Description>"
    )
    refused(put_main_packet(jpeg, "jpeg", default_ns), "cannot be read")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32-le"])
def test_jpeg_xmp_orientation_in_a_wide_encoding_is_read(jpeg: bytes, codec: str) -> None:
    """XMP may be UTF-16 or UTF-32: an XML reader finds the orientation a byte search misses."""
    wide = ATTR_6.decode().encode(codec)
    data = jpeg[:2] + app1(b"http://ns.adobe.com/xap/1.0/\x00" + wide) + jpeg[2:]
    refused(data, "its XMP tiff:Orientation is 6")


def test_jpeg_xmp_orientation_that_agrees_keeps_the_digest(jpeg: bytes) -> None:
    turned = jpeg[:2] + app1(exif_bytes(6)) + jpeg[2:]
    digest = image_digest(turned)
    assert digest is not None
    assert image_digest(put_main_packet(turned, "jpeg", ATTR_6)) == digest
    assert image_digest(put_main_packet(turned, "jpeg", ELEMENT_6)) == digest
    words = xmp(b'<rdf:Description rdf:about=""><dc:title>Orientation: upright</dc:title>')
    assert image_digest(put_main_packet(jpeg, "jpeg", words)) == image_digest(jpeg)


def test_jpeg_colour_segments_are_part_of_it(jpeg: bytes) -> None:
    digest = image_digest(jpeg)
    icc = b"ICC_PROFILE\x00\x01\x01" + bytes(200)
    icc_other = b"ICC_PROFILE\x00\x01\x01" + bytes(199) + b"\x01"
    adobe = b"Adobe\x00\x64\x00\x00\x00\x00\x01"
    adobe_other = b"Adobe\x00\x64\x00\x00\x00\x00\x02"  # another colour transform
    seg = lambda m, b: bytes([0xFF, m]) + struct.pack(">H", len(b) + 2) + b  # noqa: E731
    with_icc = jpeg[:2] + seg(0xE2, icc) + jpeg[2:]
    with_adobe = jpeg[:2] + seg(0xEE, adobe) + jpeg[2:]
    assert len({digest, image_digest(with_icc), image_digest(with_adobe)}) == 3
    assert image_digest(jpeg[:2] + seg(0xE2, icc_other) + jpeg[2:]) != image_digest(with_icc)
    assert image_digest(jpeg[:2] + seg(0xEE, adobe_other) + jpeg[2:]) != image_digest(with_adobe)


# -- PNG -----------------------------------------------------------------------------------------


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def png_chunk(ctype: bytes, body: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(ctype + body) if crc is None else crc
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc)


def png_build(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(png_chunk(c, b) for c, b in chunks)


def png_insert(data: bytes, before: bytes, ctype: bytes, body: bytes) -> bytes:
    chunks = png_chunks(data)
    at = next(i for i, (c, _) in enumerate(chunks) if c == before)
    return png_build([*chunks[:at], (ctype, body), *chunks[at:]])


@pytest.fixture(scope="module")
def png() -> bytes:
    return encode(pattern(41, (120, 90)), "PNG")


@pytest.fixture(scope="module")
def png_palette() -> bytes:
    img = pattern(42, (64, 48)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    transparency = bytes([255] * 15 + [0])
    return encode(img, "PNG", transparency=transparency)


def test_png_a_wrong_checksum_is_refused(png_palette: bytes) -> None:
    """libpng drops an ancillary chunk with a bad CRC: without tRNS, hidden colours show."""
    chunks = png_chunks(png_palette)
    assert any(c == b"tRNS" for c, _ in chunks)
    out = b"\x89PNG\r\n\x1a\n" + b"".join(
        png_chunk(c, b, crc=0 if c == b"tRNS" else None) for c, b in chunks
    )
    refused(out, "the checksum of its 'tRNS' chunk is wrong")


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: png_insert(d, b"IDAT", b"gAMA", struct.pack(">I", 45455)),
        lambda d: png_insert(d, b"IDAT", b"gAMA", struct.pack(">I", 100000)),
        lambda d: png_insert(d, b"IDAT", b"sRGB", b"\x00"),
        lambda d: png_insert(d, b"IDAT", b"cHRM", bytes(32)),
        lambda d: png_insert(d, b"IDAT", b"iCCP", b"p\x00\x00" + zlib.compress(bytes(128))),
        lambda d: png_insert(d, b"IDAT", b"bKGD", b"\x00\x03"),
        lambda d: png_insert(d, b"IDAT", b"pHYs", struct.pack(">IIB", 2, 1, 0)),
    ],
)
def test_png_colour_chunks_are_part_of_it(png: bytes, edit: Callable[[bytes], bytes]) -> None:
    assert image_digest(edit(png)) != image_digest(png)


def test_png_palette_and_transparency_are_part_of_it(png_palette: bytes) -> None:
    digest = image_digest(png_palette)
    for target in (b"PLTE", b"tRNS"):
        chunks = [
            (c, bytes([b[0] ^ 0xFF]) + b[1:] if c == target else b)
            for c, b in png_chunks(png_palette)
        ]
        assert image_digest(png_build(chunks)) != digest, target


def test_png_two_exif_blocks_are_refused(png: bytes) -> None:
    data = png_insert(png, b"IDAT", b"eXIf", exif_bytes(8)[6:])
    data = png_insert(data, b"IDAT", b"eXIf", exif_bytes(1)[6:])
    refused(data, "it has 2 Exif blocks")


def test_png_exif_after_the_image_data_is_refused(png: bytes) -> None:
    refused(png_insert(png, b"IEND", b"eXIf", exif_bytes(6)[6:]), "after the image data")


@pytest.mark.parametrize("compressed", [False, True])
def test_png_xmp_orientation_is_refused(png: bytes, compressed: bool) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", ATTR_6.decode(), zip=compressed)
    data = encode(pattern(41, (120, 90)), "PNG", pnginfo=info)
    assert shown(data)[0] == (90, 120)  # Pillow turns it
    refused(data, "its XMP tiff:Orientation is 6")


def raw_profile(exif: bytes) -> str:
    hexed = exif.hex()
    return (
        "\nexif\n"
        + f"{len(exif):8d}\n"
        + "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72))
    )


def test_png_raw_exif_profile_orientation_is_refused(png: bytes) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", raw_profile(exif_bytes(6)))
    data = encode(pattern(41, (120, 90)), "PNG", pnginfo=info)
    assert shown(data)[0] == (90, 120)  # Pillow turns it by the text chunk
    refused(data, "its PNG text 'Raw profile type exif' is 6")


@pytest.mark.parametrize("keyword", ["Raw profile type xmp", "Raw profile type APP1"])
def test_png_imagemagick_xmp_orientation_is_refused(keyword: str) -> None:
    info = PngImagePlugin.PngInfo()
    hexed = ATTR_6.hex()
    info.add_text(keyword, f"\nxmp\n{len(ATTR_6):8d}\n{hexed}", zip=True)
    data = encode(pattern(41, (120, 90)), "PNG", pnginfo=info)
    refused(data, "its XMP tiff:Orientation is 6")


def test_png_raw_exif_profile_that_agrees_keeps_the_digest(png: bytes) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", raw_profile(exif_bytes(1)))
    assert image_digest(encode(pattern(41, (120, 90)), "PNG", pnginfo=info)) == image_digest(png)


# -- WebP ----------------------------------------------------------------------------------------


def riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(
        c + struct.pack("<I", len(b)) + b + (b"\x00" if len(b) & 1 else b"") for c, b in chunks
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 12
    while pos + 8 <= len(data):
        length = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        out.append((data[pos : pos + 4], data[pos + 8 : pos + 8 + length]))
        pos += 8 + length + (length & 1)
    return out


def with_vp8x(data: bytes, change: Callable[[bytearray], None]) -> bytes:
    chunks = riff_chunks(data)
    assert chunks[0][0] == b"VP8X"
    head = bytearray(chunks[0][1])
    change(head)
    return riff([(b"VP8X", bytes(head)), *chunks[1:]])


def hidden(lossless: bool) -> bytes:
    rgb = np.full((48, 64, 3), 200, np.uint8)
    rgb[10:30, 10:40] = (255, 0, 0)
    alpha = np.full((48, 64), 255, np.uint8)
    alpha[10:30, 10:40] = 0
    img = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    # A lossless file is extended (VP8X) only when it carries more than its bitstream.
    extra = {"icc_profile": b"x" * 64} if lossless else {}
    return encode(img, "WEBP", lossless=lossless, quality=90, exact=True, **extra)


def centre_rgb(data: bytes) -> tuple[int, ...]:
    with Image.open(io.BytesIO(data)) as img:
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return tuple(
            int(v) for v in Image.alpha_composite(white, img.convert("RGBA")).getpixel((20, 20))
        )


@pytest.mark.parametrize("lossless", [False, True])
def test_webp_a_cleared_alpha_flag_is_refused(lossless: bool) -> None:
    data = hidden(lossless)
    assert image_digest(data) is not None
    forged = with_vp8x(data, lambda h: h.__setitem__(0, h[0] & ~0x10))
    assert centre_rgb(data)[:3] == (255, 255, 255)
    if not lossless:  # (Pillow decodes a VP8L's alpha whatever the flag; not every decoder does)
        assert centre_rgb(forged)[1] < 50  # the red block under the transparent pixels shows
    refused(forged, "its VP8X ALPHA flag is clear but it holds alpha data")


def test_webp_a_set_alpha_flag_without_alpha_is_refused() -> None:
    data = encode(pattern(43, (64, 48)), "WEBP", icc_profile=b"x" * 64)
    refused(with_vp8x(data, lambda h: h.__setitem__(0, h[0] | 0x10)), "ALPHA flag is set")


def test_webp_icc_flag_and_profile() -> None:
    data = encode(pattern(43, (64, 48)), "WEBP", icc_profile=b"x" * 64)
    other = encode(pattern(43, (64, 48)), "WEBP", icc_profile=b"y" * 64)
    assert image_digest(data) != image_digest(other)
    refused(with_vp8x(data, lambda h: h.__setitem__(0, h[0] & ~0x20)), "ICC flag is clear")


def test_webp_exif_flag_must_match() -> None:
    data = encode(pattern(43, (64, 48)), "WEBP", exif=exif_bytes(6))
    assert image_digest(data) is not None
    refused(with_vp8x(data, lambda h: h.__setitem__(0, h[0] & ~0x08)), "EXIF flag is clear")


def test_webp_a_simple_file_with_chunks_its_decoders_ignore_is_refused() -> None:
    data = encode(pattern(43, (64, 48)), "WEBP")
    chunks = riff_chunks(data)
    assert [c for c, _ in chunks] == [b"VP8 "]
    refused(riff([*chunks, (b"EXIF", exif_bytes(6))]), "a simple WebP with EXIF chunks")
    refused(riff([*chunks, (b"ICCP", b"x" * 64)]), "a simple WebP with ICCP chunks")


def test_webp_a_canvas_other_than_the_image_is_refused() -> None:
    data = encode(pattern(43, (64, 48)), "WEBP", icc_profile=b"x" * 64)
    bigger = with_vp8x(data, lambda h: h.__setitem__(slice(4, 7), (99).to_bytes(3, "little")))
    refused(bigger, "its VP8X canvas is 100x48 but its image is 64x48")


def test_webp_a_second_vp8x_is_refused() -> None:
    data = encode(pattern(43, (64, 48)), "WEBP", icc_profile=b"x" * 64)
    chunks = riff_chunks(data)
    refused(riff([chunks[0], *chunks]), "not its one first chunk")


@pytest.fixture(scope="module")
def animated() -> bytes:
    frames = [pattern(44, (64, 48)), pattern(45, (64, 48))]
    return encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)


def test_webp_animation_canvas_and_loop_are_bound(animated: bytes) -> None:
    digest = image_digest(animated)
    assert digest is not None
    bigger = with_vp8x(animated, lambda h: h.__setitem__(slice(4, 7), (199).to_bytes(3, "little")))
    refused(bigger, "its VP8X canvas is 200x48 but its image is 64x48")
    refused(with_vp8x(animated, lambda h: h.__setitem__(0, h[0] & ~0x02)), "ANIMATION flag")
    chunks = riff_chunks(animated)
    looped = [(c, b[:4] + b"\x05\x00" if c == b"ANIM" else b) for c, b in chunks]
    assert image_digest(riff(looped)) != digest


# -- decisions signed before keep verifying --------------------------------------------------------

# The digests of the corpus's JPEG, PNG and WebP files as decisions carry them: none of these
# files is ambiguous and none of their digests may change.
PINNED = """\
disclosure/ai_firefly-sundae_c2pa+xmp.png
    e3247df0db03e57f4cb7c0a73c4d1823c17654ce2523888da4a4ea59e03a1a09
disclosure/aiedit_photoshop-genfill_c2pa.jpg
    a790f7a09315c2efa2d2af0f432ade78774529bb11c23fc790af88281e1f5b6d
disclosure/c2pa_capture-cawg.jpg
    814c5410c693ead12a7c203457202509ad881f239273573628c8770517bf76b0
disclosure/c2pa_created-algorithmicMedia.jpg
    0df3d8e55852f9df73816c09e86b67901e8852ac40a952851fa996d19a6c7d1e
disclosure/iptc-iim_no-xmp.jpg
    f7644255787411e37e79adb504c17121e9be21868dc3a448ec97834ef8611d01
disclosure/iptc_genai-bing_xmp-only.jpg
    1561723e548c97daa28465c43f6c6d69cfbb4f71142b2c4e88601f999e32a2b5
disclosure/plain_no-metadata.jpg
    c1897a28a2fdb162892aacd3e6215366c7336900d605ebc945c723745306aa11
disclosure/plain_png.png
    ea18a10c7ed76b9abcb862ee7e347090c6f35458ed99212aa634f1780308adfe
disclosure/xmp_extended-multisegment.jpg
    1efb9736a8397cfe6f6b4cb345aae7c31d9868342389b1bedd5ac5afeeb899fb
disclosure/xmp_png.png
    d667f44179553c53fdd8a1fd833a17c96b90aadfbc59d056b5f2113a8ceb0904
disclosure/xmp_webp-c2pars.webp
    083ab406c2ff146e1d6671eac2aa96ae17bc984183c64945ef4d453703a2862d
faces/alex_1.png
    2be8e0a32104f13369630af197914e87fa3bbe768bb9c57daf0232c67aa85b90
faces/alex_2.jpg
    4eb04249aca79d7c1512886b5549af3604013764013361248e084cec14b3c5d0
faces/biden_1_fullbody.jpg
    3e178f1322b77eca3df41dce87f3b38edb1ea6331ee88a7e01066b7603b0da6c
faces/group_kit_rose.jpg
    ae3b97ff1e09b7770f824f31ecf585848b7202cc4dfe597a2fdbc97b85c68db4
faces/kit_2_smallface.jpg
    3e66b3a8f4995c6fc99e3d0a82cedd3abe46cc2e119a3aa110d2637c85ee0900
faces/lin_1.png
    018af06f551cdcab30a9b1722107c8c01c5420489113a8e9cb5f8fba76d04e02
faces/obama_5_letterboxed.jpg
    c1b83e7e8a56fa831d021b5127ca998cfed2d90fb8070f6e2e9dc977c1fc339b
faces/rose_2.jpg
    553d9eef89b48eab73391638059b0362deca28a21d0ef59a85f7d74dafe2cc85
"""


def test_files_that_are_not_ambiguous_keep_their_digest(corpus_dir: Path) -> None:
    lines = PINNED.split()
    for rel, digest in zip(lines[::2], lines[1::2], strict=True):
        data = (corpus_dir / rel).read_bytes()
        assert ambiguity(data) is None, rel
        assert image_digest(data) == digest, rel


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_what_pillow_writes_is_not_ambiguous(fmt: str) -> None:
    """Ordinary files: RGB, RGBA, with Exif, ICC profile, lossless, animated."""
    rgba = pattern(46, (64, 48)).convert("RGBA")
    variants: list[tuple[Image.Image, dict[str, object]]] = [
        (pattern(46, (64, 48)), {"exif": exif_bytes(6)}),
        (pattern(46, (64, 48)), {"icc_profile": b"x" * 64}),
    ]
    if fmt != "JPEG":
        variants += [(rgba, {}), (rgba, {"exif": exif_bytes(3)})]
    if fmt == "WEBP":
        variants += [
            (rgba, {"lossless": True}),
            (pattern(46, (64, 48)), {"save_all": True, "append_images": [rgba]}),
        ]
    for img, kw in variants:
        data = encode(img, fmt, **kw)
        assert ambiguity(data) is None, kw
        assert image_digest(data) is not None, kw


def _samples() -> list[bytes]:
    img = pattern(47, (32, 24))
    rgba = img.convert("RGBA")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", ATTR_6.decode(), zip=True)
    info.add_text("Raw profile type exif", raw_profile(exif_bytes(6)))
    jpeg = encode(img, "JPEG", exif=exif_bytes(6))
    return [
        put_main_packet(jpeg, "jpeg", ELEMENT_6),
        encode(rgba, "PNG", exif=exif_bytes(6), pnginfo=info),
        encode(rgba, "WEBP", exif=exif_bytes(6), icc_profile=b"x" * 16),
        encode(rgba, "WEBP", lossless=True, save_all=True, append_images=[img]),
    ]


SAMPLES = _samples()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from(range(len(SAMPLES))),
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**6), st.binary(min_size=1, max_size=8)),
        max_size=4,
    ),
    cut=st.none() | st.integers(min_value=0, max_value=10**6),
)
def test_whatever_the_bytes_it_gives_a_digest_none_or_the_refusal(
    which: int, edits: list[tuple[int, bytes]], cut: int | None
) -> None:
    data = bytearray(SAMPLES[which])
    for at, noise in edits:
        at %= len(data)
        data[at : at + len(noise)] = noise
    data = data[: cut % (len(data) + 1)] if cut is not None else data
    why = ambiguity(bytes(data))  # any other exception escapes and fails the test
    if why is not None:
        assert why.startswith("the file is ambiguous: ") and "\n" not in why
        return
    digest = image_digest(bytes(data))
    assert digest is None or len(digest) == 64


def test_a_huge_orientation_number_is_refused(jpeg: bytes) -> None:
    packet = ATTR_6.replace(b'"6"', b'"' + b"9" * 5000 + b'"')
    refused(put_main_packet(jpeg, "jpeg", packet), "cannot be read")
