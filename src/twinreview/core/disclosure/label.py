"""Find the workspace's visible AI label in a corner of an image.

The search runs on grey images reduced to :data:`ANALYSIS_WIDTH` pixels wide: the label is
scaled to a range of widths relative to the image width (:data:`MIN_SCALE` to
:data:`MAX_SCALE`), and at each scale each corner region (the label's size plus a margin) is
scanned with masked normalised cross-correlation (NCC), computed with numpy FFTs. NCC ignores
brightness and contrast changes, and working at a reduced size makes JPEG re-encoding and 50%
downscaling of the asset mostly invisible. Transparent pixels of the label (alpha < 50%) are left
out of the match, so a label drawn with a transparent background is matched on its drawing only.

The threshold and the scale range are calibrated by ``tests/test_disclosure_label.py``, which
stamps a label on real photos and measures recall and false positives.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

from twinreview.core.disclosure.model import LabelReport
from twinreview.core.errors import one_line

ANALYSIS_WIDTH = 480
MIN_SCALE = 0.05
MAX_SCALE = 0.40
SCALE_STEP = 1.08
# Margin around the label inside a corner region, as a fraction of the image width: a label may
# sit a little away from the edge.
CORNER_MARGIN = 0.08
DEFAULT_THRESHOLD = 0.78
BLUR_RADIUS = 0.7
REFINE_FACTORS = (0.97, 0.98, 0.99, 1.01, 1.02, 1.03)
# Labels at least this opaque (fraction of the bounding box) use the cheaper unmasked statistics.
FULL_MASK = 0.85
# The template must be at least this many pixels on its short side at analysis resolution for a
# match to mean anything.
MIN_TEMPLATE_SIDE = 8

CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")

FloatArray = npt.NDArray[np.float64]


class LabelError(Exception):
    """The label image itself is unusable. ``str(err)`` is one sentence."""


@dataclass(frozen=True)
class LabelTemplate:
    """The label to look for, as grey values and an opacity mask (both 0..1).

    Build it with :meth:`from_bytes`; immutable, so one template may serve many threads.
    """

    grey: FloatArray
    mask: FloatArray
    # The template resized to each (width, height) searched, kept: every image is searched at
    # the same sizes. Filled from several threads at worst twice, with equal values.
    _resized: dict[tuple[int, int], tuple[FloatArray, FloatArray]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def aspect(self) -> float:
        """Height divided by width."""
        return float(self.grey.shape[0]) / float(self.grey.shape[1])

    @classmethod
    def from_bytes(cls, data: bytes) -> LabelTemplate:
        """Load a label image (PNG with or without alpha, JPEG, ...).

        Raises:
            LabelError: when the bytes are not an image or the label has no detail to match.
        """
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                rgba = im.convert("RGBA")
        except Exception as exc:  # noqa: BLE001 - any decoder failure means "not a usable label"
            raise LabelError(f"the label image cannot be read ({one_line(exc)})") from None
        return cls.from_image(rgba)

    @classmethod
    def from_image(cls, image: Image.Image) -> LabelTemplate:
        """Build a template from a Pillow image (alpha channel, if any, is the mask)."""
        rgba = image.convert("RGBA")
        bbox = rgba.getchannel("A").point(lambda a: 255 if a >= 128 else 0).getbbox()
        if bbox is None:
            raise LabelError("the label image is fully transparent")
        rgba = rgba.crop(bbox)
        if rgba.width > 1024:
            rgba = rgba.resize(
                (1024, max(1, round(rgba.height * 1024 / rgba.width))), Image.Resampling.BOX
            )
        grey = np.asarray(rgba.convert("L"), dtype=np.float64) / 255.0
        mask = (np.asarray(rgba.getchannel("A"), dtype=np.float64) >= 128).astype(np.float64)
        values = grey[mask > 0]
        if values.size < 16 or float(values.std()) < 0.02:
            raise LabelError(
                "the label image is a flat colour: there is nothing to recognise it by"
            )
        return cls(grey=grey, mask=mask)


def find_label(
    image: Image.Image,
    template: LabelTemplate,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    original_size: tuple[int, int] | None = None,
) -> LabelReport:
    """Look for ``template`` in the four corners of ``image``.

    Args:
        image: The decoded asset (any mode; may already be reduced).
        template: The label.
        threshold: NCC score from which the label counts as found.
        original_size: Size of the original image, to report the box in its pixels.

    Returns:
        The best match over all corners and scales; ``found`` when its score reaches the threshold.
    """
    grey_img = image.convert("L")
    if grey_img.width > ANALYSIS_WIDTH:
        height = max(1, round(grey_img.height * ANALYSIS_WIDTH / grey_img.width))
        grey_img = grey_img.resize((ANALYSIS_WIDTH, height), Image.Resampling.BOX)
    # A slight blur on both sides makes the score tolerant of sub-pixel shifts, the scale
    # steps and JPEG ringing, which otherwise hurt thin text strokes most.
    grey_img = grey_img.filter(ImageFilter.GaussianBlur(BLUR_RADIUS))
    grey = np.asarray(grey_img, dtype=np.float64) / 255.0
    h, w = grey.shape
    sizes = _template_sizes(w, h, template.aspect)
    if not sizes:
        return LabelReport(found=False, error="the image is too small to look for the label")
    margin = round(CORNER_MARGIN * w)
    max_tw = max(tw for _, tw, _ in sizes)
    max_th = max(th for _, _, th in sizes)
    rw, rh = min(w, max_tw + margin), min(h, max_th + margin)
    # Only placements wholly inside the region are scored, and the transforms are at least the
    # region's size: the circular correlation wraps around only into the placements that
    # overhang the region's edge, which are never read, so no zero padding is needed.
    shape = (_fast_size(rh), _fast_size(rw))
    corners = [_Corner(name, grey, rh, rw, shape) for name in CORNERS]
    # Coarse pass over all sizes, keeping the best placement per corner ...
    per_corner: dict[str, tuple[float, float, tuple[int, int, int, int]]] = {}
    for scale, tw, th in sizes:
        for corner, score, box in _match(template, tw, th, corners, shape, margin):
            if corner.name not in per_corner or score > per_corner[corner.name][0]:
                per_corner[corner.name] = (score, scale, box)
    # ... then refine each corner's best size in 1% steps: thin text strokes are sensitive to
    # the few percent between coarse steps.
    for corner in corners:
        if corner.name not in per_corner:
            continue
        _, coarse, _ = per_corner[corner.name]
        for factor in REFINE_FACTORS:
            scale = coarse * factor
            tw = round(scale * w)
            th = round(tw * template.aspect)
            if not (min(tw, th) >= MIN_TEMPLATE_SIDE and tw <= max_tw and th <= max_th):
                continue
            for _, score, box in _match(template, tw, th, [corner], shape, margin):
                if score > per_corner[corner.name][0]:
                    per_corner[corner.name] = (score, scale, box)
    if not per_corner:
        return LabelReport(found=False, error="the label has no detail at the sizes searched")
    name = max(per_corner, key=lambda k: per_corner[k][0])
    score, found_scale, (x, y, bw, bh) = per_corner[name]
    best = (score, name, found_scale, (x, y, bw, bh))
    score, corner_name, found_scale, (x, y, bw, bh) = best
    ow, oh = original_size or image.size
    fx, fy = ow / w, oh / h
    found = score >= threshold
    return LabelReport(
        found=found,
        corner=corner_name if found else None,
        # To the precision of the JSON form, so that a report read back from it is the same.
        score=round(float(score), 3),
        scale=round(float(found_scale), 3),
        box=(round(x * fx), round(y * fy), round(bw * fx), round(bh * fy)) if found else None,
    )


def _match(
    template: LabelTemplate,
    tw: int,
    th: int,
    corners: list[_Corner],
    shape: tuple[int, int],
    margin: int,
) -> list[tuple[_Corner, float, tuple[int, int, int, int]]]:
    """Best NCC of the template resized to ``tw`` x ``th`` in each of ``corners``."""
    t, m = _resized_template(template, tw, th)
    n = float(m.sum())
    if n < 16:
        return []
    tz = (t - float((t * m).sum()) / n) * m
    energy = float((tz * tz).sum())
    if energy <= 1e-9:
        return []
    f_tz = np.fft.rfft2(tz[::-1, ::-1], shape)
    f_m = None
    if n < FULL_MASK * m.size:
        f_m = np.fft.rfft2(m[::-1, ::-1], shape)
    else:
        # Nearly opaque (a badge with rounded corners): the window statistics are taken over the
        # whole rectangle, from summed-area tables, 3x cheaper than masked sums and changing the
        # score only marginally. Transparent pixels add nothing to the numerator (tz is 0 there).
        n = float(m.size)
    out = []
    for corner in corners:
        score, (y, x) = corner.best(f_tz, f_m, energy, n, th, tw, margin)
        out.append((corner, score, (corner.left + x, corner.top + y, tw, th)))
    return out


def _template_sizes(w: int, h: int, aspect: float) -> list[tuple[float, int, int]]:
    sizes: list[tuple[float, int, int]] = []
    scale = MIN_SCALE
    while scale <= MAX_SCALE * 1.0001:
        tw = round(scale * w)
        th = round(tw * aspect)
        if min(tw, th) >= MIN_TEMPLATE_SIDE and th <= h // 2 and tw <= w:
            sizes.append((scale, tw, th))
        scale *= SCALE_STEP
    return sizes


def _fast_size(n: int) -> int:
    """Smallest 2^a * 3^b * 5^c >= n: FFT lengths numpy transforms quickly."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            v = p35
            while v < n:
                v *= 2
            best = min(best, v)
            p35 *= 3
        p5 *= 5
    return best


class _Corner:
    """One corner region, transformed once and correlated with every template size."""

    def __init__(self, name: str, grey: FloatArray, rh: int, rw: int, shape: tuple[int, int]):
        h, w = grey.shape
        self.name = name
        self.top = 0 if name.startswith("top") else h - rh
        self.left = 0 if name.endswith("left") else w - rw
        region = grey[self.top : self.top + rh, self.left : self.left + rw]
        self.region = region
        self.shape = shape
        self.f_region = np.fft.rfft2(region, shape)
        self.f_region2 = np.fft.rfft2(region * region, shape)
        # Summed-area tables for window sums when the template mask is full (the usual case).
        pad = ((1, 0), (1, 0))
        self.sat = np.pad(region.cumsum(0).cumsum(1), pad)
        self.sat2 = np.pad((region * region).cumsum(0).cumsum(1), pad)

    def best(
        self,
        f_tz: npt.NDArray[np.complex128],
        f_m: npt.NDArray[np.complex128] | None,
        energy: float,
        n: float,
        th: int,
        tw: int,
        margin: int,
    ) -> tuple[float, tuple[int, int]]:
        """Best masked NCC over placements within ``margin`` of this corner's two edges."""
        rh, rw = self.region.shape
        ys = (
            (0, min(margin, rh - th))
            if self.name.startswith("top")
            else (
                max(0, rh - th - margin),
                rh - th,
            )
        )
        xs = (
            (0, min(margin, rw - tw))
            if self.name.endswith("left")
            else (
                max(0, rw - tw - margin),
                rw - tw,
            )
        )
        # Placement (y, x) sits at index (y + th - 1, x + tw - 1) of the full correlation.
        rows = slice(ys[0] + th - 1, ys[1] + th)
        cols = slice(xs[0] + tw - 1, xs[1] + tw)
        num = _inverse(self.f_region * f_tz, self.shape, rows, cols)
        if f_m is None:
            s1 = _window_sums(self.sat, th, tw, ys, xs)
            s2 = _window_sums(self.sat2, th, tw, ys, xs)
        else:
            s1 = _inverse(self.f_region * f_m, self.shape, rows, cols)
            s2 = _inverse(self.f_region2 * f_m, self.shape, rows, cols)
        var = np.maximum(s2 - s1 * s1 / n, 0.0)
        # A flat window (sky, a white wall) has no variance: it cannot match a label with detail.
        ncc = np.where(var > 1e-6 * n, num / np.sqrt(np.maximum(var * energy, 1e-18)), -1.0)
        idx = int(np.argmax(ncc))
        dy, dx = divmod(idx, ncc.shape[1])
        return float(ncc.flat[idx]), (ys[0] + dy, xs[0] + dx)


def _inverse(
    spectrum: npt.NDArray[np.complex128], shape: tuple[int, int], rows: slice, cols: slice
) -> FloatArray:
    """``np.fft.irfft2(spectrum, shape)[rows, cols]``, transforming only the rows it keeps.

    numpy's ``irfft2`` transforms along the columns (axis 0), then each row: the rows left out
    are simply not transformed, and the values are the same.
    """
    partial = np.fft.ifft(spectrum, shape[0], axis=0)[rows]
    return np.fft.irfft(partial, shape[1], axis=1)[:, cols]


def _window_sums(
    sat: FloatArray, th: int, tw: int, ys: tuple[int, int], xs: tuple[int, int]
) -> FloatArray:
    """Sums of the ``th`` x ``tw`` windows at rows ``ys[0]..ys[1]``, columns ``xs[0]..xs[1]``."""
    y0, y1, x0, x1 = ys[0], ys[1] + 1, xs[0], xs[1] + 1
    return (
        sat[y0 + th : y1 + th, x0 + tw : x1 + tw]
        - sat[y0:y1, x0 + tw : x1 + tw]
        - sat[y0 + th : y1 + th, x0:x1]
        + sat[y0:y1, x0:x1]
    )


def _resized_template(template: LabelTemplate, tw: int, th: int) -> tuple[FloatArray, FloatArray]:
    resized = template._resized.get((tw, th))
    if resized is None:
        resized = template._resized[(tw, th)] = _resize_template(template, tw, th)
    return resized


def _resize_template(template: LabelTemplate, tw: int, th: int) -> tuple[FloatArray, FloatArray]:
    grey = Image.fromarray((template.grey * 255).astype(np.uint8), "L")
    mask = Image.fromarray((template.mask * 255).astype(np.uint8), "L")
    small = grey.resize((tw, th), Image.Resampling.BOX).filter(
        ImageFilter.GaussianBlur(BLUR_RADIUS)
    )
    t = np.asarray(small, dtype=np.float64) / 255.0
    m = np.asarray(mask.resize((tw, th), Image.Resampling.BOX), dtype=np.float64)
    return t, (m >= 128).astype(np.float64)
