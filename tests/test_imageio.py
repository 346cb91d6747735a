"""Safe image loading: formats sniffed from bytes, orientation, and every kind of broken input."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from twinreview.core.imageio import ImageLoadError, load_image
from twinreview.services.imaging import configure_imaging


def _photo(w: int = 1200, h: int = 800) -> Image.Image:
    rng = np.random.default_rng(1)
    base = np.linspace(0, 255, w, dtype=np.float32)[None, :, None].repeat(h, 0).repeat(3, 2)
    noise = rng.normal(0, 20, (h, w, 3))
    return Image.fromarray((base + noise).clip(0, 255).astype(np.uint8))


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_jpeg_is_decoded_at_reduced_scale_with_original_size_reported() -> None:
    data = _encode(_photo(4000, 3000), "JPEG", quality=85)
    loaded = load_image(data, min_side=256)
    assert (loaded.width, loaded.height) == (4000, 3000)
    assert loaded.format == "JPEG"
    assert min(loaded.image.size) >= 256
    assert max(loaded.image.size) <= 1024
    assert loaded.image.mode == "RGB"


@pytest.mark.parametrize(("orientation", "swapped"), [(1, False), (3, False), (6, True), (8, True)])
def test_exif_orientation_is_applied(orientation: int, swapped: bool) -> None:
    img = _photo(800, 400)
    # Mark the left half so the rotation direction is visible after decoding.
    arr = np.asarray(img).copy()
    arr[:, :100] = 0
    exif = Image.Exif()
    exif[0x0112] = orientation
    loaded = load_image(_encode(Image.fromarray(arr), "JPEG", exif=exif), min_side=200)
    w, h = loaded.image.size
    assert (w < h) == swapped
    assert (loaded.width, loaded.height) == ((400, 800) if swapped else (800, 400))
    grey = np.asarray(loaded.image.convert("L"), dtype=np.float32)
    dark_edge = {
        1: grey[:, :10].mean(),  # left stays left
        3: grey[:, -10:].mean(),  # 180 degrees: left becomes right
        6: grey[:10, :].mean(),  # rotate 90 cw: left becomes top
        8: grey[-10:, :].mean(),  # rotate 90 ccw: left becomes bottom
    }[orientation]
    assert dark_edge < 30


def test_format_is_sniffed_not_taken_from_the_extension() -> None:
    png = _encode(_photo(64, 64), "PNG")
    assert load_image(png).format == "PNG"
    assert load_image(_encode(_photo(64, 64), "JPEG")).format == "JPEG"


def test_heic_reference_photos_decode() -> None:
    configure_imaging()
    data = _encode(_photo(640, 480), "HEIF", quality=80)
    loaded = load_image(data)
    assert loaded.format == "HEIF"
    assert (loaded.width, loaded.height) == (640, 480)


def test_transparent_png_is_flattened_on_white() -> None:
    img = Image.new("RGBA", (50, 50), (255, 0, 0, 0))
    loaded = load_image(_encode(img, "PNG"))
    assert loaded.image.getpixel((10, 10)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"just some notes, not a photo\n", "text"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        (bytes(range(256)) * 4, "not an image"),
    ],
)
def test_non_images_get_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageLoadError, match=reason):
        load_image(data)


def test_truncated_jpeg() -> None:
    data = _encode(_photo(), "JPEG", quality=90)
    with pytest.raises(ImageLoadError, match="truncated"):
        load_image(data[: len(data) // 2])


def test_truncated_png() -> None:
    data = _encode(_photo(300, 300), "PNG")
    with pytest.raises(ImageLoadError):
        load_image(data[: len(data) // 2])


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions with a tiny (valid) compressed body."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    # One row of zeros only: a decoder that trusted the header would allocate width*height bytes.
    idat = zlib.compress(b"\x00" * (width + 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [12_000, 100_000])  # 1.6x and 100x Pillow's limit
def test_decompression_bomb_is_refused_before_decoding(side: int) -> None:
    with pytest.raises(ImageLoadError, match="too large to decode safely"):
        load_image(_png_header_only(side, side))


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.new("RGB", (64, 64), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    loaded = load_image(buf.getvalue())
    r, _g, b = loaded.image.getpixel((5, 5))
    assert r > 200 and b < 50
