"""scikit-image's bundled sample photos as RGB Pillow images, for the similarity tests.

Only photos shipped inside the scikit-image wheel are used (no network: ``skimage.data``
would otherwise try to download the larger ones through pooch).

``cat`` is the same file as ``chelsea`` and is left out. ``motorcycle_left`` and
``motorcycle_right`` are the two frames of one stereo pair: the same scene shot from two
points a few centimetres apart. They are real photos but NOT unrelated to each other, so
the calibration keeps them out of the negative pairs with each other (see
:data:`SAME_SCENE`); each is still a negative against every other photo.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

# Real photographs (and micrographs / scans) bundled with scikit-image.
PHOTO_NAMES: tuple[str, ...] = (
    "astronaut",
    "brick",
    "camera",
    "cell",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "microaneurysms",
    "moon",
    "motorcycle_left",
    "motorcycle_right",
    "page",
    "retina",
    "rocket",
    "text",
)

# Bundled synthetic images: no photographs, but useful extra negatives (flat colours,
# periodic patterns, a colour wheel) that stress hashes built on medians and gradients.
SYNTHETIC_NAMES: tuple[str, ...] = ("checkerboard", "colorwheel", "logo", "shepp_logan_phantom")

# Pairs of names that show the same scene and so are not negatives for each other.
SAME_SCENE: frozenset[frozenset[str]] = frozenset(
    {frozenset({"motorcycle_left", "motorcycle_right"})}
)


def _to_rgb(array: np.ndarray) -> Image.Image:
    """Convert a skimage.data array (bool, grey, float, RGB or RGBA) to an RGB image."""
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        low, high = float(array.min()), float(array.max())
        scale = 255.0 / (high - low) if high > low else 0.0
        array = ((array - low) * scale).round().astype(np.uint8)
    if array.ndim == 2:
        return Image.fromarray(array, "L").convert("RGB")
    if array.shape[2] == 4:
        # Composite on white, as a viewer would show it.
        rgba = Image.fromarray(array, "RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return Image.fromarray(array, "RGB")


@functools.cache
def _load_array(name: str) -> np.ndarray:
    import skimage.data  # dev dependency, imported lazily so collection stays cheap

    if name == "motorcycle_left":
        return skimage.data.stereo_motorcycle()[0]
    if name == "motorcycle_right":
        return skimage.data.stereo_motorcycle()[1]
    return getattr(skimage.data, name)()  # type: ignore[no-any-return]


def load_photo(name: str) -> Image.Image:
    """Return the bundled image ``name`` as a fresh RGB image (callers may modify it).

    Raises:
        KeyError: when ``name`` is neither in :data:`PHOTO_NAMES` nor :data:`SYNTHETIC_NAMES`.
    """
    if name not in PHOTO_NAMES and name not in SYNTHETIC_NAMES:
        raise KeyError(f"not a bundled test photo: {name!r}")
    return _to_rgb(_load_array(name))


def related(a: str, b: str) -> bool:
    """Return True when photos ``a`` and ``b`` are the same photo or the same scene."""
    return a == b or frozenset({a, b}) in SAME_SCENE


# --- Derivations: the edits a derived copy of a reference photo may have gone through. ---


def crop(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    """Cut the given fractions of the width/height off each side."""
    w, h = img.size
    box = (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    return img.crop(box)


def downscale(img: Image.Image, factor: float = 0.5) -> Image.Image:
    """Resize by ``factor`` on both axes."""
    w, h = img.size
    return img.resize(
        (max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.LANCZOS
    )


def jpeg(img: Image.Image, quality: int = 55) -> Image.Image:
    """Re-encode as JPEG at ``quality`` and decode again."""
    import io

    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def brightness(img: Image.Image, factor: float) -> Image.Image:
    """Scale brightness (1.2 = +20 %)."""
    from PIL import ImageEnhance

    return ImageEnhance.Brightness(img).enhance(factor)


def saturation(img: Image.Image, factor: float) -> Image.Image:
    """Scale colour saturation (0 = grey, 1.6 = much more colourful)."""
    from PIL import ImageEnhance

    return ImageEnhance.Color(img).enhance(factor)


def mirror(img: Image.Image) -> Image.Image:
    """Flip left-right."""
    from PIL import ImageOps

    return ImageOps.mirror(img)


def rotate(img: Image.Image, degrees: float, fill_corners: bool = True) -> Image.Image:
    """Rotate about the centre, keeping the size.

    With ``fill_corners`` the uncovered corners are black (what a naive editor does);
    otherwise the result is cropped to the largest centred box without empty corners and
    scaled back to the original size (what a careful editor does).
    """
    import math

    w, h = img.size
    out = img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False)
    if fill_corners:
        return out
    a = math.radians(abs(degrees))
    # Shrink factor so that the rotated frame still covers a centred w*k x h*k box.
    k = 1.0 / (math.cos(a) + math.sin(a) * max(w / h, h / w))
    cw, ch = w * k, h * k
    box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
    return out.crop(tuple(round(v) for v in box)).resize((w, h), Image.Resampling.LANCZOS)  # type: ignore[arg-type]


def label(
    img: Image.Image,
    text: str = "AI generated",
    corner: str = "br",
    width_fraction: float = 0.18,
    boxed: bool = True,
) -> Image.Image:
    """Stamp ``text`` in a corner with Pillow's default font, about ``width_fraction`` wide.

    Args:
        img: Image to label (not modified).
        text: Label text.
        corner: ``tl``, ``tr``, ``bl`` or ``br``.
        width_fraction: Width of the label as a fraction of the image width.
        boxed: Draw the text on an opaque white box (a badge) instead of bare text.
    """
    from PIL import ImageDraw, ImageFont

    out = img.copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    target = max(8.0, w * width_fraction)
    size = 10.0
    font = ImageFont.load_default(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    size = max(6.0, size * target / max(1, right - left))
    font = ImageFont.load_default(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    tw, th = right - left, bottom - top
    pad = max(2, round(th * 0.3))
    margin = max(2, round(w * 0.02))
    x = margin if corner[1] == "l" else w - margin - tw - 2 * pad
    y = margin if corner[0] == "t" else h - margin - th - 2 * pad
    if boxed:
        draw.rectangle((x, y, x + tw + 2 * pad, y + th + 2 * pad), fill=(255, 255, 255))
        draw.text((x + pad - left, y + pad - top), text, fill=(0, 0, 0), font=font)
    else:
        draw.text(
            (x + pad - left, y + pad - top),
            text,
            fill=(255, 255, 255),
            font=font,
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )
    return out


def letterbox(
    img: Image.Image, aspect: float = 16 / 9, colour: tuple[int, int, int] = (0, 0, 0)
) -> Image.Image:
    """Pad to ``aspect`` (width / height) with plain bars: above and below, or left and right."""
    w, h = img.size
    size = (round(h * aspect), h) if w / h < aspect else (w, round(w / aspect))
    out = Image.new("RGB", size, colour)
    out.paste(img.convert("RGB"), ((size[0] - w) // 2, (size[1] - h) // 2))
    return out
