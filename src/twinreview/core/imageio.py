"""Safe image loading for hashing and inspection.

Every file in a workspace may be hostile or broken (DESIGN section 7). This module turns bytes into
a small, oriented RGB image, or into a one-line reason why it cannot:

- the format is sniffed from the bytes (Pillow's plugins look at magic numbers; the extension is
  never consulted), and only still-image formats a reviewer would hand us are accepted;
- Pillow's decompression-bomb limit becomes a reason, never a crash or a gigabyte allocation;
- JPEGs are decoded at reduced scale (draft mode) because the hashes only need a few hundred
  pixels and the DCT scaling makes decoding 8x cheaper; the EXIF orientation is applied to the
  small image afterwards;
- nothing is ever written: files are read once, as bytes, by the caller.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from twinreview.core.errors import one_line

# Formats a reference photo or a generated image can come in. GIF and BMP are legal but rare;
# everything else (PDF, EPS, ICO, ...) is refused so odd Pillow plugins never see hostile bytes.
ALLOWED_FORMATS: tuple[str, ...] = (
    "JPEG",
    "PNG",
    "WEBP",
    "TIFF",
    "HEIF",
    "AVIF",
    "GIF",
    "BMP",
    "MPO",
)

# A single asset over this size is not a photo; refusing it keeps memory bounded on a laptop.
MAX_FILE_BYTES = 512 * 1024 * 1024


class ImageLoadError(Exception):
    """The bytes are not a usable image. ``str(err)`` is one sentence for a reviewer."""


@dataclass(frozen=True)
class LoadedImage:
    """A decoded, oriented, possibly reduced RGB image and facts about the original.

    Attributes:
        image: RGB image, EXIF orientation applied, short side at least ``min_side`` when the
            original was that large.
        format: Sniffed Pillow format name, e.g. ``JPEG``.
        width: Width of the original, after orientation.
        height: Height of the original, after orientation.
    """

    image: Image.Image
    format: str
    width: int
    height: int


def _formats() -> tuple[str, ...]:
    # Image.open(formats=...) fails with KeyError on a name whose plugin is not registered (HEIF
    # before pillow-heif's opener is registered), so only pass the ones Pillow knows right now.
    Image.init()
    return tuple(f for f in ALLOWED_FORMATS if f in Image.OPEN)


def load_image(data: bytes, *, min_side: int = 256, max_side: int | None = 1024) -> LoadedImage:
    """Decode ``data`` into a small oriented RGB image.

    Args:
        data: The file's bytes.
        min_side: The short side the caller needs; JPEG draft mode never goes below it.
        max_side: When set, larger results are reduced so their long side is at most this.

    Returns:
        The decoded image with the original's dimensions.

    Raises:
        ImageLoadError: with a plain reason for empty, truncated, non-image, unsupported or
            oversized (decompression bomb) input.
    """
    if not data:
        raise ImageLoadError("the file is empty (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise ImageLoadError(
            f"the file is {len(data) // (1024 * 1024)} MB, too large to be a photo"
        )
    try:
        # The bomb check raises DecompressionBombError above twice the limit; between one and two
        # times it only warns. Turn that warning into an error here too, so a huge image never
        # gets decoded. catch_warnings is process-global, but the filter only ever tightens.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=_formats())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(f"the image is too large to decode safely ({_pixels(exc)})") from None
    except UnidentifiedImageError:
        raise ImageLoadError(_not_an_image_reason(data)) from None
    except Exception as exc:  # noqa: BLE001 - plugins raise a zoo of types on hostile headers
        raise ImageLoadError(f"the image header is damaged ({one_line(exc)})") from None
    keep_open = False
    try:
        fmt = im.format or "unknown"
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageLoadError("the image has no pixels")
        orientation = _exif_orientation(im)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        if fmt in ("JPEG", "MPO") and min_side > 0:
            # draft() picks the largest DCT scale whose result is still >= the requested size.
            scale = max(1, min(im.size) // min_side)
            im.draft("RGB", (im.size[0] // scale, im.size[1] // scale))
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        im.load()
        small = _to_rgb(im)
        if orientation not in (None, 1):
            # Orientation is applied to the small image: rotating 1/8 of the pixels is 64x cheaper.
            small = _apply_orientation(small, orientation)
        if max_side is not None and max(small.size) > max_side:
            small = _reduce(small, max_side, min_side)
        keep_open = small is im
        return LoadedImage(image=small, format=fmt, width=width, height=height)
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(f"the image is too large to decode safely ({_pixels(exc)})") from None
    except OSError as exc:
        msg = one_line(exc)
        if "truncated" in msg.lower():
            raise ImageLoadError(
                "the image file is truncated (incomplete download or copy?)"
            ) from None
        raise ImageLoadError(f"the image data is damaged ({msg})") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise ValueError, SyntaxError, MemoryError...
        raise ImageLoadError(f"the image data is damaged ({one_line(exc)})") from None
    finally:
        if not keep_open:
            im.close()


def _exif_orientation(im: Image.Image) -> int | None:
    try:
        value = im.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not make the image unreadable
        return None
    return value if isinstance(value, int) and 1 <= value <= 8 else None


_TRANSPOSE: dict[int, tuple[Image.Transpose, ...]] = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


def _apply_orientation(img: Image.Image, orientation: int) -> Image.Image:
    for op in _TRANSPOSE.get(orientation, ()):
        img = img.transpose(op)
    return img


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Flatten onto white: a transparent generated image is judged as it will be seen on a page.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        return im.point(lambda v: v / 256).convert("RGB") if im.mode != "I" else im.convert("RGB")
    return im.convert("RGB")


def _reduce(img: Image.Image, max_side: int, min_side: int) -> Image.Image:
    w, h = img.size
    factor = max(w, h) / max_side
    # Keep the short side usable for the hashes even for extreme panoramas.
    factor = min(factor, max(1.0, min(w, h) / max(1, min_side)))
    if factor <= 1.0:
        return img
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    return img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _not_an_image_reason(data: bytes) -> str:
    head = data[:512]
    if head.lstrip().startswith((b"<svg", b"<?xml")) and b"<svg" in head:
        return "not a raster image (it is an SVG drawing)"
    if head.startswith(b"%PDF"):
        return "not an image (it is a PDF document)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "not an image in a supported format (JPEG, PNG, WebP, TIFF, HEIC, AVIF, GIF, BMP)"
    return "not an image (the file contains text)"


def _pixels(exc: BaseException) -> str:
    return one_line(exc).split(" could be")[0]
