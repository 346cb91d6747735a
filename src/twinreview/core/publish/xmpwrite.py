"""Write the IPTC digital source type (and who is shown) into an image's XMP, without re-encoding.

Publishing adds ``Iptc4xmpExt:DigitalSourceType`` to a copy of a reviewed image and, with
:func:`packet_with_fields`, the fields that say who is in it and under which consent
(:class:`PublishedFields`): the person shown (``Iptc4xmpExt:PersonInImage`` and
``PersonInImageWDetails`` with her name and a stable identifier), the model release status
"limited" (PLUS ``MR-LMR``), the model release id naming her signed consent entry, the IPTC
"AI system used", and with ``no_training`` PLUS ``DataMining`` "prohibited". The pixels are never
decoded here: the main XMP packet is replaced (or inserted) in the container itself.

- JPEG: the first APP1 ``http://ns.adobe.com/xap/1.0/`` segment is replaced, or a new one is put
  after the APP0/APP1 segments at the start of the file.
- PNG: the first text chunk keyed ``XML:com.adobe.xmp`` is replaced by an uncompressed ``iTXt``
  chunk at the same place, or one is put right after ``IHDR``.
- WebP: the ``XMP `` chunk is replaced or appended; a simple (``VP8 ``/``VP8L``) file is turned
  into the extended (``VP8X``) layout that may carry metadata.

An existing packet is kept as it is, with one ``rdf:Description`` added that carries the new
fields; a packet that already states the source type keeps it (it is not written twice), and one
that already names a person, a model release or an AI system is refused rather than given a
second, contradicting value. The result is read back with the
same parser the disclosure scan uses, so a packet that would not say what was meant is refused.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from twinreview.core.disclosure.xmp import (
    NS_IPTC_EXT,
    Packet,
    decode_packet,
    extract_packets,
    parse_packet,
)
from twinreview.core.disclosure.xmpfields import NS_PLUS, read_fields
from twinreview.core.errors import TwinreviewError

MODEL_RELEASE_LIMITED = "http://ns.useplus.org/ldf/vocab/MR-LMR"
DATA_MINING_PROHIBITED = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"

_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_PNG_KEYWORD = b"XML:com.adobe.xmp"
_MAX_APP1_PAYLOAD = 65533
_RDF_OPEN = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?RDF\b[^>]*>")

_NEW_PACKET = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
{description}
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


class XmpWriteError(TwinreviewError):
    """The source type cannot be written into this file; ``str(err)`` is one line."""


@dataclass(frozen=True)
class PublishedFields:
    """What a published copy says about itself, besides its digital source type.

    Attributes:
        source_type: The IPTC digital source type (vocabulary URI).
        person_name: Her display name.
        person_id: A stable identifier of her in the workspace (a URI).
        release_id: The model release id: her signed consent entry.
        ai_system: The AI system used (the sidecar's generator), when known.
        no_training: Declare data mining and AI training prohibited.
    """

    source_type: str
    person_name: str
    person_id: str
    release_id: str
    ai_system: str | None = None
    no_training: bool = False

    def properties(self) -> dict[str, Any]:
        """The XMP properties, in the form :func:`read_fields` reads them back."""
        out: dict[str, Any] = {
            "Iptc4xmpExt:DigitalSourceType": self.source_type,
            "Iptc4xmpExt:PersonInImage": [self.person_name],
            "Iptc4xmpExt:PersonInImageWDetails": [
                {
                    "Iptc4xmpExt:PersonName": {"x-default": self.person_name},
                    "Iptc4xmpExt:PersonId": [self.person_id],
                }
            ],
            "plus:ModelReleaseStatus": MODEL_RELEASE_LIMITED,
            "plus:ModelReleaseID": [self.release_id],
        }
        if self.ai_system:
            out["Iptc4xmpExt:AISystemUsed"] = self.ai_system
        if self.no_training:
            out["plus:DataMining"] = DATA_MINING_PROHIBITED
        return out

    def metadata_assertion(self) -> dict[str, Any]:
        """The ``c2pa.metadata`` assertion data (JSON-LD) binding the same properties."""
        return {
            "@context": {"Iptc4xmpExt": NS_IPTC_EXT, "plus": NS_PLUS},
            **self.properties(),
        }


def packet_with_fields(existing: bytes | None, fields: PublishedFields) -> bytes:
    """The main packet stating ``fields`` (see :class:`PublishedFields`).

    Raises:
        XmpWriteError: the existing packet cannot be read, names another digital source type,
            or already names a person, a model release, an AI system or a data-mining rule.
    """
    keep_source_type = False
    if existing is not None:
        parsed = parse_packet(Packet("main packet", existing))
        if parsed.error is not None:
            raise XmpWriteError(f"its XMP packet cannot be read ({parsed.error})")
        values = {value for _, value in parsed.source_types}
        if values - {fields.source_type}:
            raise XmpWriteError(
                f"its XMP already names the digital source type {sorted(values)[0]}; "
                "refusing to contradict it"
            )
        keep_source_type = bool(values)
        there = set(read_fields(existing)) - {"Iptc4xmpExt:DigitalSourceType"}
        if there:
            raise XmpWriteError(
                f"its XMP already has {sorted(there)[0]}; refusing to write a second one"
            )
    props = fields.properties()
    if keep_source_type:
        del props["Iptc4xmpExt:DigitalSourceType"]
    description = _description(props)
    if existing is None:
        text = _NEW_PACKET.format(description=description)
    else:
        decoded = decode_packet(existing)
        match = _RDF_OPEN.search(decoded or "")
        if decoded is None or match is None:
            raise XmpWriteError("its XMP packet has no rdf:RDF element to add the fields to")
        text = decoded[: match.end()] + "\n" + description + decoded[match.end() :]
    packet = text.encode("utf-8")
    if read_fields(packet) != fields.properties():
        raise XmpWriteError("the XMP packet with the fields added does not read back the same")
    return packet


def _description(props: dict[str, Any]) -> str:
    attrs = "".join(
        f'\n    {name}="{_attr(value)}"' for name, value in props.items() if isinstance(value, str)
    )
    children = []
    for name, value in props.items():
        if isinstance(value, list):
            items = "".join(_li(v) for v in value)
            children.append(f"   <{name}><rdf:Bag>{items}</rdf:Bag></{name}>")
    body = "\n".join(children)
    return (
        f'  <rdf:Description rdf:about="" xmlns:Iptc4xmpExt="{NS_IPTC_EXT}"\n'
        f'    xmlns:plus="{NS_PLUS}"{attrs}>\n{body}\n  </rdf:Description>'
    )


def _li(value: Any) -> str:
    if isinstance(value, str):
        return f"<rdf:li>{_text(value)}</rdf:li>"
    parts = []
    for name, sub in value.items():
        if isinstance(sub, dict):
            alts = "".join(
                f'<rdf:li xml:lang="{_attr(lang)}">{_text(text)}</rdf:li>'
                for lang, text in sub.items()
            )
            parts.append(f"<{name}><rdf:Alt>{alts}</rdf:Alt></{name}>")
        else:
            items = "".join(f"<rdf:li>{_text(v)}</rdf:li>" for v in sub)
            parts.append(f"<{name}><rdf:Bag>{items}</rdf:Bag></{name}>")
    return f'<rdf:li rdf:parseType="Resource">{"".join(parts)}</rdf:li>'


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main_packet(data: bytes, fmt: str) -> bytes | None:
    """The bytes of the file's main (first) embedded XMP packet, or None when it has none."""
    packets, _ = extract_packets(data, fmt)
    return packets[0].data if packets else None


def packet_with_source_type(existing: bytes | None, source_type: str) -> bytes | None:
    """The main packet stating ``source_type``, or None when ``existing`` already states it.

    Raises:
        XmpWriteError: the existing packet cannot be decoded, has no ``rdf:RDF`` element, or
            already names another digital source type (that would be a contradiction).
    """
    description = (
        f'  <rdf:Description rdf:about="" xmlns:Iptc4xmpExt="{NS_IPTC_EXT}"\n'
        f'    Iptc4xmpExt:DigitalSourceType="{_attr(source_type)}"/>'
    )
    if existing is None:
        text = _NEW_PACKET.format(description=description)
    else:
        parsed = parse_packet(Packet("main packet", existing))
        if parsed.error is not None:
            raise XmpWriteError(f"its XMP packet cannot be read ({parsed.error})")
        values = {value for _, value in parsed.source_types}
        if values == {source_type}:
            return None
        if values:
            raise XmpWriteError(
                f"its XMP already names the digital source type {sorted(values)[0]}; "
                "refusing to contradict it"
            )
        decoded = decode_packet(existing)
        match = _RDF_OPEN.search(decoded or "")
        if decoded is None or match is None:
            raise XmpWriteError("its XMP packet has no rdf:RDF element to add the source type to")
        # A second Description of the same resource is valid RDF: nothing there is rewritten.
        text = decoded[: match.end()] + "\n" + description + decoded[match.end() :]
    packet = text.encode("utf-8")
    check = parse_packet(Packet("new packet", packet))
    if check.error is not None or (source_type not in {v for _, v in check.source_types}):
        raise XmpWriteError("the XMP packet with the source type added does not parse back")
    return packet


def put_main_packet(data: bytes, fmt: str, packet: bytes) -> bytes:
    """``data`` with its main XMP packet replaced by ``packet`` (inserted when it had none).

    Args:
        data: The whole file.
        fmt: Its sniffed format: ``jpeg``, ``png`` or ``webp``.
        packet: The XMP packet (UTF-8).

    Raises:
        XmpWriteError: another format, a damaged container, or a packet too large for it.
    """
    if fmt == "jpeg":
        return _jpeg(data, packet)
    if fmt == "png":
        return _png(data, packet)
    if fmt == "webp":
        return _webp(data, packet)
    raise XmpWriteError(f"publishing {fmt or 'this'} files is not supported (JPEG, PNG, WebP)")


def _attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


# -- JPEG ----------------------------------------------------------------------------------------


def _jpeg(data: bytes, packet: bytes) -> bytes:
    payload = _JPEG_XMP + packet
    if len(payload) > _MAX_APP1_PAYLOAD:
        raise XmpWriteError("the XMP packet is too large for one JPEG segment")
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    if data[:2] != b"\xff\xd8":
        raise XmpWriteError("not a JPEG file")
    pos, insert_at = 2, 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise XmpWriteError("the JPEG marker structure is damaged")
        marker = data[pos + 1]
        if marker in (0xD9, 0xDA):
            break
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise XmpWriteError("a JPEG segment runs past the end of the file")
        if marker == 0xE1 and data[pos + 4 : pos + 4 + len(_JPEG_XMP)] == _JPEG_XMP:
            return data[:pos] + segment + data[end:]
        if marker in (0xE0, 0xE1) and insert_at == pos:
            insert_at = end  # after JFIF and Exif, where readers expect XMP
        pos = end
    return data[:insert_at] + segment + data[insert_at:]


# -- PNG -----------------------------------------------------------------------------------------


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(ctype + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc)


def _png(data: bytes, packet: bytes) -> bytes:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise XmpWriteError("not a PNG file")
    chunk = _png_chunk(b"iTXt", _PNG_KEYWORD + b"\x00\x00\x00\x00\x00" + packet)
    pos, after_ihdr = 8, None
    while pos + 12 <= len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise XmpWriteError("a PNG chunk runs past the end of the file")
        body = data[pos + 8 : pos + 8 + length]
        if ctype == b"IHDR":
            after_ihdr = end
        if ctype in (b"iTXt", b"zTXt", b"tEXt") and body.split(b"\x00", 1)[0] == _PNG_KEYWORD:
            return data[:pos] + chunk + data[end:]
        if ctype == b"IEND":
            break
        pos = end
    if after_ihdr is None:
        raise XmpWriteError("the PNG file has no IHDR chunk")
    return data[:after_ihdr] + chunk + data[after_ihdr:]


# -- WebP ----------------------------------------------------------------------------------------

_VP8X_XMP = 0x04
_VP8X_ALPHA = 0x10


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise XmpWriteError("not a WebP file")
    size = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    pos, out = 12, []
    while pos + 8 <= size:
        fourcc = data[pos : pos + 4]
        length = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if pos + 8 + length > len(data):
            raise XmpWriteError("a WebP chunk runs past the end of the file")
        out.append((fourcc, data[pos + 8 : pos + 8 + length]))
        pos += 8 + length + (length & 1)
    return out


def _riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(
        fourcc + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
        for fourcc, payload in chunks
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _webp_size(fourcc: bytes, payload: bytes) -> tuple[int, int, bool]:
    """Canvas (width, height) and whether it has alpha, from a simple file's bitstream header."""
    if fourcc == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", payload[6:10])
        return w & 0x3FFF, h & 0x3FFF, False
    if fourcc == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        bits = int.from_bytes(payload[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise XmpWriteError("the WebP image data is damaged")


def _webp(data: bytes, packet: bytes) -> bytes:
    chunks = [(c, p) for c, p in _riff_chunks(data) if c != b"XMP "]
    if not chunks:
        raise XmpWriteError("the WebP file holds no image")
    if chunks[0][0] == b"VP8X":
        head = bytearray(chunks[0][1])
        if len(head) < 10:
            raise XmpWriteError("the WebP VP8X header is damaged")
        head[0] |= _VP8X_XMP
        chunks[0] = (b"VP8X", bytes(head))
    else:
        w, h, alpha = _webp_size(*chunks[0])
        flags = _VP8X_XMP | (_VP8X_ALPHA if alpha else 0)
        vp8x = (
            bytes([flags, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
        )
        chunks.insert(0, (b"VP8X", vp8x))
    # The metadata chunks go after the image data (WebP container specification).
    chunks.append((b"XMP ", packet))
    return _riff(chunks)
