"""Stamp the workspace's visible AI label into a corner of an image (for ``publish --label``).

The label is pasted (with its transparency) at :data:`WIDTH_FRACTION` of the image width, inside
the range the label check searches (``core.disclosure.label``: 5 % to 40 %), a small margin from
the bottom-right edges. This decodes and re-encodes the image, in its own format, keeping its ICC
profile and EXIF; the caller puts the XMP back and signs afterwards.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from twinreview.core.errors import TwinreviewError, one_line

WIDTH_FRACTION = 0.16
MARGIN_FRACTION = 0.02
JPEG_QUALITY = 95
_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


class LabelStampError(TwinreviewError):
    """The label cannot be stamped on this image; ``str(err)`` is one line."""


def load_label(data: bytes) -> Image.Image:
    """The label image as RGBA.

    Raises:
        LabelStampError: not an image.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return im.convert("RGBA")
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "not a usable label"
        raise LabelStampError(f"the label image cannot be read ({one_line(exc)})") from None


def stamp_label(data: bytes, fmt: str, label: Image.Image) -> bytes:
    """``data`` re-encoded with ``label`` in its bottom-right corner.

    Args:
        data: The whole image file.
        fmt: Its sniffed format (``jpeg``, ``png`` or ``webp``).
        label: The label, RGBA.

    Raises:
        LabelStampError: the image cannot be decoded, is too small, or the format is another.
    """
    pil_format = _PIL_FORMATS.get(fmt)
    if pil_format is None:
        raise LabelStampError(f"cannot stamp a label on a {fmt} file (JPEG, PNG, WebP)")
    try:
        with Image.open(io.BytesIO(data)) as src:
            src.load()
            info = dict(src.info)
            lossless = fmt == "webp" and bool(info.get("lossless"))
            image = src.copy()
    except Exception as exc:  # noqa: BLE001 - a decoder failure is a reason, not a crash
        raise LabelStampError(f"the image cannot be decoded ({one_line(exc)})") from None
    # Stamp in the orientation the image is shown in; the EXIF orientation is dropped with it.
    oriented = ImageOps.exif_transpose(image)
    width = max(1, round(oriented.width * WIDTH_FRACTION))
    height = max(1, round(label.height * width / label.width))
    margin = round(oriented.width * MARGIN_FRACTION)
    if width < 24 or height + margin > oriented.height // 2:
        raise LabelStampError("the image is too small to carry a readable label")
    mark = label.resize((width, height), Image.Resampling.LANCZOS)
    mode = oriented.mode
    canvas = oriented.convert("RGBA")
    canvas.alpha_composite(
        mark, (oriented.width - width - margin, oriented.height - height - margin)
    )
    out_mode = mode if mode in ("RGB", "RGBA", "L", "LA") else "RGB"
    result = canvas.convert(out_mode) if out_mode != "RGBA" else canvas
    if pil_format == "JPEG" and result.mode not in ("RGB", "L"):
        result = result.convert("RGB")
    kwargs: dict[str, object] = {}
    if info.get("icc_profile"):
        kwargs["icc_profile"] = info["icc_profile"]
    exif = oriented.getexif()
    if exif:
        kwargs["exif"] = exif.tobytes()
    if pil_format == "JPEG":
        kwargs["quality"] = JPEG_QUALITY
    elif pil_format == "WEBP" and lossless:
        kwargs["lossless"] = True
    elif pil_format == "WEBP":
        kwargs["quality"] = JPEG_QUALITY
    buf = io.BytesIO()
    result.save(buf, pil_format, **kwargs)
    return buf.getvalue()
