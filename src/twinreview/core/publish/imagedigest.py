"""A digest of an image's data alone: what publishing leaves byte for byte.

A decision binds the sha256 of the whole file, but a published copy is another file: publishing
adds an XMP packet and a C2PA manifest. :func:`image_digest` hashes what a decoder turns into
pixels, read from the container without decoding anything (so it is the same on every platform
and never depends on a decoder's version), and leaves out the metadata containers publishing
writes or that only describe the image:

- JPEG: every marker segment from SOI to EOI, the entropy-coded scan data included (so the
  quantisation and Huffman tables, the frame header, each scan), except APP1 (Exif, XMP),
  APP11 (JUMBF: C2PA), APP13 (Photoshop, IPTC IIM) and COM. APP0, APP2 (ICC profile) and APP14
  (Adobe colour transform) stay: they change how the pixels look. Bytes after EOI are not part
  of the image.
- PNG: every chunk except tEXt, zTXt, iTXt (XMP lives there), eXIf, tIME and caBX (C2PA). The
  CRCs are left out (they follow from the chunk; a wrong one makes the file ambiguous).
- WebP: every chunk of the RIFF container except VP8X (its flags say which metadata chunks
  follow; publishing turns a simple file into an extended one), EXIF, ``XMP `` and C2PA.

The Exif orientation (which turns the picture on screen) is added to the digest from the file's
Exif block, so rotating an image by its metadata changes the digest too.

Ambiguous files have no digest: :func:`image_digest` refuses them (:class:`AmbiguousImageError`).
A file is ambiguous when something left out of the digest, or read differently by different
decoders, changes what is shown, so that two files with one digest could show two pictures:

- more than one Exif block (JPEG APP1, PNG eXIf, WebP EXIF: Pillow and browsers read the
  first, or join them), an Exif block after the image data (readers stop before it), an APP1
  that names itself Exif but not in the standard way, an orientation tag written twice, not as
  one SHORT, or in an IFD0 that runs past its block;
- an orientation elsewhere that disagrees with the Exif one (1 without Exif): XMP
  ``tiff:Orientation`` in any packet and Unicode encoding (Pillow and some viewers honour it
  when Exif has none), PNG text ``Raw profile type exif`` (Pillow reads it) or ImageMagick's
  hex-encoded XMP, or one that cannot be read;
- PNG: a chunk whose CRC is wrong (libpng drops a bad ancillary chunk such as tRNS or gAMA,
  Pillow refuses the file);
- WebP: VP8X flags that disagree with the chunks (ALPHA with the alpha data, ICC with ICCP,
  ANIMATION with ANMF, EXIF with EXIF: decoders follow the flag), a canvas other than the
  still image's size or the frames' extent, a VP8X that is not the first chunk, or chunks a
  simple file's decoders ignore (ALPH, ICCP, ANIM, ANMF, EXIF) that an extended header added
  by publishing or a forger would make them show.

These are refusals, not more digested bytes: the digest of a file that is not ambiguous depends
on none of them, so every decision that carries a digest under :data:`DIGEST_SCHEME` is checked
against the same form.

Other formats (TIFF, HEIC, GIF...) have no digest: publishing does not write them either.

Public API:
    image_digest(data) -> str | None: hex digest, or None (another format, damaged container);
        raises AmbiguousImageError for an ambiguous file.
    ambiguity(data) -> str | None: the one-line refusal for an ambiguous file, else None.
    AmbiguousImageError: the refusal; its message starts "the file is ambiguous: ".
    DIGEST_SCHEME: the name of this definition, recorded where the digest is.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from collections.abc import Iterator

from twinreview.core.errors import TwinreviewError

DIGEST_SCHEME = "twinreview-image-data-v1"

# JPEG markers whose segments are metadata only.
_JPEG_SKIP = frozenset({0xE1, 0xEB, 0xED, 0xFE})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_SKIP = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"caBX"})
_WEBP_SKIP = frozenset({b"VP8X", b"EXIF", b"XMP ", b"C2PA"})
_EXIF_HEADER = b"Exif\x00\x00"
_ORIENTATION = 0x0112
# PNG text keywords whose text a reader turns into an orientation.
_PNG_XMP = b"XML:com.adobe.xmp"
_PNG_RAW_EXIF = b"Raw profile type exif"
# ImageMagick's hex-encoded XMP text chunks.
_PNG_RAW_XMP = (b"Raw profile type xmp", b"Raw profile type APP1")
# A compressed text chunk is inflated up to this many bytes (an XMP packet is far smaller).
_MAX_TEXT = 4 * 1024 * 1024
# An element or attribute named Orientation in any namespace prefix, and its value.
# What precedes it tells an element (``<p:Orientation``, or ``<Orientation`` in a default
# namespace), a closing tag, or an attribute (``p:Orientation=``); plain text is neither.
_XMP_ORIENTATION = re.compile(rb"(</|<|\s)?([\w.-]+:)?Orientation\b")
_XMP_ELEMENT = re.compile(rb"\s*>\s*(\d{1,9})\s*<")
_XMP_ATTRIBUTE = re.compile(rb"""\s*=\s*["']\s*(\d{1,9})\s*["']""")
_XMP_HEADERS = (b"http://ns.adobe.com/xap/1.0/\x00", b"http://ns.adobe.com/xmp/extension/\x00")
# The first character of a packet ("<") in each wide encoding XMP allows.
_XMP_WIDE = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)
# VP8X flag bits.
_ANIMATION, _XMP_FLAG, _EXIF_FLAG, _ALPHA, _ICC = 0x02, 0x04, 0x08, 0x10, 0x20


class AmbiguousImageError(TwinreviewError):
    """The file can be shown as different pictures under one digest; the message says why."""

    def __init__(self, why: str) -> None:
        super().__init__(f"the file is ambiguous: {why}")
        self.why = why


class _Damaged(Exception):
    pass


def image_digest(data: bytes) -> str | None:
    """The hex sha256 of ``data``'s image data (see the module docstring), or None.

    Args:
        data: The whole file.

    Returns:
        The digest; None for a format without one or a container too damaged to walk.

    Raises:
        AmbiguousImageError: something outside the digest, or read differently by different
            decoders, changes what is shown.
    """
    return _walk(data, hashed=True)


def _walk(data: bytes, *, hashed: bool) -> str | None:
    """:func:`image_digest`; without ``hashed``, only its refusals (an empty digest)."""
    if data.startswith(b"\xff\xd8"):
        fmt, walk = b"jpeg", _jpeg
    elif data.startswith(_PNG_SIG):
        fmt, walk = b"png", _png
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        fmt, walk = b"webp", _webp
    else:
        return None
    digest = hashlib.sha256(DIGEST_SCHEME.encode() + b"\n" + fmt + b"\n")
    exif: list[bytes] = []
    others: list[tuple[str, int]] = []
    try:
        for kind, part in walk(data):
            if kind == b"exif":
                exif.append(part)
                continue
            if kind in (b"xmp", b"app1"):
                text = _xmp_text(part) if kind == b"xmp" else part
                others.extend(("XMP tiff:Orientation", v) for v in _xmp_orientations(text))
                continue
            if kind == b"rawexif":
                raw = _orientation(_raw_profile(part, _PNG_RAW_EXIF).removeprefix(_EXIF_HEADER))
                if raw is not None:
                    others.append(("PNG text 'Raw profile type exif'", raw))
                continue
            if hashed:
                # Each part is framed (kind, length): no two walks collide by concatenation.
                digest.update(kind + struct.pack(">Q", len(part)))
                digest.update(part)
    except (_Damaged, struct.error, IndexError):
        return None
    if len(exif) > 1:
        raise AmbiguousImageError(
            f"it has {len(exif)} Exif blocks (viewers read the first or join them, so the "
            "orientation they show is not certain)"
        )
    orientation = (_orientation(exif[0]) if exif else None) or 1
    for where, value in others:
        if value != orientation:
            raise AmbiguousImageError(
                f"its {where} is {value}, but its Exif orientation is {orientation} (viewers "
                "that read one turn or mirror the picture, the others do not)"
            )
    digest.update(b"orientation" + struct.pack(">Q", orientation))
    return digest.hexdigest()


def ambiguity(data: bytes) -> str | None:
    """Why ``data`` is ambiguous (one line starting "the file is ambiguous: "), else None.

    Args:
        data: The whole file.
    """
    try:
        # The refusals alone: hashing the image data would cost as much as the scan's sha256.
        _walk(data, hashed=False)
    except AmbiguousImageError as exc:
        return str(exc)
    return None


def _jpeg(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos, end = 2, len(data)
    scanned = False
    yield b"SOI", b""
    while True:
        if pos >= end or data[pos] != 0xFF:
            raise _Damaged
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            raise _Damaged
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            yield b"EOI", b""
            return
        if marker in _JPEG_STANDALONE:
            yield b"M" + bytes([marker]), b""
            continue
        if pos + 2 > end:
            raise _Damaged
        length = struct.unpack(">H", data[pos : pos + 2])[0]
        seg_end = pos + length
        if length < 2 or seg_end > end:
            raise _Damaged
        body = data[pos + 2 : seg_end]
        if marker == 0xE1 and body.startswith(b"Exif"):
            if not body.startswith(_EXIF_HEADER):
                raise AmbiguousImageError(
                    "an APP1 segment names itself Exif, but not in the standard way (some "
                    "readers take it for Exif, others do not)"
                )
            if scanned:
                raise AmbiguousImageError(
                    "it has an Exif block after the image data (readers stop before it, so "
                    "the orientation they show is not certain)"
                )
            yield b"exif", body[len(_EXIF_HEADER) :]
        elif marker == 0xE1 and body.startswith(_XMP_HEADERS):
            yield b"xmp", body
        elif marker == 0xE1:
            # Another APP1 (a vendor's): read as it is, in case a reader takes XMP from it.
            yield b"app1", body
        elif marker not in _JPEG_SKIP:
            yield b"M" + bytes([marker]), body
        pos = seg_end
        if marker == 0xDA:
            scanned = True
            scan_end = _scan_end(data, pos)
            yield b"scan", data[pos:scan_end]
            pos = scan_end


# A marker that ends entropy-coded data: 0xFF then anything but a stuffed zero, a restart
# marker (RSTn) or another 0xFF (a fill byte: the marker starts at the last 0xFF of a run).
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data starting at ``pos`` ends: the next marker but RSTn."""
    found = _SCAN_END.search(data, pos)
    if found is None:
        raise _Damaged
    return found.start()


def _png(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = len(_PNG_SIG)
    idat = False
    while True:
        if pos + 12 > len(data):
            raise _Damaged
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise _Damaged
        body = data[pos + 8 : pos + 8 + length]
        if zlib.crc32(ctype + body) != struct.unpack(">I", data[end - 4 : end])[0]:
            raise AmbiguousImageError(
                f"the checksum of its {ctype.decode('latin-1')!r} chunk is wrong (some "
                "decoders drop the chunk, others refuse the file)"
            )
        idat = idat or ctype == b"IDAT"
        if ctype == b"eXIf":
            if idat:
                raise AmbiguousImageError(
                    "it has an Exif block after the image data (some readers stop before "
                    "it, so the orientation they show is not certain)"
                )
            yield b"exif", body.removeprefix(_EXIF_HEADER)
        elif ctype in (b"tEXt", b"zTXt", b"iTXt"):
            yield from _png_text(ctype, body)
        elif ctype not in _PNG_SKIP:
            yield ctype, body
        if ctype == b"IEND":
            return
        pos = end


def _png_text(ctype: bytes, body: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The text of a PNG text chunk that a reader turns into an orientation (XMP, raw Exif)."""
    keyword, sep, rest = body.partition(b"\x00")
    if not sep or keyword not in (_PNG_XMP, _PNG_RAW_EXIF, *_PNG_RAW_XMP):
        return
    compressed = False
    if ctype == b"zTXt":
        compressed, rest = True, rest[1:]
    elif ctype == b"iTXt":
        compressed = rest[:1] == b"\x01"
        # compression method, language tag, translated keyword, then the text
        parts = rest[2:].split(b"\x00", 2)
        if len(parts) < 3:
            raise AmbiguousImageError(f"its {keyword.decode()} text chunk cannot be read")
        rest = parts[2]
    if compressed:
        try:
            inflate = zlib.decompressobj()
            rest = inflate.decompress(rest, _MAX_TEXT)
        except zlib.error:
            raise AmbiguousImageError(
                f"its compressed {keyword.decode()} text chunk cannot be read"
            ) from None
        if inflate.unconsumed_tail:
            raise AmbiguousImageError(f"its {keyword.decode()} text chunk is too large to read")
    if keyword in _PNG_RAW_XMP:
        yield b"xmp", _raw_profile(rest, keyword)
    else:
        yield (b"xmp" if keyword == _PNG_XMP else b"rawexif"), rest


def _raw_profile(text: bytes, keyword: bytes) -> bytes:
    """The bytes in an ImageMagick "Raw profile type ..." text (as Pillow reads the Exif one)."""
    lines = text.split(b"\n")
    try:
        return bytes.fromhex(b"".join(lines[3:]).decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise AmbiguousImageError(
            f"its PNG text {keyword.decode()!r} cannot be read (readers take an orientation "
            "from it)"
        ) from None


def _xmp_orientations(text: bytes) -> Iterator[int]:
    """Every orientation an XMP packet (UTF-8) states (``tiff:Orientation``, any prefix)."""
    for found in _XMP_ORIENTATION.finditer(text):
        before, prefix = found.group(1), found.group(2)
        if before == b"</" or (before != b"<" and not prefix):
            continue  # a closing tag, or the word in plain text / an attribute of no namespace
        form = _XMP_ELEMENT if before == b"<" else _XMP_ATTRIBUTE
        value = form.match(text, found.end())
        if value is None:
            raise AmbiguousImageError(
                "its XMP states an orientation that cannot be read (some viewers honour it)"
            )
        yield int(value.group(1))


def _xmp_text(packet: bytes) -> bytes:
    """An XMP packet as UTF-8, whichever Unicode encoding it was written in."""
    for header in _XMP_HEADERS:
        if packet.startswith(header):
            packet = packet[len(header) :]
            if header.endswith(b"extension/\x00"):
                packet = packet[40:]  # GUID (32), full length (4), offset (4)
            break
    body = packet.lstrip(b"\xef\xbb\xbf")
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32")):
        if body.startswith(bom):
            return _recode(body, codec)
    for bom, codec in ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if body.startswith(bom):
            return _recode(body, codec)
    for first, codec in _XMP_WIDE:
        if body.startswith(first):
            return _recode(body, codec)
    return body


def _recode(body: bytes, codec: str) -> bytes:
    try:
        return body.decode(codec).encode("utf-8")
    except UnicodeDecodeError:
        raise AmbiguousImageError("its XMP cannot be read as text") from None


def _webp(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    size = 8 + struct.unpack("<I", data[4:8])[0]
    if size > len(data):
        raise _Damaged
    pos, image = 12, False
    seen: list[tuple[bytes, bytes]] = []
    while pos + 8 <= size:
        fourcc = data[pos : pos + 4]
        length = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if pos + 8 + length > size:
            raise _Damaged
        body = data[pos + 8 : pos + 8 + length]
        seen.append((fourcc, body))
        if fourcc == b"EXIF":
            yield b"exif", body.removeprefix(_EXIF_HEADER)
        elif fourcc == b"XMP ":
            yield b"xmp", body
        elif fourcc not in _WEBP_SKIP:
            image = image or fourcc in (b"VP8 ", b"VP8L", b"ANMF")
            yield fourcc, body
        pos += 8 + length + (length & 1)
    if not image:
        raise _Damaged
    _webp_header(seen)


def _webp_header(chunks: list[tuple[bytes, bytes]]) -> None:
    """Refuse a WebP whose VP8X header (left out of the digest) disagrees with its chunks."""
    present = {fourcc for fourcc, _ in chunks}
    if b"VP8X" not in present:
        ignored = sorted(present & {b"ALPH", b"ICCP", b"ANIM", b"ANMF", b"EXIF"})
        if ignored:
            names = ", ".join(c.decode("latin-1").strip() for c in ignored)
            raise AmbiguousImageError(
                f"it is a simple WebP with {names} chunks, which its decoders ignore but an "
                "extended header would make them show"
            )
        return
    if chunks[0][0] != b"VP8X" or [c for c, _ in chunks].count(b"VP8X") > 1:
        raise AmbiguousImageError("its VP8X header is not its one first chunk")
    head = chunks[0][1]
    if len(head) < 10:
        raise _Damaged
    flags = head[0]
    canvas = (
        int.from_bytes(head[4:7], "little") + 1,
        int.from_bytes(head[7:10], "little") + 1,
    )
    if b"ANMF" in present:
        frames = [_anmf(body) for fourcc, body in chunks if fourcc == b"ANMF"]
        size = (max(f[0] for f in frames), max(f[1] for f in frames))
        alpha = any(f[2] for f in frames)
    else:
        still = next((c, b) for c, b in chunks if c in (b"VP8 ", b"VP8L"))
        w, h, alpha = _frame(*still)
        size, alpha = (w, h), alpha or b"ALPH" in present
    checks = (
        (_ALPHA, alpha, "ALPHA", "alpha data"),
        (_ICC, b"ICCP" in present, "ICC", "an ICCP chunk"),
        (_ANIMATION, b"ANMF" in present, "ANIMATION", "ANMF frames"),
        (_EXIF_FLAG, b"EXIF" in present, "EXIF", "an EXIF chunk"),
    )
    for bit, has, flag, what in checks:
        if bool(flags & bit) != has:
            state = "set" if flags & bit else "clear"
            holds = "holds" if has else "holds no"
            raise AmbiguousImageError(
                f"its VP8X {flag} flag is {state} but it {holds} {what} (decoders follow the "
                "flag, so the picture shown depends on a header left out of the digest)"
            )
    if canvas != size:
        raise AmbiguousImageError(
            f"its VP8X canvas is {canvas[0]}x{canvas[1]} but its image is {size[0]}x{size[1]}"
        )


def _frame(fourcc: bytes, body: bytes) -> tuple[int, int, bool]:
    """A VP8 or VP8L bitstream's (width, height, alpha) from its header."""
    if fourcc == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", body[6:10])
        return w & 0x3FFF, h & 0x3FFF, False
    if fourcc == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise _Damaged


def _anmf(body: bytes) -> tuple[int, int, bool]:
    """An animation frame's right and bottom edge on the canvas, and whether it has alpha."""
    if len(body) < 16:
        raise _Damaged
    x = int.from_bytes(body[0:3], "little") * 2
    y = int.from_bytes(body[3:6], "little") * 2
    w = int.from_bytes(body[6:9], "little") + 1
    h = int.from_bytes(body[9:12], "little") + 1
    pos, alpha = 16, False
    while pos + 8 <= len(body):
        fourcc = body[pos : pos + 4]
        length = struct.unpack("<I", body[pos + 4 : pos + 8])[0]
        sub = body[pos + 8 : pos + 8 + length]
        if fourcc == b"ALPH":
            alpha = True
        elif fourcc in (b"VP8 ", b"VP8L"):
            alpha = alpha or _frame(fourcc, sub)[2]
        pos += 8 + length + (length & 1)
    return x + w, y + h, alpha


def _orientation(tiff: bytes) -> int | None:
    """The Exif orientation (1..8) of IFD0 in a TIFF-structured Exif block, or None.

    Raises:
        AmbiguousImageError: the tag is written twice, not as one SHORT, or IFD0 runs past
            the block (readers disagree on such a tag).
    """
    if tiff[:2] == b"II":
        order = "<"
    elif tiff[:2] == b"MM":
        order = ">"
    else:
        return None
    try:
        ifd = struct.unpack(order + "I", tiff[4:8])[0]
        count = struct.unpack(order + "H", tiff[ifd : ifd + 2])[0]
    except struct.error:
        return None
    if ifd + 2 + 12 * count > len(tiff):
        raise AmbiguousImageError("its Exif directory runs past the end of its Exif block")
    found: list[tuple[int, int, int]] = []
    for i in range(count):
        at = ifd + 2 + 12 * i
        tag, typ, n = struct.unpack(order + "HHI", tiff[at : at + 8])
        if tag == _ORIENTATION:
            found.append((typ, n, struct.unpack(order + "H", tiff[at + 8 : at + 10])[0]))
    if not found:
        return None
    if len(found) > 1 or found[0][:2] != (3, 1):
        raise AmbiguousImageError(
            "its Exif orientation is written twice or not as one number (readers disagree on "
            "which way up it is shown)"
        )
    value = found[0][2]
    return value if 1 <= value <= 8 else None
