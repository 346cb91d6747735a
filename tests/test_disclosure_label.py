"""The visible label search, measured on real photos (scikit-image's bundled pictures).

Set-up: a badge label ("AI · made", white text on a dark rounded rectangle, 240x64) is stamped
in one corner (2% margin; the corner rotates from photo to photo) at 10%, 20% and 30% of the
image width, on 12 photos, both at their native size (300-1411 px wide) and upscaled to 1024 px
(the size generators produce). Each stamped photo is then degraded three ways: JPEG quality 90,
JPEG quality 60, and a 50% downscale followed by JPEG quality 75. The same photos without the
label, degraded the same ways, are the negatives.

Measured with the defaults (threshold 0.78, analysis width 480 px) when this test was written:

- 1024 px images: recall 108/108 = 100% (found, in the right corner, box on the label);
- native size, not downscaled: recall 72/72 = 100%;
- native size downscaled 50% (150-700 px wide): recall 29/36 = 81%; all 7 misses are the 10%
  labels on the small photos (labels 19-35 px wide after downscaling); asserted loosely (>= 60%);
- false positives: 0/72 unlabelled degraded photos; the highest unlabelled score is 0.759
  (``brick``, a wall of dark rectangles), which is why the threshold is not lower.

Limitation found while calibrating: a label of thin text on a transparent background (no badge)
is matched on its opaque pixels only and scores much lower after resizing and JPEG (thin strokes
blur into the photo); brands should use a solid badge, or lower ``label_threshold``.

The assertions below use these figures with a small margin, so a regression fails the test.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from photos import load_photo
from twinreview.core.disclosure import InspectSettings, LabelError, LabelTemplate, inspect_bytes
from twinreview.core.disclosure.label import CORNERS, DEFAULT_THRESHOLD, FULL_MASK, find_label

PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "camera",
    "horse",
    "motorcycle_left",
    "brick",
    "grass",
    "clock",
    "hubble_deep_field",
    "retina",
)
FRACTIONS = (0.10, 0.20, 0.30)
DEGRADATIONS = (("jpeg90", 90, False), ("jpeg60", 60, False), ("half+jpeg75", 75, True))


def make_label() -> Image.Image:
    label = Image.new("RGBA", (240, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(label)
    draw.rounded_rectangle((0, 0, 239, 63), radius=14, fill=(20, 20, 20, 255))
    draw.text((16, 12), "AI · made", font=ImageFont.load_default(34), fill=(255, 255, 255, 255))
    return label


def stamp(
    img: Image.Image, label: Image.Image, fraction: float, corner: str
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    w, h = img.size
    lw = round(w * fraction)
    lh = round(lw * label.height / label.width)
    small = label.resize((lw, lh), Image.Resampling.LANCZOS)
    margin = round(0.02 * w)
    x = margin if corner.endswith("left") else w - margin - lw
    y = margin if corner.startswith("top") else h - margin - lh
    out = img.copy()
    out.paste(small, (x, y), small)
    return out, (x, y, lw, lh)


def degrade(img: Image.Image, quality: int, half: bool) -> Image.Image:
    if half:
        img = img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def centre_inside(box: tuple[int, int, int, int], truth: tuple[int, int, int, int]) -> bool:
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return truth[0] <= cx <= truth[0] + truth[2] and truth[1] <= cy <= truth[1] + truth[3]


@dataclass
class Tally:
    hits: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        return self.hits / self.total


@pytest.mark.slow
def test_recall_and_false_positives_on_real_photos() -> None:
    label = make_label()
    template = LabelTemplate.from_image(label)
    recall = {"1024": Tally(), "native": Tally(), "native-half": Tally()}
    negatives = Tally()
    worst_negative = -1.0
    misses: list[str] = []
    for i, name in enumerate(PHOTOS):
        photo = load_photo(name)
        upscaled = photo.resize(
            (1024, round(photo.height * 1024 / photo.width)), Image.Resampling.LANCZOS
        )
        for size, img in (("native", photo), ("1024", upscaled)):
            for j, fraction in enumerate(FRACTIONS):
                corner = CORNERS[(i + j) % 4]
                stamped, truth = stamp(img, label, fraction, corner)
                for dname, quality, half in DEGRADATIONS:
                    seen = degrade(stamped, quality, half)
                    result = find_label(seen, template, original_size=img.size)
                    key = "native-half" if size == "native" and half else size
                    recall[key].total += 1
                    ok = result.found and result.corner == corner
                    if ok:
                        assert result.box is not None
                        # The box may be a little smaller than the label (the text inside a
                        # badge matches a smaller copy of the badge too), but it is on it.
                        assert centre_inside(result.box, truth), (name, size, dname, result)
                        recall[key].hits += 1
                    else:
                        misses.append(f"{name}/{size}/{fraction}/{dname}: {result.score:.2f}")
            for _dname, quality, half in DEGRADATIONS:
                result = find_label(degrade(img, quality, half), template)
                negatives.total += 1
                negatives.hits += result.found
                worst_negative = max(worst_negative, result.score or -1.0)
    summary = (
        f"recall { ({k: f'{v.hits}/{v.total}' for k, v in recall.items()}) }, "
        f"false positives {negatives.hits}/{negatives.total}, worst negative {worst_negative:.3f}; "
        f"misses: {misses}"
    )
    assert recall["1024"].rate >= 0.97, summary
    assert recall["native"].rate >= 0.95, summary
    assert recall["native-half"].rate >= 0.60, summary
    assert negatives.hits == 0, summary
    assert worst_negative < DEFAULT_THRESHOLD, summary


def test_label_in_each_corner_is_located() -> None:
    label = make_label()
    template = LabelTemplate.from_image(label)
    photo = load_photo("coffee").resize((1024, 683), Image.Resampling.LANCZOS)
    for corner in CORNERS:
        stamped, truth = stamp(photo, label, 0.2, corner)
        result = find_label(degrade(stamped, 80, False), template, original_size=stamped.size)
        assert result.found and result.corner == corner
        assert result.box is not None and iou(result.box, truth) > 0.6
    assert not find_label(photo, template).found


def test_label_placed_in_the_middle_is_not_a_corner_label() -> None:
    label = make_label()
    template = LabelTemplate.from_image(label)
    photo = load_photo("rocket").resize((1024, 683), Image.Resampling.LANCZOS)
    small = label.resize((200, 53), Image.Resampling.LANCZOS)
    photo.paste(small, (412, 315), small)
    assert not find_label(photo, template).found


def test_transparent_padding_around_the_label_is_ignored() -> None:
    padded = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    padded.paste(make_label(), (80, 60))
    template = LabelTemplate.from_image(padded)
    assert template.grey.shape == (64, 240)
    photo = load_photo("astronaut").resize((1024, 1024), Image.Resampling.LANCZOS)
    stamped, _ = stamp(photo, make_label(), 0.15, "bottom-right")
    assert find_label(stamped, template).corner == "bottom-right"


def test_unusable_label_images_are_refused() -> None:
    with pytest.raises(LabelError, match="cannot be read"):
        LabelTemplate.from_bytes(b"not an image")
    with pytest.raises(LabelError, match="fully transparent"):
        LabelTemplate.from_image(Image.new("RGBA", (50, 20), (0, 0, 0, 0)))
    with pytest.raises(LabelError, match="flat colour"):
        LabelTemplate.from_image(Image.new("RGB", (50, 20), (200, 10, 10)))


def test_inspect_reports_the_label(tmp_path_factory: pytest.TempPathFactory) -> None:
    label = make_label()
    template = LabelTemplate.from_image(label)
    settings = InspectSettings.offline(label=template)
    photo = load_photo("chelsea").resize((1024, 681), Image.Resampling.LANCZOS)
    stamped, _ = stamp(photo, label, 0.2, "top-right")
    buf = io.BytesIO()
    stamped.save(buf, "JPEG", quality=85)
    report = inspect_bytes(buf.getvalue(), settings=settings)
    assert report.label is not None and report.label.found
    assert report.to_json()["label"]["corner"] == "top-right"
    buf = io.BytesIO()
    photo.save(buf, "PNG")
    unlabelled = inspect_bytes(buf.getvalue(), settings=settings)
    assert unlabelled.label is not None and not unlabelled.label.found
    broken = inspect_bytes(b"\xff\xd8\xff\xe0garbage", settings=settings)
    assert broken.label is not None and broken.label.error is not None


@pytest.mark.parametrize("opaque", [True, False], ids=["badge", "transparent-text"])
def test_fft_scores_equal_a_direct_sum_over_every_placement(opaque: bool) -> None:
    """The transforms are no larger than a corner region (no zero padding): the circular
    correlation must still give, at every placement searched, the NCC summed directly."""
    from twinreview.core.disclosure.label import _Corner, _fast_size, _match, _resized_template

    label = make_label()
    if not opaque:
        # Outlined text on a transparent background: the masked statistics.
        text = Image.new("RGBA", label.size, (0, 0, 0, 0))
        ImageDraw.Draw(text).text(
            (16, 12),
            "AI · made",
            font=ImageFont.load_default(34),
            fill=(255, 255, 255, 255),
            stroke_width=2,
            stroke_fill=(20, 20, 20, 255),
        )
        label = text
    template = LabelTemplate.from_image(label)
    photo = load_photo("coffee").convert("L").resize((200, 133), Image.Resampling.BOX)
    grey = np.asarray(photo, dtype=np.float64) / 255.0
    h, w = grey.shape
    tw, th, margin = 48, 13, 16
    rh, rw = th + margin + 3, tw + margin + 5
    shape = (_fast_size(rh), _fast_size(rw))
    corners = [_Corner(name, grey, rh, rw, shape) for name in CORNERS]
    t, m = _resized_template(template, tw, th)
    opaque_stats = float(m.sum()) >= FULL_MASK * m.size
    assert opaque_stats == opaque
    n = float(m.size) if opaque_stats else float(m.sum())
    tz = (t - float((t * m).sum()) / float(m.sum())) * m
    energy = float((tz * tz).sum())
    for corner, score, (x, y, bw, bh) in _match(template, tw, th, corners, shape, margin):
        best = -2.0
        ys = (
            range(margin + 1)
            if corner.name.startswith("top")
            else range(h - th - margin, h - th + 1)
        )
        xs = (
            range(margin + 1)
            if corner.name.endswith("left")
            else range(w - tw - margin, w - tw + 1)
        )
        for py in ys:
            for px in xs:
                win = grey[py : py + th, px : px + tw]
                weight = np.ones_like(m) if opaque_stats else m
                s1, s2 = float((win * weight).sum()), float((win * win * weight).sum())
                var = max(s2 - s1 * s1 / n, 0.0)
                ncc = float((win * tz).sum()) / np.sqrt(var * energy) if var > 1e-6 * n else -1.0
                if ncc > best:
                    best, at = ncc, (px, py)
        assert score == pytest.approx(best, abs=1e-9), corner.name
        assert (x, y, bw, bh) == (*at, tw, th), corner.name
