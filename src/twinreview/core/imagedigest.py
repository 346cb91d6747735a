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
  CRCs are left out (they follow from the chunk).
- WebP: every chunk of the RIFF container except VP8X (its flags say which metadata chunks
  follow; publishing turns a simple file into an extended one), EXIF, ``XMP `` and C2PA.

The Exif orientation (which turns the picture on screen) is added to the digest from whichever
Exif block the file has, so rotating an image by its metadata changes the digest too.

Other formats (TIFF, HEIC, GIF...) have no digest: publishing does not write them either.

Public API:
    image_digest(data) -> str | None: hex digest, or None (another format, damaged container).
    DIGEST_SCHEME: the name of this definition, recorded where the digest is.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator

DIGEST_SCHEME = "twinreview-image-data-v1"

# JPEG markers whose segments are metadata only.
_JPEG_SKIP = frozenset({0xE1, 0xEB, 0xED, 0xFE})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_SKIP = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"caBX"})
_WEBP_SKIP = frozenset({b"VP8X", b"EXIF", b"XMP ", b"C2PA"})
_EXIF_HEADER = b"Exif\x00\x00"


class _Damaged(Exception):
    pass


def image_digest(data: bytes) -> str | None:
    """The hex sha256 of ``data``'s image data (see the module docstring), or None.

    Args:
        data: The whole file.

    Returns:
        The digest; None for a format without one or a container too damaged to walk.
    """
    if data.startswith(b"\xff\xd8"):
        fmt, walk = b"jpeg", _jpeg
    elif data.startswith(_PNG_SIG):
        fmt, walk = b"png", _png
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        fmt, walk = b"webp", _webp
    else:
        return None
    digest = hashlib.sha256(DIGEST_SCHEME.encode() + b"\n" + fmt + b"\n")
    orientation = 1
    try:
        for kind, part in walk(data):
            if kind == b"exif":
                orientation = _orientation(part) or orientation
                continue
            # Each part is framed (kind, length), so no two walks can collide by concatenation.
            digest.update(kind + struct.pack(">Q", len(part)))
            digest.update(part)
    except (_Damaged, struct.error, IndexError):
        return None
    digest.update(b"orientation" + struct.pack(">Q", orientation))
    return digest.hexdigest()


def _jpeg(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos, end = 2, len(data)
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
        if marker == 0xE1 and body.startswith(_EXIF_HEADER):
            yield b"exif", body[len(_EXIF_HEADER) :]
        elif marker not in _JPEG_SKIP:
            yield b"M" + bytes([marker]), body
        pos = seg_end
        if marker == 0xDA:
            scan_end = _scan_end(data, pos)
            yield b"scan", data[pos:scan_end]
            pos = scan_end


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data starting at ``pos`` ends: the next marker but RSTn."""
    while True:
        found = data.find(b"\xff", pos)
        if found < 0 or found + 1 >= len(data):
            raise _Damaged
        nxt = data[found + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
            pos = found + (1 if nxt == 0xFF else 2)
            continue
        return found


def _png(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = len(_PNG_SIG)
    while True:
        if pos + 12 > len(data):
            raise _Damaged
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise _Damaged
        body = data[pos + 8 : pos + 8 + length]
        if ctype == b"eXIf":
            yield b"exif", body
        elif ctype not in _PNG_SKIP:
            yield ctype, body
        if ctype == b"IEND":
            return
        pos = end


def _webp(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    size = 8 + struct.unpack("<I", data[4:8])[0]
    if size > len(data):
        raise _Damaged
    pos, image = 12, False
    while pos + 8 <= size:
        fourcc = data[pos : pos + 4]
        length = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if pos + 8 + length > size:
            raise _Damaged
        body = data[pos + 8 : pos + 8 + length]
        if fourcc == b"EXIF":
            yield b"exif", body.removeprefix(_EXIF_HEADER)
        elif fourcc not in _WEBP_SKIP:
            image = image or fourcc in (b"VP8 ", b"VP8L", b"ANMF")
            yield fourcc, body
        pos += 8 + length + (length & 1)
    if not image:
        raise _Damaged


def _orientation(tiff: bytes) -> int | None:
    """The Exif orientation (1..8) of IFD0 in a TIFF-structured Exif block, or None."""
    if tiff[:2] == b"II":
        order = "<"
    elif tiff[:2] == b"MM":
        order = ">"
    else:
        return None
    try:
        ifd = struct.unpack(order + "I", tiff[4:8])[0]
        count = struct.unpack(order + "H", tiff[ifd : ifd + 2])[0]
        for i in range(min(count, 512)):
            at = ifd + 2 + 12 * i
            tag, typ = struct.unpack(order + "HH", tiff[at : at + 4])
            if tag == 0x0112 and typ == 3:
                value = struct.unpack(order + "H", tiff[at + 8 : at + 10])[0]
                return value if 1 <= value <= 8 else None
    except struct.error:
        return None
    return None
