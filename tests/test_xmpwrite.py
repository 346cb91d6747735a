"""Writing the IPTC source type into XMP without re-encoding: every container, read back."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from publish_helpers import CAPTURE, COMPOSITE, TAM, xmp_jpeg
from twinreview.core.disclosure.xmp import read_xmp
from twinreview.core.publish.signoff import SignoffError, choose_source_type
from twinreview.core.publish.xmpwrite import (
    XmpWriteError,
    main_packet,
    packet_with_source_type,
    put_main_packet,
)
from wsbuild import pattern


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"
    return exif.tobytes()


CASES = {
    "jpeg": lambda: _encode(pattern(1), "JPEG", exif=_exif()),
    "png": lambda: _encode(pattern(2), "PNG"),
    "webp-lossy": lambda: _encode(pattern(3), "WEBP", quality=80),
    "webp-lossless-alpha": lambda: _encode(pattern(4).convert("RGBA"), "WEBP", lossless=True),
    "webp-extended": lambda: _encode(pattern(5), "WEBP", quality=80, exif=_exif()),
}


@pytest.mark.parametrize("case", list(CASES))
def test_source_type_is_added_and_pixels_untouched(case: str) -> None:
    data = CASES[case]()
    fmt = case.split("-")[0]
    packet = packet_with_source_type(main_packet(data, fmt), TAM)
    assert packet is not None
    out = put_main_packet(data, fmt, packet)
    assert read_xmp(out, fmt).source_type == TAM
    with Image.open(io.BytesIO(data)) as a, Image.open(io.BytesIO(out)) as b:
        assert a.size == b.size and a.mode == b.mode
        assert a.tobytes() == b.tobytes()
        assert a.getexif() == b.getexif()
    # Written again: the packet is replaced, not added twice.
    again = put_main_packet(out, fmt, packet)
    assert again == out


def test_existing_packet_is_kept_and_extended() -> None:
    # Same length, so the segment stays valid: another property of the same namespace.
    other = b"Iptc4xmpExt:DigitalSourceTypX"
    data = xmp_jpeg(pattern(6), TAM).replace(b"Iptc4xmpExt:DigitalSourceType", other)
    base = main_packet(data, "jpeg")
    assert base is not None and other in base
    packet = packet_with_source_type(base, COMPOSITE)
    assert packet is not None and other in packet
    assert read_xmp(put_main_packet(data, "jpeg", packet), "jpeg").source_type == COMPOSITE


def test_a_packet_that_already_says_it_is_left_alone_and_never_contradicted() -> None:
    data = xmp_jpeg(pattern(7), TAM)
    assert packet_with_source_type(main_packet(data, "jpeg"), TAM) is None
    with pytest.raises(XmpWriteError, match="refusing to contradict"):
        packet_with_source_type(main_packet(data, "jpeg"), COMPOSITE)


def test_choose_source_type() -> None:
    assert choose_source_type(None, [], None) == TAM
    assert choose_source_type(None, [], {"digital_source_type": "composite"}) == COMPOSITE
    assert choose_source_type(None, [], {"composite": True}) == COMPOSITE
    assert choose_source_type(COMPOSITE, [COMPOSITE], None) == COMPOSITE
    for xmp, c2pa, sidecar in (
        (CAPTURE, [], None),
        (TAM, [COMPOSITE], None),
        (TAM, [], {"digital_source_type": "composite"}),
        (None, [], {"digital_source_type": "digitalCapture"}),
    ):
        with pytest.raises(SignoffError):
            choose_source_type(xmp, c2pa, sidecar)


def test_unsupported_or_damaged_containers_are_one_line() -> None:
    packet = packet_with_source_type(None, TAM)
    assert packet is not None
    with pytest.raises(XmpWriteError, match="not supported"):
        put_main_packet(_encode(pattern(8), "TIFF"), "tiff", packet)
    jpeg = _encode(pattern(8), "JPEG")
    with pytest.raises(XmpWriteError):
        put_main_packet(jpeg[:2] + b"\x00\x00" + jpeg[4:], "jpeg", packet)
