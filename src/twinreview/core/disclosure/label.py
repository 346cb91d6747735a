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
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from twinreview.core.disclosure.model import LabelReport

ANALYSIS_WIDTH = 480
MIN_SCALE = 0.05
MAX_SCALE = 0.40
SCALE_STEP = 1.08
# Margin around the label inside a corner region, as a fraction of the image width: a label may
# sit a little away from the edge.
CORNER_MARGIN = 0.08
DEFAULT_THRESHOLD = 0.70
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
            raise LabelError(f"the label image cannot be read ({_one_line(exc)})") from None
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
    grey = np.asarray(grey_img, dtype=np.float64) / 255.0
    h, w = grey.shape
    best: tuple[float, str, float, tuple[int, int, int, int]] | None = None
    scale = MIN_SCALE
    while scale <= MAX_SCALE * 1.0001:
        tw = round(scale * w)
        th = round(tw * template.aspect)
        scale_now = scale
        scale *= SCALE_STEP
        if min(tw, th) < MIN_TEMPLATE_SIDE or th > h or tw > w:
            continue
        t_grey, t_mask = _resized_template(template, tw, th)
        if float(t_mask.sum()) < 16:
            continue
        margin = round(CORNER_MARGIN * w)
        rw, rh = min(w, tw + margin), min(h, th + margin)
        for corner in CORNERS:
            top = 0 if corner.startswith("top") else h - rh
            left = 0 if corner.endswith("left") else w - rw
            region = grey[top : top + rh, left : left + rw]
            score, (dy, dx) = _masked_ncc_max(region, t_grey, t_mask)
            if best is None or score > best[0]:
                best = (score, corner, scale_now, (left + dx, top + dy, tw, th))
    if best is None:
        return LabelReport(found=False, error="the image is too small to look for the label")
    score, corner, found_scale, (x, y, bw, bh) = best
    ow, oh = original_size or image.size
    fx, fy = ow / w, oh / h
    box = (round(x * fx), round(y * fy), round(bw * fx), round(bh * fy))
    found = score >= threshold
    return LabelReport(
        found=found,
        corner=corner if found else None,
        score=score,
        scale=found_scale,
        box=box if found else None,
    )


def _resized_template(template: LabelTemplate, tw: int, th: int) -> tuple[FloatArray, FloatArray]:
    grey = Image.fromarray((template.grey * 255).astype(np.uint8), "L").resize(
        (tw, th), Image.Resampling.BOX
    )
    mask = Image.fromarray((template.mask * 255).astype(np.uint8), "L").resize(
        (tw, th), Image.Resampling.BOX
    )
    t = np.asarray(grey, dtype=np.float64) / 255.0
    m = (np.asarray(mask, dtype=np.float64) >= 128).astype(np.float64)
    return t, m


def _masked_ncc_max(
    region: FloatArray, t: FloatArray, m: FloatArray
) -> tuple[float, tuple[int, int]]:
    """Best masked NCC of template ``t`` (mask ``m``) over all placements inside ``region``.

    For a placement, with n = sum(m) and the window I under the mask:
    ncc = sum(m * (I - mean_I) * (t - mean_t)) / sqrt(var_I * var_t), where all sums run over the
    mask. The three window sums (I*t', I*m, I^2*m) are correlations, computed with FFTs.
    """
    th, tw = t.shape
    rh, rw = region.shape
    n = float(m.sum())
    t_mean = float((t * m).sum()) / n
    tz = (t - t_mean) * m
    t_energy = float((tz * tz).sum())
    if t_energy <= 1e-12:
        return -1.0, (0, 0)
    shape = (rh + th - 1, rw + tw - 1)
    f_region = np.fft.rfft2(region, shape)
    f_region2 = np.fft.rfft2(region * region, shape)
    # Correlation = convolution with the flipped kernel.
    f_tz = np.fft.rfft2(tz[::-1, ::-1], shape)
    f_m = np.fft.rfft2(m[::-1, ::-1], shape)
    valid = (slice(th - 1, rh), slice(tw - 1, rw))
    num = np.fft.irfft2(f_region * f_tz, shape)[valid]
    s1 = np.fft.irfft2(f_region * f_m, shape)[valid]
    s2 = np.fft.irfft2(f_region2 * f_m, shape)[valid]
    var_i = np.maximum(s2 - s1 * s1 / n, 0.0)
    # A flat window (sky, a white wall) has no variance: it cannot match a label with detail.
    denom = np.sqrt(var_i * t_energy)
    ncc = np.where(var_i > 1e-6 * n, num / np.maximum(denom, 1e-12), -1.0)
    idx = int(np.argmax(ncc))
    dy, dx = divmod(idx, ncc.shape[1])
    return float(ncc.flat[idx]), (dy, dx)


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:200]
