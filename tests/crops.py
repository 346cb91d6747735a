"""Crop test sets: copies of real photos made the way a retoucher or a generative fill makes them.

Built by script from photos read in place (``../shared/corpus/faces``, scikit-image's bundled
photos); nothing is copied into the repository. Each query is one reference photo under one
transform (:data:`TRANSFORMS`, each alone) or a random mix of them (:func:`random_mix`), with
its ground truth (the photo it comes from). The transforms span what the product calls a copy:

- a crop down to 40 % of the area, at any offset and aspect;
- a mirror image; a resize down to 45 %;
- a colour grade: brightness and contrast within 15 %, saturation within 30 %;
- a rotation within 3 degrees (corners cropped, or left black);
- a visible label (a badge in a corner) or a text overlay (a caption across the picture);
- JPEG recompression at quality 55 or more;
- outpainting: the photo extended on every side by 10-30 % with invented surroundings;
- inpainting: a region of 5-15 % of the frame replaced by invented content.

Used by tests/test_crops.py (recall and false positives, per transform and mixed) and
tests/benchmarks/bench_geometry.py.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

import copies
import photos as P
from twinreview.core.imageio import load_image
from twinreview.core.similarity import hashing

Transform = Callable[[Image.Image, random.Random], Image.Image]


def crop_area(im: Image.Image, rng: random.Random, area: float | None = None) -> Image.Image:
    """Keep ``area`` (default 0.4-0.9) of the frame, at a random aspect and offset."""
    a = area if area is not None else rng.uniform(0.4, 0.9)
    w, h = im.size
    # Per-axis fractions whose product is the area, neither above 1.
    lo = max(a, 0.4)
    fx = rng.uniform(lo, 1.0)
    fy = a / fx
    if fy > 1.0:
        fx, fy = a, 1.0
    x, y = rng.uniform(0, 1 - fx), rng.uniform(0, 1 - fy)
    return im.crop((round(x * w), round(y * h), round((x + fx) * w), round((y + fy) * h)))


def resize(im: Image.Image, rng: random.Random, factor: float | None = None) -> Image.Image:
    """Resize to 45-100 % on both axes."""
    return P.downscale(im, factor if factor is not None else rng.uniform(0.45, 1.0))


def grade(im: Image.Image, rng: random.Random, extreme: bool = False) -> Image.Image:
    """Brightness and contrast within 15 %, saturation within 30 %."""
    pick: Callable[[float], float] = (
        (lambda s: 1 + s * rng.choice([-1, 1]))
        if extreme
        else (lambda s: rng.uniform(1 - s, 1 + s))
    )
    im = ImageEnhance.Brightness(im).enhance(pick(0.15))
    im = ImageEnhance.Contrast(im).enhance(pick(0.15))
    return ImageEnhance.Color(im).enhance(pick(0.3))


def rotate(im: Image.Image, rng: random.Random, degrees: float | None = None) -> Image.Image:
    """Rotate by up to 3 degrees, corners cropped or left black."""
    deg = degrees if degrees is not None else rng.uniform(-3, 3)
    return P.rotate(im, deg, fill_corners=rng.random() < 0.5)


def label(im: Image.Image, rng: random.Random) -> Image.Image:
    """A badge in a corner, 15-22 % of the width."""
    corner = rng.choice(["tl", "tr", "bl", "br"])
    return P.label(im, "AI generated", corner=corner, width_fraction=rng.uniform(0.15, 0.22))


def text_overlay(im: Image.Image, rng: random.Random) -> Image.Image:
    """A caption across the lower or upper part of the picture, white with a dark outline."""
    out = im.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    w, h = out.size
    text = rng.choice(["SUMMER COLLECTION", "NEW SEASON - 40% OFF", "Studio Twin 2026"])
    font = ImageFont.load_default(max(8.0, h * rng.uniform(0.05, 0.08)))
    left, _top, right, _bottom = draw.textbbox((0, 0), text, font=font)
    x = max(0, (w - (right - left)) // 2)
    y = round(h * rng.choice([0.1, 0.78]))
    draw.text((x, y), text, fill=(255, 255, 255), font=font, stroke_width=2, stroke_fill=(0, 0, 0))
    return out


def jpeg(im: Image.Image, rng: random.Random, quality: int | None = None) -> Image.Image:
    """Recompress at quality 55-95."""
    return P.jpeg(im.convert("RGB"), quality if quality is not None else rng.randint(55, 95))


def _invented(size: tuple[int, int], source: Image.Image, rng: random.Random) -> Image.Image:
    """Plausible invented content: the source's colours, smeared and grained, no real detail."""
    smear = (
        source.convert("RGB")
        .resize((8, 8), Image.Resampling.BOX)
        .resize(size, Image.Resampling.BICUBIC)
    )
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 6, (size[1], size[0], 3))
    arr = np.asarray(smear, dtype=np.float32) + noise
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))


def outpaint(im: Image.Image, rng: random.Random, extend: float | None = None) -> Image.Image:
    """The photo extended on every side by 10-30 % of its size with invented surroundings."""
    w, h = im.size
    sides = [extend if extend is not None else rng.uniform(0.1, 0.3) for _ in range(4)]
    left, top, right, bottom = (round(s * d) for s, d in zip(sides, (w, h, w, h), strict=True))
    canvas = _invented((w + left + right, h + top + bottom), im, rng)
    canvas.paste(im.convert("RGB"), (left, top))
    return canvas


def inpaint(im: Image.Image, rng: random.Random, fraction: float | None = None) -> Image.Image:
    """A region of 5-15 % of the frame replaced by invented content (a generative fill)."""
    out = im.convert("RGB").copy()
    w, h = out.size
    frac = fraction if fraction is not None else rng.uniform(0.05, 0.15)
    aspect = rng.uniform(0.6, 1.6)
    rw = min(w, round(math.sqrt(frac * w * h * aspect)))
    rh = min(h, round(frac * w * h / max(rw, 1)))
    x, y = rng.randint(0, w - rw), rng.randint(0, h - rh)
    region = out.crop((x, y, x + rw, y + rh))
    mask = Image.new("L", (rw, rh), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, rw - 1, rh - 1), fill=255)
    out.paste(_invented((rw, rh), region, rng), (x, y), mask.filter(ImageFilter.GaussianBlur(3)))
    return out


TRANSFORMS: dict[str, Transform] = {
    "crop40": lambda im, rng: crop_area(im, rng, 0.4),
    "crop": crop_area,
    "mirror": lambda im, _rng: P.mirror(im),
    "resize45": lambda im, rng: resize(im, rng, 0.45),
    "grade": lambda im, rng: grade(im, rng, extreme=True),
    "rotate3": lambda im, rng: rotate(im, rng, rng.choice([-3.0, 3.0])),
    "label": label,
    "text": text_overlay,
    "jpeg55": lambda im, rng: jpeg(im, rng, 55),
    "outpaint": outpaint,
    "inpaint": inpaint,
}
"""Each transform alone (at its limit where it has one)."""


def random_mix(rng: random.Random) -> tuple[str, Callable[[Image.Image], Image.Image]]:
    """A random mix of the transforms, in the order a retoucher applies them."""
    steps: list[tuple[str, Transform]] = []
    if rng.random() < 0.8:
        steps.append(("crop", crop_area))
    if rng.random() < 0.15:
        steps.append(("outpaint", outpaint))
    elif rng.random() < 0.2:
        steps.append(("inpaint", inpaint))
    if rng.random() < 0.35:
        steps.append(("rotate", rotate))
    if rng.random() < 0.4:
        steps.append(("mirror", TRANSFORMS["mirror"]))
    if rng.random() < 0.5:
        steps.append(("grade", grade))
    if rng.random() < 0.4:
        steps.append(("resize", resize))
    if rng.random() < 0.3:
        steps.append(("label", label))
    elif rng.random() < 0.2:
        steps.append(("text", text_overlay))
    steps.append(("jpeg", jpeg))
    seed = rng.randrange(1 << 30)

    def apply(im: Image.Image) -> Image.Image:
        r = random.Random(seed)
        for _, step in steps:
            im = step(im, r)
        return im

    return "+".join(n for n, _ in steps), apply


def _as_file(img: Image.Image) -> Image.Image:
    """Saved as the generator would hand it over (JPEG q92) and decoded as the scan does."""
    return copies.as_file(img, 92)


def build(
    originals: dict[str, Image.Image],
    sources: Sequence[str],
    *,
    seed: int,
    mixes_per_photo: int,
    derived: dict[str, str] | None = None,
    same_sitting: frozenset[frozenset[str]] = frozenset(),
) -> copies.CopySet:
    """Every source under every transform alone and ``mixes_per_photo`` random mixes; every
    photo of ``originals`` is a reference (and an unedited query)."""
    rng = random.Random(seed)
    names = sorted(originals)
    queries = []
    for n in sources:
        for t, fn in TRANSFORMS.items():
            queries.append(copies.Query(n, t, _as_file(fn(originals[n], rng))))
        for _ in range(mixes_per_photo):
            t, apply = random_mix(rng)
            queries.append(copies.Query(n, t, _as_file(apply(originals[n]))))
    queries += [copies.Query(n, "original", originals[n]) for n in names]
    return copies.CopySet(names, originals, queries, derived or {}, same_sitting)


def _load(path: Path) -> Image.Image:
    return load_image(path.read_bytes(), min_side=hashing.MIN_SIDE).image


def face_crops(corpus: Path, mixes_per_photo: int = 6, seed: int = 17) -> copies.CopySet:
    """Crops of the face corpus: the set the crop stage was tuned on."""
    folder = corpus / "faces"
    names = sorted(p.name for p in folder.iterdir() if p.suffix in (".jpg", ".png"))
    originals = {n: _load(folder / n) for n in names}
    derived = {"obama_5_letterboxed.jpg": "obama_1.jpg"}
    sources = [n for n in names if n not in derived]
    return build(
        originals,
        sources,
        seed=seed,
        mixes_per_photo=mixes_per_photo,
        derived=derived,
        same_sitting=copies.SAME_SITTING,
    )


HELD_OUT_PHOTOS: tuple[str, ...] = (
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "motorcycle_left",
    "rocket",
    "clock",
    "horse",
    "immunohistochemistry",
    "page",
)
"""Photos of scikit-image never used while tuning the crop stage: people, animals, objects and
scenes, a document. Left out: pure textures (brick, grass, gravel), whose crops are not a
photo of anyone, the 102 px microaneurysms image and micrographs (cell, coins, retina, moon,
hubble_deep_field, text), outside what a model's reference photo is."""


def held_out_crops(mixes_per_photo: int = 8, seed: int = 2026) -> copies.CopySet:
    """Crops of photos the crop stage was not tuned on (:data:`HELD_OUT_PHOTOS`)."""
    names = [*HELD_OUT_PHOTOS, "motorcycle_right"]
    originals = {n: _as_ref(P.load_photo(n)) for n in names}
    return build(
        originals,
        HELD_OUT_PHOTOS,
        seed=seed,
        mixes_per_photo=mixes_per_photo,
        same_sitting=frozenset(frozenset(p) for p in P.SAME_SCENE),
    )


def _as_ref(img: Image.Image) -> Image.Image:
    """A bundled photo as a reference file would be: enlarged to 1200 px, saved as JPEG."""
    scale = 1200 / max(img.size)
    big = img.resize(
        (round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS
    )
    buf = io.BytesIO()
    big.convert("RGB").save(buf, "JPEG", quality=92)
    return load_image(buf.getvalue(), min_side=hashing.MIN_SIDE).image
