"""XMP packets: find them in the container, decode them, parse them safely, read the IPTC fields.

Containers (the format is sniffed from the bytes by the caller):

- JPEG: APP1 ``http://ns.adobe.com/xap/1.0/`` (the main packet) and Extended XMP, a second
  packet split over several APP1 ``http://ns.adobe.com/xmp/extension/`` segments, reassembled by
  GUID and offset (XMP Specification Part 3, 1.1.3.1). Walked here because Pillow keeps only the
  main packet.
- PNG: ``iTXt`` (compressed or not), ``zTXt`` and ``tEXt`` chunks with keyword
  ``XML:com.adobe.xmp``, and ImageMagick's hex ``Raw profile type xmp``. Walked here because
  Pillow stops at the first IDAT and text chunks may follow it.
- WebP: the RIFF ``XMP `` chunk; GIF: the ``XMP DataXMP`` application extension.
- TIFF: tag 700, read by Pillow from the first IFD only.
- HEIC/AVIF: the XMP item, read by pillow-heif without decoding pixels.
- ``.xmp`` sidecars next to the asset (passed in by the caller as bytes).

Packets are decoded as UTF-8, UTF-16 or UTF-32 (BOM or the zero-byte pattern of ``<``), parsed
with defusedxml (DTDs with entities, the vector of entity-expansion bombs, are refused), and
capped in size. Nothing here raises for bad input: problems become notes.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from twinreview.core.disclosure.model import XmpReport, XmpValue
from twinreview.core.disclosure.vocabulary import classify, describe
from twinreview.core.errors import one_line

# One XMP packet larger than this is not metadata a generator writes; refusing it bounds memory
# and parse time. Extended XMP may legally be large (thumbnails, edit history), hence 16 MiB.
MAX_PACKET_BYTES = 16 * 1024 * 1024
# Total for all packets of one file, including the sidecar.
MAX_TOTAL_BYTES = 32 * 1024 * 1024
# Elements visited per packet: defends against deeply nested but entity-free XML.
MAX_ELEMENTS = 200_000

NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
NS_DCTERMS = "http://purl.org/dc/terms/"
NS_XMP_NOTE = "http://ns.adobe.com/xmp/note/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

_DST_FIELDS = {
    f"{{{NS_IPTC_EXT}}}DigitalSourceType": "Iptc4xmpExt:DigitalSourceType",
    f"{{{NS_IPTC_EXT}}}DigitalSourcefileType": "Iptc4xmpExt:DigitalSourcefileType",
}
_PROVENANCE = f"{{{NS_DCTERMS}}}provenance"
_HAS_EXTENDED = f"{{{NS_XMP_NOTE}}}HasExtendedXMP"
_RDF_RESOURCE = f"{{{NS_RDF}}}resource"
_RDF_LI = f"{{{NS_RDF}}}li"

_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_JPEG_EXT = b"http://ns.adobe.com/xmp/extension/\x00"
_PNG_KEYWORD = b"XML:com.adobe.xmp"
_PNG_RAW_PROFILE = b"Raw profile type xmp"
_GIF_XMP = b"\x21\xff\x0bXMP DataXMP"


@dataclass
class Packet:
    """One XMP packet as bytes, with where it came from."""

    where: str
    data: bytes


@dataclass
class _Found:
    packets: list[Packet] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total: int = 0
    inflated: int = 0  # bytes decompressed so far, kept or not: the CPU already spent

    def add(self, where: str, data: bytes) -> None:
        if len(data) > MAX_PACKET_BYTES:
            self.notes.append(
                f"The XMP packet in {where} is {len(data)} bytes, too large to read; ignored."
            )
            return
        if self.total + len(data) > MAX_TOTAL_BYTES:
            self.notes.append(
                f"The XMP packet in {where} exceeds the total XMP size limit; ignored."
            )
            return
        self.total += len(data)
        self.packets.append(Packet(where, data))


@dataclass
class ParsedPacket:
    """Fields read from one packet.

    Attributes:
        where: The packet's location.
        source_types: ``(field, raw value)`` pairs.
        provenance: ``dcterms:provenance`` values.
        extended_guid: ``xmpNote:HasExtendedXMP`` (JPEG main packet only).
        error: Why the packet could not be parsed, else None.
    """

    where: str
    source_types: list[tuple[str, str]] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)
    extended_guid: str | None = None
    error: str | None = None


def extract_packets(data: bytes, fmt: str | None) -> tuple[list[Packet], list[str]]:
    """Find the XMP packets embedded in ``data`` of sniffed format ``fmt``.

    Returns:
        The packets (main packets before extended ones) and notes about damaged containers.
    """
    found = _Found()
    try:
        if fmt == "jpeg":
            _jpeg(data, found)
        elif fmt == "png":
            _png(data, found)
        elif fmt == "webp":
            _riff(data, found)
        elif fmt == "gif":
            _gif(data, found)
        elif fmt == "tiff":
            _tiff(data, found)
        elif fmt in ("heic", "avif"):
            _heif(data, found)
        elif fmt == "xmp":
            found.add("XMP file", data)
    except Exception as exc:  # noqa: BLE001 - container parsers meet hostile bytes; never crash
        found.notes.append(f"The file's metadata could not be read ({_container_error(exc)}).")
    return found.packets, found.notes


def read_xmp(data: bytes, fmt: str | None, sidecar: bytes | None = None) -> XmpReport:
    """Read the IPTC digital source type and ``dcterms:provenance`` from a file and its sidecar.

    Args:
        data: The whole file.
        fmt: Sniffed format (see :mod:`twinreview.core.disclosure.sniff`).
        sidecar: Bytes of the ``.xmp`` sidecar next to the file, if any.

    Returns:
        The report; never raises.
    """
    packets, notes = extract_packets(data, fmt)
    if sidecar is not None:
        if len(sidecar) > MAX_PACKET_BYTES:
            notes.append("The XMP sidecar is too large to read; ignored.")
        else:
            packets.append(Packet("sidecar", sidecar))
    parsed = [parse_packet(p) for p in packets]
    return _report(parsed, notes)


def parse_packet(packet: Packet) -> ParsedPacket:
    """Decode and parse one packet; errors become :attr:`ParsedPacket.error`."""
    out = ParsedPacket(packet.where)
    text = decode_packet(packet.data)
    if text is None:
        out.error = "its text encoding is not UTF-8, UTF-16 or UTF-32"
        return out
    try:
        root = SafeET.fromstring(_strip_declaration(text), forbid_dtd=False, forbid_entities=True)
    except defusedxml.DefusedXmlException as exc:
        out.error = f"it declares XML entities, which are refused ({type(exc).__name__})"
        return out
    except ParseError as exc:
        out.error = f"it is not well-formed XML ({one_line(exc)})"
        return out
    except Exception as exc:  # noqa: BLE001 - expat may raise ValueError/RecursionError on odd input
        out.error = f"it could not be parsed ({one_line(exc)})"
        return out
    for count, element in enumerate(root.iter()):
        if count >= MAX_ELEMENTS:
            out.error = f"it has more than {MAX_ELEMENTS} elements, which is not plausible metadata"
            break
        _collect(element, out)
    return out


def decode_packet(data: bytes) -> str | None:
    """Decode an XMP packet (UTF-8/16/32, with or without BOM), or None when impossible."""
    for bom, codec in (
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xff\xfe", "utf-16-le"),
    ):
        if data.startswith(bom):
            return _decode(data[len(bom) :], codec)
    # No BOM: the zero bytes around the first '<', and its alignment, give the encoding away.
    i = data.find(b"<")
    if i != -1:
        if i % 4 == 3 and data[i - 3 : i] == b"\x00\x00\x00":
            return _decode(data, "utf-32-be")
        if i % 4 == 0 and data[i + 1 : i + 4] == b"\x00\x00\x00":
            return _decode(data, "utf-32-le")
        if i % 2 == 1 and data[i - 1 : i] == b"\x00":
            return _decode(data, "utf-16-be")
        if i % 2 == 0 and data[i + 1 : i + 2] == b"\x00":
            return _decode(data, "utf-16-le")
    # Writers pad JPEG packets with NULs; they are not part of the text.
    return _decode(data.rstrip(b"\x00"), "utf-8")


def _decode(data: bytes, codec: str) -> str | None:
    if codec.startswith(("utf-16", "utf-32")):
        unit = 4 if codec.startswith("utf-32") else 2
        data = data[: len(data) - len(data) % unit]
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        if codec != "utf-8":
            return None
        # Legacy writers put Latin-1 into "UTF-8" packets; the fields we read are ASCII URIs.
        return data.decode("utf-8", errors="replace")


def _strip_declaration(text: str) -> str:
    # The packet is already decoded: an XML declaration naming UTF-16 would now be a lie to expat.
    text = text.lstrip("\ufeff \t\r\n")
    if text.startswith("<?xml"):
        end = text.find("?>")
        if end != -1:
            text = text[end + 2 :]
    return text.rstrip("\x00 \t\r\n")


def _collect(element: Element, out: ParsedPacket) -> None:
    tag = element.tag
    if tag in _DST_FIELDS:
        value = _element_value(element)
        if value is not None:
            out.source_types.append((_DST_FIELDS[tag], value))
    elif tag == _PROVENANCE:
        value = _element_value(element)
        if value is not None:
            out.provenance.append(value.strip())
    elif tag == _HAS_EXTENDED and element.text:
        out.extended_guid = element.text.strip()
    # The short RDF form puts simple properties in attributes of rdf:Description.
    for name, value in element.attrib.items():
        if name in _DST_FIELDS:
            out.source_types.append((_DST_FIELDS[name], value))
        elif name == _PROVENANCE:
            out.provenance.append(value.strip())
        elif name == _HAS_EXTENDED:
            out.extended_guid = value.strip()


def _element_value(element: Element) -> str | None:
    resource = element.get(_RDF_RESOURCE)
    if resource is not None:
        return resource
    if element.text and element.text.strip():
        return element.text
    # A (wrongly) structured value, e.g. an rdf:Alt/rdf:Seq: take the first list item.
    for item in element.iter(_RDF_LI):
        if item.text and item.text.strip():
            return item.text
    return None


def _report(parsed: list[ParsedPacket], notes: list[str]) -> XmpReport:
    values: list[XmpValue] = []
    provenance: list[str] = []
    for p in parsed:
        if p.error:
            notes.append(f"Unreadable XMP in {p.where}: {p.error}; its fields were not used.")
            continue
        values.extend(XmpValue(raw, fld, p.where) for fld, raw in p.source_types)
        provenance.extend(v for v in p.provenance if v)

    chosen: XmpValue | None = None
    for v in values:
        if classify(v.raw).in_vocabulary:
            chosen = v
            break
    for v in values:
        info = classify(v.raw)
        if not info.in_vocabulary:
            notes.append(f"XMP {v.field} in {v.where} is {describe(info)}.")
        if v.field.endswith("DigitalSourcefileType"):
            notes.append(
                f"XMP in {v.where} uses the deprecated field {v.field}; current readers look for "
                "Iptc4xmpExt:DigitalSourceType."
            )
    distinct = {classify(v.raw).uri for v in values if classify(v.raw).in_vocabulary}
    if len(distinct) > 1:
        listing = "; ".join(f"{describe(classify(v.raw))} in {v.where}" for v in values)
        notes.append(f"The XMP packets disagree about the digital source type: {listing}.")
    first = chosen or (values[0] if values else None)
    return XmpReport(
        source_type=classify(chosen.raw).uri if chosen else None,
        raw=first.raw if first else None,
        where=first.where if first else None,
        values=tuple(values),
        provenance=tuple(dict.fromkeys(provenance)),
        packets=tuple(p.where for p in parsed),
        notes=tuple(dict.fromkeys(notes)),
    )


# --- containers -------------------------------------------------------------------------------


def _jpeg(data: bytes, found: _Found) -> None:
    extended: dict[bytes, dict[int, bytes]] = {}
    ext_length: dict[bytes, int] = {}
    main: list[bytes] = []
    for marker, payload in _jpeg_segments(data, found):
        if marker != 0xE1:
            continue
        if payload.startswith(_JPEG_XMP):
            main.append(payload[len(_JPEG_XMP) :])
        elif payload.startswith(_JPEG_EXT) and len(payload) >= len(_JPEG_EXT) + 40:
            body = payload[len(_JPEG_EXT) :]
            guid, full, offset = (
                body[:32],
                int.from_bytes(body[32:36], "big"),
                int.from_bytes(body[36:40], "big"),
            )
            extended.setdefault(guid, {})[offset] = body[40:]
            ext_length[guid] = full
    for i, packet in enumerate(main):
        found.add("JPEG APP1" if i == 0 else f"JPEG APP1 #{i + 1}", packet)
    if not extended:
        return
    wanted = _extended_guid(main)
    for guid, chunks in extended.items():
        name = guid.decode("ascii", errors="replace")
        if wanted is not None and name != wanted:
            found.notes.append(
                f"JPEG Extended XMP {name} is not referenced by the main packet; ignored."
            )
            continue
        full = ext_length[guid]
        if full > MAX_PACKET_BYTES:
            found.notes.append(
                f"JPEG Extended XMP {name} claims {full} bytes, too large to read; ignored."
            )
            continue
        assembled = _assemble(chunks, full)
        if assembled is None:
            found.notes.append(
                f"JPEG Extended XMP {name} is incomplete (missing segments); ignored."
            )
            continue
        found.add("JPEG extended XMP", assembled)


def _extended_guid(main: list[bytes]) -> str | None:
    for packet in main:
        parsed = parse_packet(Packet("JPEG APP1", packet))
        if parsed.extended_guid:
            return parsed.extended_guid
    return None


def _assemble(chunks: dict[int, bytes], full: int) -> bytes | None:
    buf = bytearray()
    for offset in sorted(chunks):
        if offset != len(buf):
            return None
        buf += chunks[offset]
    return bytes(buf) if len(buf) == full else None


def _jpeg_segments(data: bytes, found: _Found) -> Iterator[tuple[int, bytes]]:
    pos = 2
    size = len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            found.notes.append(
                "The JPEG marker structure is damaged; metadata after it was not read."
            )
            return
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata after this
            return
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > size:
            found.notes.append("A JPEG segment runs past the end of the file (truncated?).")
            return
        yield marker, data[pos + 4 : pos + 2 + length]
        pos += 2 + length


def _png(data: bytes, found: _Found) -> None:
    pos = 8
    size = len(data)
    count = 0
    while pos + 12 <= size:
        length = int.from_bytes(data[pos : pos + 4], "big")
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            found.notes.append("A PNG chunk runs past the end of the file (truncated?).")
            return
        count += 1
        if ctype in (b"iTXt", b"zTXt", b"tEXt"):
            _png_text(ctype, body, found, count)
        if ctype == b"IEND":
            return
        pos += 12 + length


def _png_text(ctype: bytes, body: bytes, found: _Found, index: int) -> None:
    keyword, sep, rest = body.partition(b"\x00")
    if not sep or keyword not in (_PNG_KEYWORD, _PNG_RAW_PROFILE):
        return
    where = f"PNG {ctype.decode()}"
    budget = min(MAX_PACKET_BYTES, MAX_TOTAL_BYTES - max(found.total, found.inflated))
    if budget <= 0:
        # Inflating costs CPU even when the result is thrown away: once the total XMP cap is
        # reached, further packets are not even decompressed.
        found.notes.append(f"{where} XMP is past the total XMP size limit; not read.")
        return
    if ctype == b"iTXt":
        if len(rest) < 2:
            return
        compressed, method, rest = rest[0], rest[1], rest[2:]
        _lang, _, rest = rest.partition(b"\x00")
        _translated, _, text = rest.partition(b"\x00")
        if compressed:
            if method != 0:
                found.notes.append(f"{where} uses an unknown compression method; ignored.")
                return
            inflated = _inflate(text, found, where, budget)
            if inflated is None:
                return
            text = inflated
    elif ctype == b"zTXt":
        if not rest or rest[0] != 0:
            return
        inflated = _inflate(rest[1:], found, where, budget)
        if inflated is None:
            return
        text = inflated
    else:
        text = rest
    if keyword == _PNG_RAW_PROFILE:
        decoded = _raw_profile(text)
        if decoded is None:
            found.notes.append(f"{where} 'Raw profile type xmp' is not valid hex; ignored.")
            return
        text = decoded
    found.add(where, text)


def _inflate(data: bytes, found: _Found, where: str, budget: int) -> bytes | None:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, budget + 1)
    except zlib.error as exc:
        found.notes.append(f"{where} XMP could not be decompressed ({exc}); ignored.")
        return None
    found.inflated += len(out)
    if len(out) > budget or inflater.unconsumed_tail:
        found.notes.append(f"{where} XMP decompresses to more than {budget} bytes; ignored.")
        return None
    return out


def _raw_profile(text: bytes) -> bytes | None:
    # ImageMagick: "\nxmp\n   <decimal length>\n<hex digits in lines>"
    parts = text.split(None, 2)
    if len(parts) < 3:
        return None
    try:
        return bytes.fromhex(
            parts[2].decode("ascii", errors="strict").replace("\n", "").replace(" ", "")
        )
    except (ValueError, UnicodeDecodeError):
        return None


def _riff(data: bytes, found: _Found) -> None:
    pos = 12
    size = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    while pos + 8 <= size:
        fourcc = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if pos + 8 + length > len(data):
            found.notes.append("A WebP chunk runs past the end of the file (truncated?).")
            return
        if fourcc == b"XMP ":
            found.add("WebP XMP chunk", data[pos + 8 : pos + 8 + length])
        pos += 8 + length + (length & 1)


def _gif(data: bytes, found: _Found) -> None:
    start = data.find(_GIF_XMP)
    if start == -1:
        return
    body = data[start + len(_GIF_XMP) :]
    end = body.find(b"<?xpacket end")
    if end == -1:
        found.notes.append("The GIF XMP block has no packet end; ignored.")
        return
    close = body.find(b"?>", end)
    found.add("GIF XMP extension", body[: close + 2 if close != -1 else end])


def _tiff(data: bytes, found: _Found) -> None:
    from PIL import Image, TiffImagePlugin

    with Image.open(io.BytesIO(data), formats=("TIFF",)) as im:
        if not isinstance(im, TiffImagePlugin.TiffImageFile):
            return
        value: Any = im.tag_v2.get(700)
    if value is None:
        return
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif isinstance(value, tuple):
        value = bytes(v for v in value if isinstance(v, int) and 0 <= v < 256)
    if isinstance(value, bytes):
        found.add("TIFF tag 700", value)


def _heif(data: bytes, found: _Found) -> None:
    import pillow_heif

    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
    value = heif.info.get("xmp")
    if isinstance(value, bytes | bytearray) and value:
        found.add("HEIF XMP item", bytes(value))


def _container_error(exc: BaseException) -> str:
    text = one_line(exc)
    if "cannot identify image file" in text:
        return "the image header is damaged or not understood"
    return text
