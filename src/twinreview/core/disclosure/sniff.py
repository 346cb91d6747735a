"""Format sniffing from the first bytes of a file (the extension is never consulted).

Besides the raster formats a generated image comes in, it recognises SVG and bare XMP packets
(``.xmp`` sidecars), because both are things a reviewer may point ``twinreview inspect`` at.
"""

from __future__ import annotations

from dataclasses import dataclass

# ISO BMFF major/compatible brands. AVIF is checked first: an AVIF file usually also lists mif1.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})

_MIME: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "tiff": "image/tiff",
    "heic": "image/heic",
    "avif": "image/avif",
    "jxl": "image/jxl",
    "svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Sniffed:
    """What the bytes are.

    Attributes:
        format: Short lower-case name (``jpeg``, ``png``, ``gif``, ``webp``, ``tiff``, ``heic``,
            ``avif``, ``jxl``, ``bmp``, ``svg``, ``xmp``) or None when unrecognised.
        mime: The MIME type the C2PA reader takes, or None when it has no C2PA support for it.
    """

    format: str | None
    mime: str | None


def sniff(data: bytes) -> Sniffed:
    """Identify ``data`` from its magic numbers."""
    fmt = _sniff_format(data)
    return Sniffed(fmt, _MIME.get(fmt) if fmt else None)


def _sniff_format(data: bytes) -> str | None:
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if head[4:8] == b"ftyp":
        return _bmff_brand(data)
    if head.startswith((b"\xff\n", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "jxl"
    if head.startswith(b"BM") and len(data) > 26:
        return "bmp"
    return _sniff_text(data[:4096])


def _bmff_brand(data: bytes) -> str | None:
    size = int.from_bytes(data[0:4], "big")
    box = data[8 : max(16, min(size, 256))]
    brands = {box[i : i + 4] for i in range(0, len(box) - 3, 4)}
    # box[4:8] is the minor version, not a brand; harmless in the set.
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIF_BRANDS:
        return "heic"
    return None


def _sniff_text(head: bytes) -> str | None:
    text = _decode_head(head)
    if text is None:
        return None
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped.startswith("<"):
        return None
    # An XMP sidecar may start with an XML declaration or an xpacket PI, like an SVG may; the root
    # element decides.
    is_xmp = "<x:xmpmeta" in stripped or "<x:xapmeta" in stripped or "<rdf:RDF" in stripped[:512]
    if is_xmp and "<svg" not in stripped:
        return "xmp"
    if "<svg" in stripped:
        return "svg"
    if stripped.startswith("<?xpacket"):
        return "xmp"
    return None


def _decode_head(head: bytes) -> str | None:
    for bom, codec in (
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"\xff\xfe", "utf-16-le"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="ignore")
    if head[:2] == b"\x00<":
        return head.decode("utf-16-be", errors="ignore")
    if head[:2] == b"<\x00":
        return head.decode("utf-16-le", errors="ignore")
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the window is fine; garbage earlier is not text.
        if exc.start >= len(head) - 3:
            return head[: exc.start].decode("utf-8")
        return None
