"""Stamp the workspace's visible AI label into a corner of an image (for ``publish --label``).

The label is pasted (with its transparency) at :data:`WIDTH_FRACTION` of the image width, inside
the range the label check searches (``core.disclosure.label``: 5 % to 40 %), a small margin from
the bottom-right edges. This decodes and re-encodes the image, in its own format, keeping its ICC
profile and EXIF; the caller puts the XMP back and signs afterwards.

:func:`compare_outside` checks a labelled copy against the approved file: the same pixels
everywhere but under the label, within what re-encoding changes; :func:`compare_inside` checks
that under the label is the stamp itself (the approved file stamped again).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

from twinreview.core.errors import TwinreviewError, one_line
from twinreview.core.imageio import ImageLoadError, load_image

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


Box = tuple[int, int, int, int]


def stamp_label(data: bytes, fmt: str, label: Image.Image) -> tuple[bytes, Box]:
    """``data`` re-encoded with ``label`` in its bottom-right corner.

    Returns:
        The new file, and where the label is: ``(x, y, width, height)`` in its pixels as shown
        (the EXIF orientation applied).

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
    width, margin, tallest = stamp_geometry(oriented.width, oriented.height)
    height = max(1, round(label.height * width / label.width))
    if width < 24 or height > tallest:
        raise LabelStampError("the image is too small to carry a readable label")
    mark = label.resize((width, height), Image.Resampling.LANCZOS)
    mode = oriented.mode
    canvas = oriented.convert("RGBA")
    box = (oriented.width - width - margin, oriented.height - height - margin, width, height)
    canvas.alpha_composite(mark, box[:2])
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
    return buf.getvalue(), box


def stamp_geometry(width: int, height: int) -> tuple[int, int, int]:
    """Where :func:`stamp_label` puts a label on an image of ``width`` x ``height`` (as shown).

    Returns:
        The label's width, the margin from the right and bottom edges, and the tallest label
        it stamps (a taller one makes it refuse the image).
    """
    w = max(1, round(width * WIDTH_FRACTION))
    margin = round(width * MARGIN_FRACTION)
    return w, margin, height // 2 - margin


def box_problem(size: tuple[int, int], box: Box) -> str | None:
    """Why ``box`` is not a box :func:`stamp_label` can produce on an image of ``size``.

    A label box leaves its pixels out of every comparison, so only the one place and size the
    stamp uses is accepted: its width, flush with the bottom-right margin, no taller than it
    allows. None when the box is one of those.
    """
    width, height = size
    w, margin, tallest = stamp_geometry(width, height)
    x, y, bw, bh = box
    if bw == w and x == width - w - margin and y + bh == height - margin and 0 < bh <= tallest:
        return None
    return (
        f"its sign-off's label box (x {x}, y {y}, {bw}x{bh} pixels) is not one publishing "
        f"stamps: on this {width}x{height} image publishing stamps a label {w} pixels wide, "
        f"at most {tallest} tall, {margin} pixels from the bottom-right corner"
    )


def shown_size(data: bytes) -> tuple[int, int] | None:
    """The image's width and height as shown (its EXIF orientation applied), without decoding."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            orientation = im.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - any decoder failure means "no size"
        return None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


# Comparing a labelled copy with the approved file: re-encoding (JPEG, lossy WebP) moves pixels a
# little everywhere and a lot next to the label's edges, so the comparison leaves out a band of
# EDGE_BAND pixels around the label (a 16x16 block is where JPEG's chroma spreads an edge) and
# looks at 8x8 blocks: re-encoding leaves every block's mean difference below 4 (measured on
# noisy synthetic images at quality 50 to 95), a pasted patch of a dozen pixels lifts its block
# above 11.
EDGE_BAND = 16
BLOCK = 8
BLOCK_LIMIT = 8.0


def compare_outside(approved: bytes, published: bytes, box: Box) -> str | None:
    """Whether ``published`` shows the pixels of ``approved`` everywhere outside ``box``.

    Both images are decoded in full and oriented as shown.

    Returns:
        None when every block outside the label (and its edge band) is within re-encoding's
        tolerance; otherwise one sentence saying where the pictures differ.
    """
    try:
        a = load_image(approved, min_side=1 << 30, max_side=None).image
        b = load_image(published, min_side=1 << 30, max_side=None).image
    except ImageLoadError as exc:
        return f"the images cannot be compared ({exc})"
    if a.size != b.size:
        return (
            f"the published image is {b.width}x{b.height} pixels, the approved one "
            f"{a.width}x{a.height}"
        )
    diff = np.abs(
        np.asarray(a.convert("RGB"), dtype=np.int16) - np.asarray(b.convert("RGB"), dtype=np.int16)
    ).max(axis=2)
    keep = np.ones(diff.shape, dtype=bool)
    x, y, w, h = box
    keep[max(0, y - EDGE_BAND) : y + h + EDGE_BAND, max(0, x - EDGE_BAND) : x + w + EDGE_BAND] = (
        False
    )
    rows, cols = diff.shape[0] // BLOCK * BLOCK, diff.shape[1] // BLOCK * BLOCK
    shape = (rows // BLOCK, BLOCK, cols // BLOCK, BLOCK)
    sums = np.where(keep, diff, 0)[:rows, :cols].reshape(shape).sum(axis=(1, 3))
    counts = keep[:rows, :cols].reshape(shape).sum(axis=(1, 3))
    means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    changed = np.argwhere(means > BLOCK_LIMIT)
    if not len(changed):
        return None
    top, left = (int(v) * BLOCK for v in changed.min(axis=0))
    bottom, right = (int(v) * BLOCK + BLOCK for v in changed.max(axis=0))
    return (
        f"outside the label its pixels differ from the approved image in {len(changed)} "
        f"block(s) of 8x8, between x {left}-{right} and y {top}-{bottom}"
    )


def compare_inside(expected: bytes, published: bytes, box: Box) -> str | None:
    """Whether ``published`` shows, inside ``box``, the stamp ``expected`` holds there.

    ``expected`` is the approved file stamped again as :func:`stamp_label` stamps it: the same
    label on the same pixels, so only re-encoding may differ (8x8 blocks, as
    :func:`compare_outside` judges them).

    Returns:
        None when every block of the box is within re-encoding's tolerance; otherwise one
        sentence saying the label is missing or altered.
    """
    try:
        a = load_image(expected, min_side=1 << 30, max_side=None).image
        b = load_image(published, min_side=1 << 30, max_side=None).image
    except ImageLoadError as exc:
        return f"the label cannot be compared ({exc})"
    x, y, w, h = box
    if a.size != b.size or x < 0 or y < 0 or x + w > b.width or y + h > b.height:
        return "the label is missing or altered: its box does not fit the image as stamped"
    crop = (x, y, x + w, y + h)
    diff = np.abs(
        np.asarray(a.convert("RGB").crop(crop), dtype=np.int16)
        - np.asarray(b.convert("RGB").crop(crop), dtype=np.int16)
    ).max(axis=2)
    rows, cols = -(-h // BLOCK) * BLOCK, -(-w // BLOCK) * BLOCK
    padded = np.zeros((rows, cols))
    counts = np.zeros((rows, cols))
    padded[:h, :w] = diff
    counts[:h, :w] = 1
    shape = (rows // BLOCK, BLOCK, cols // BLOCK, BLOCK)
    means = padded.reshape(shape).sum(axis=(1, 3)) / np.maximum(
        counts.reshape(shape).sum(axis=(1, 3)), 1
    )
    changed = int((means > BLOCK_LIMIT).sum())
    if not changed:
        return None
    return (
        f"the label is missing or altered: inside its box {changed} of {means.size} block(s) of "
        "8x8 are not the workspace's label as publishing stamps it on the approved image"
    )
