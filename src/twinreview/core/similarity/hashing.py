"""Perceptual fingerprints of images, for finding derived copies of reference photos.

:func:`fingerprint` (cheap, every image, ~1-2 ms), from one already-decoded, already
EXIF-oriented image: imagehash's pHash, pHash of the mirrored image, dHash and colour hash
of the whole frame, plus *region hashes* (below).

Region hashes. A derived copy may be cropped by up to 10 % per side and carry a label in a
corner, which moves a whole-frame pHash by 16-40 bits (as far as unrelated photos). So every
image also gets:

* two *probes*: the pHash (and dHash) of its inner box ``[0.1, 0.9]²``, as is and mirrored. The
  inner box never contains a corner label or the empty corners of a 2° rotation;
* a *grid*: the pHash (and dHash) of 256 boxes that together cover every place where another
  image's inner box lands when that image is a crop of this one by up to 10 % per side. Per
  axis, box edges start at 0.09..0.19 and end at 0.81..0.91 (4 x 4 values), 16 x 16 boxes.

A copy of reference R therefore has a probe within a few bits of one of R's grid hashes.

The region hashes are the pHash/dHash constructions of imagehash (DCT-II of a 32 x 32
reduction, low 8 x 8 coefficients against their median; 9 x 8 reduction, sign of horizontal
differences), computed for all boxes at once as matrix products on a 64 x 64 grey reduction
of the image: calling imagehash 512 times would cost ~40 ms per image. Box reductions are
exact area averages; tests check agreement with imagehash.phash/dhash on the same boxes.

Minimum input size: 128 px on the short side (:func:`fingerprint` works on a 64 x 64
reduction). Larger inputs give the same hashes, so a JPEG may be decoded in draft mode at 1/8
scale as long as the result keeps :data:`MIN_SIDE` px on the short side.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import imagehash
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

VERSION = 3
"""Bumped whenever any hash changes: cached fingerprints of another version are recomputed."""

MIN_SIDE = 300
"""Smallest short side (px) that images are decoded at: :func:`fingerprint` needs 128 px,
the geometric working image made from the same decode 384 px on the long side."""

WORK_SIZE = 64
"""Side of the square grey reduction that region hashes are computed from."""

PROBE_BOX = (0.1, 0.9)
"""Per-axis extent of the probe box, as fractions of the frame."""

GRID_STARTS: tuple[float, ...] = (0.09, 0.09 + 0.1 / 3, 0.09 + 0.2 / 3, 0.19)
GRID_ENDS: tuple[float, ...] = (0.81, 0.81 + 0.1 / 3, 0.81 + 0.2 / 3, 0.91)
"""Box edges of the grid, per axis. A crop keeping [l, 1 - r] of an axis (l, r <= 0.1) maps
the copy's probe box to [l + 0.1 (1 - l - r), l + 0.9 (1 - l - r)] in the original, i.e.
start in [0.09, 0.19] and end in [0.81, 0.91]; the grid samples that range every 1/30."""

AXIS_INTERVALS: tuple[tuple[float, float], ...] = tuple(
    (s, e) for s in GRID_STARTS for e in GRID_ENDS
)
GRID_SIZE = len(AXIS_INTERVALS) ** 2
"""Number of grid boxes; box ``k`` spans ``AXIS_INTERVALS[k % 16]`` horizontally and
``AXIS_INTERVALS[k // 16]`` vertically."""

UInt64Array = npt.NDArray[np.uint64]


def grid_box(index: int) -> tuple[float, float, float, float]:
    """Return grid box ``index`` as ``(left, top, right, bottom)`` fractions of the frame."""
    x0, x1 = AXIS_INTERVALS[index % len(AXIS_INTERVALS)]
    y0, y1 = AXIS_INTERVALS[index // len(AXIS_INTERVALS)]
    return (round(x0, 4), round(y0, 4), round(x1, 4), round(y1, 4))


# --- Serialisation helpers -------------------------------------------------------------


def _u64_to_b64(values: UInt64Array) -> str:
    return base64.b64encode(np.asarray(values, dtype=">u8").tobytes()).decode("ascii")


def _b64_to_u64(text: Any, count: int, name: str) -> UInt64Array:
    if not isinstance(text, str):
        raise ValueError(f"fingerprint field {name!r} must be a base64 string")
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except ValueError as exc:
        raise ValueError(f"fingerprint field {name!r} is not valid base64") from exc
    if len(raw) != 8 * count:
        raise ValueError(f"fingerprint field {name!r} holds {len(raw)} bytes, expected {8 * count}")
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64)


def _hex_field(data: Mapping[str, Any], name: str, bits: int) -> int:
    text = data.get(name)
    if not isinstance(text, str):
        raise ValueError(f"fingerprint field {name!r} must be a hex string")
    try:
        value = int(text, 16)
    except ValueError:
        raise ValueError(f"fingerprint field {name!r} is not hexadecimal: {text!r}") from None
    if value < 0 or value >= 1 << bits:
        raise ValueError(f"fingerprint field {name!r} does not fit in {bits} bits")
    return value


def _imagehash_to_int(h: imagehash.ImageHash) -> int:
    """Pack an imagehash bit array (row-major, first bit most significant) into an int."""
    value = 0
    for bit in np.asarray(h.hash).ravel():
        value = (value << 1) | int(bool(bit))
    return value


# imagehash's colour hash puts hues in six bins between these edges (numpy.histogram's: each
# bin holds its lower edge, the last its upper one too); as a table from hue to bin.
_HUE_BIN = np.minimum(
    np.searchsorted(np.linspace(0, 255, 6 + 1), np.arange(256), side="right") - 1, 5
).astype(np.intp)


def _colour_hash(img: Image.Image) -> int:
    """``imagehash.colorhash(img, binbits=3)`` as an int: the same bits, for a third of the cost.

    The same steps on the same Pillow conversions (grey levels, HSV): the fraction of black
    pixels, of grey ones among the rest, and of each of six hues among the faintly and the
    strongly coloured, each as 3 bits written as imagehash writes them. Only the counting is
    done in fewer numpy calls (a table of hue bins instead of ``numpy.histogram``).
    """
    intensity = np.asarray(img.convert("L")).ravel()
    hsv = np.asarray(img.convert("HSV"))
    hue, sat = hsv[..., 0].ravel(), hsv[..., 1].ravel()
    n = intensity.size
    black = intensity < 256 // 8
    coloured = ~black & (sat >= 256 // 3)
    grey = ~black & (sat < 256 // 3)
    faint = coloured & (sat < 256 * 2 // 3)
    bright = coloured & (sat > 256 * 2 // 3)
    c = max(1, int(np.count_nonzero(coloured)))
    values = [
        min(7, int(np.count_nonzero(black) / n * 8)),
        min(7, int(np.count_nonzero(grey) / n * 8)),
    ]
    for mask in (faint, bright):
        counts = np.bincount(_HUE_BIN[hue[mask]], minlength=6)
        values += [min(7, int(int(k) * 8 * 1.0 / c)) for k in counts]
    bits = 0
    for v in values:
        for i in range(3):
            bits = (bits << 1) | int(v // 2 ** (3 - i - 1) % 2 ** (3 - i) > 0)
    return bits


# --- Fingerprint -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """The cheap hashes of one image. Immutable.

    Attributes:
        phash: imagehash pHash (64 bit) of the whole frame.
        phash_mirror: pHash of the left-right mirrored frame.
        dhash: imagehash dHash (64 bit) of the whole frame.
        colorhash: imagehash colour hash (42 bit, binbits=3) of the whole frame.
        probes: pHash of the probe box, shape (2,): as is, mirrored.
        probe_dhashes: dHash of the probe box, shape (2,): as is, mirrored.
        grid: pHash of the grid boxes, shape (GRID_SIZE,).
        grid_dhash: dHash of the grid boxes, shape (GRID_SIZE,).
        version: :data:`VERSION` at creation.
    """

    phash: int
    phash_mirror: int
    dhash: int
    colorhash: int
    probes: UInt64Array
    probe_dhashes: UInt64Array
    grid: UInt64Array
    grid_dhash: UInt64Array
    version: int = VERSION

    def __post_init__(self) -> None:
        # Arrays are shared by reference: make them read-only so the dataclass stays frozen.
        for name, size in (
            ("probes", 2),
            ("probe_dhashes", 2),
            ("grid", GRID_SIZE),
            ("grid_dhash", GRID_SIZE),
        ):
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.uint64)
            if arr.shape != (size,):
                raise ValueError(
                    f"fingerprint field {name!r} has shape {arr.shape}, expected ({size},)"
                )
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (hex for single hashes, base64 for arrays)."""
        return {
            "version": self.version,
            "phash": f"{self.phash:016x}",
            "phash_mirror": f"{self.phash_mirror:016x}",
            "dhash": f"{self.dhash:016x}",
            "colorhash": f"{self.colorhash:011x}",
            "probes": _u64_to_b64(self.probes),
            "probe_dhashes": _u64_to_b64(self.probe_dhashes),
            "grid": _u64_to_b64(self.grid),
            "grid_dhash": _u64_to_b64(self.grid_dhash),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fingerprint:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: when a field is missing or malformed, or the version is not
                :data:`VERSION` (the caller should recompute the fingerprint).
        """
        if not isinstance(data, Mapping):
            raise ValueError("fingerprint must be a JSON object")
        version = data.get("version")
        if version != VERSION:
            raise ValueError(f"fingerprint version {version!r} is not {VERSION}")
        return cls(
            phash=_hex_field(data, "phash", 64),
            phash_mirror=_hex_field(data, "phash_mirror", 64),
            dhash=_hex_field(data, "dhash", 64),
            colorhash=_hex_field(data, "colorhash", 42),
            probes=_b64_to_u64(data.get("probes"), 2, "probes"),
            probe_dhashes=_b64_to_u64(data.get("probe_dhashes"), 2, "probe_dhashes"),
            grid=_b64_to_u64(data.get("grid"), GRID_SIZE, "grid"),
            grid_dhash=_b64_to_u64(data.get("grid_dhash"), GRID_SIZE, "grid_dhash"),
            version=VERSION,
        )


# --- Region hashes as matrix products --------------------------------------------------


def _area_matrix(
    start: float, end: float, n_out: int, n_in: int = WORK_SIZE
) -> npt.NDArray[np.float64]:
    """Matrix averaging span [start, end] (fractions) of ``n_in`` pixels into ``n_out`` cells."""
    mat = np.zeros((n_out, n_in))
    lo = start * n_in
    width = (end - start) * n_in / n_out
    for k in range(n_out):
        c0, c1 = lo + k * width, lo + (k + 1) * width
        for p in range(max(0, int(np.floor(c0))), min(n_in, int(np.ceil(c1)))):
            mat[k, p] = max(0.0, min(c1, p + 1) - max(c0, p)) / width
    return mat


@functools.cache
def _operators() -> dict[str, npt.NDArray[np.float64]]:
    """Per-axis linear operators: grey image rows/columns -> pHash DCT rows, dHash cells."""
    n = np.arange(32)
    u = np.arange(8)
    # DCT-II basis as in scipy.fftpack.dct (unnormalised; scale does not change signs vs median).
    dct = np.cos(np.pi * (2 * n[None, :] + 1) * u[:, None] / 64)
    intervals = (*AXIS_INTERVALS, PROBE_BOX)
    return {
        "ph": np.stack([dct @ _area_matrix(s, e, 32) for s, e in intervals]),  # (17, 8, 64)
        "d8": np.stack([_area_matrix(s, e, 8) for s, e in intervals]),  # (17, 8, 64)
        "d9": np.stack([_area_matrix(s, e, 9) for s, e in intervals]),  # (17, 9, 64)
    }


def _pack_bits(bits: npt.NDArray[np.bool_]) -> UInt64Array:
    """Pack the last axis (64 booleans, first most significant) into uint64."""
    packed = np.packbits(bits.reshape(-1, 64), axis=1)
    return packed.view(">u8").reshape(bits.shape[:-1]).astype(np.uint64)


def _region_hashes(
    grey: npt.NDArray[np.float32],
) -> tuple[UInt64Array, UInt64Array, UInt64Array, UInt64Array]:
    """Return (probe pHash, probe dHash, grid pHash, grid dHash) of a WORK_SIZE² grey array."""
    ops = _operators()
    ph, d8, d9 = ops["ph"], ops["d8"], ops["d9"]
    n_ax = len(AXIS_INTERVALS)
    # pHash: coef[y, x] = Ly @ G @ Lx.T for every (y interval, x interval) pair.
    m = n_ax + 1
    flat = ph.reshape(m * 8, WORK_SIZE)
    coef = (flat @ grey @ flat.T).reshape(m, 8, m, 8).transpose(0, 2, 1, 3).reshape(m, m, 64)
    ph_bits = coef > np.median(coef, axis=-1, keepdims=True)
    # dHash: 8 rows x 9 columns of area means, sign of left-to-right differences.
    cells = (d8.reshape(m * 8, WORK_SIZE) @ grey @ d9.reshape(m * 9, WORK_SIZE).T).reshape(
        m, 8, m, 9
    )
    cells = cells.transpose(0, 2, 1, 3)
    d_bits = (cells[..., 1:] > cells[..., :-1]).reshape(m, m, 64)
    ph_packed = _pack_bits(ph_bits)
    d_packed = _pack_bits(d_bits)
    return (
        ph_packed[n_ax, n_ax],
        d_packed[n_ax, n_ax],
        ph_packed[:n_ax, :n_ax].reshape(-1),
        d_packed[:n_ax, :n_ax].reshape(-1),
    )


def _probe_hashes(grey: npt.NDArray[np.float32]) -> tuple[int, int]:
    """Return (pHash, dHash) of the probe box only: what the mirrored image needs."""
    ops = _operators()
    ph, d8, d9 = ops["ph"][-1], ops["d8"][-1], ops["d9"][-1]
    coef = (ph @ grey @ ph.T).reshape(64)
    cells = d8 @ grey @ d9.T
    ph_packed = _pack_bits(coef > np.median(coef))
    d_packed = _pack_bits((cells[:, 1:] > cells[:, :-1]).reshape(64))
    return int(ph_packed), int(d_packed)


BAR_MIN = 0.02
"""A letterbox or pillarbox bar is at least this fraction of the side it borders."""

BAR_MAX_STD = 1.5
BAR_MAX_STEP = 3.0
"""A row (column) of a bar is flat: a standard deviation of at most BAR_MAX_STD grey levels
and a mean within BAR_MAX_STEP of the outermost row's. Bars added by an editor are flat (JPEG
keeps a flat area flat); a plain wall or sky in a photo has grain (2-6 levels on the
calibration photos), so it is not taken for a bar."""

CONTENT_MIN = 0.25
"""Bars are trimmed only when the content between them keeps this fraction of the side."""


def _bars(grey: npt.NDArray[np.float32], axis: int) -> tuple[int, int]:
    """Leading and trailing bar lines of a grey array along ``axis`` (0: rows, 1: columns)."""
    lines = grey if axis == 0 else grey.T
    mean, std = lines.mean(axis=1), lines.std(axis=1)

    def run(order: npt.NDArray[np.intp]) -> int:
        edge = mean[order[0]]
        ok = (std[order] <= BAR_MAX_STD) & (np.abs(mean[order] - edge) <= BAR_MAX_STEP)
        return int(order.size if ok.all() else np.argmin(ok))

    n = len(mean)
    return run(np.arange(n)), run(np.arange(n)[::-1])


def content_box(img: Image.Image) -> tuple[int, int, int, int] | None:
    """The box inside uniform bars on two opposite sides (a letterbox or pillarbox), or None.

    A derived copy may be letterboxed: pasted on a plain band above and below (or left and
    right) to fit another aspect ratio. The hashes of such a copy are taken of the picture
    inside the bars, so that they match the original's. Bars on one side only are content
    (a caption strip, a plain sky), and so is a plain surround on all four sides (a graphic
    or an object on a plain background): neither is trimmed.

    Returns:
        ``(left, top, right, bottom)`` in pixels of ``img``, or None when there are no bars.
    """
    grey = img if img.mode == "L" else img.convert("L")
    full = np.asarray(grey)
    # Nearly every photo has no flat line at both ends of either axis: four lines decide.
    edges = [full[0], full[-1], full[:, 0], full[:, -1]]
    flat = [float(line.std()) <= BAR_MAX_STD for line in edges]
    if (flat[0] and flat[1]) == (flat[2] and flat[3]):
        return None
    factor = max(1, max(grey.size) // 256)
    small = np.asarray(grey.reduce(factor) if factor > 1 else grey, dtype=np.float32)
    h, w = small.shape
    box = [0, 0, w, h]
    trimmed = 0
    for axis, size, lo, hi in ((0, h, 1, 3), (1, w, 0, 2)):
        first, last = _bars(small, axis)
        if first >= BAR_MIN * size and last >= BAR_MIN * size:
            trimmed += 1
            # One line more on each side: the bar's edge is blurred by resampling and JPEG.
            first, last = first + 1, last + 1
            if size - first - last >= CONTENT_MIN * size:
                box[lo], box[hi] = first, size - last
    if trimmed != 1 or box == [0, 0, w, h]:
        return None
    sx, sy = grey.width / w, grey.height / h
    return (
        round(box[0] * sx),
        round(box[1] * sy),
        round(box[2] * sx),
        round(box[3] * sy),
    )


def _grey_reduction(img: Image.Image) -> Image.Image:
    grey = img if img.mode == "L" else img.convert("L")
    if grey.size != (WORK_SIZE, WORK_SIZE):
        # reducing_gap: Pillow first box-reduces by an integer factor (fast, exact average),
        # then resamples with Lanczos; the result does not depend on the decode scale.
        grey = grey.resize((WORK_SIZE, WORK_SIZE), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return grey


def fingerprint(img: Image.Image, *, grey: Image.Image | None = None) -> Fingerprint:
    """Compute the cheap hashes of one decoded, EXIF-oriented image.

    Never raises for a decoded image: tiny images are scaled up (their hashes are then
    coarse, but a 1 x 1 px image is not a copy of anything that matters). Letterbox and
    pillarbox bars are trimmed first (see :func:`content_box`).

    Args:
        img: Any Pillow image; converted to grey/RGB internally. At least 128 px on the short
            side gives stable hashes.
        grey: ``img.convert("L")`` when the caller has it already (saves converting again).
    """
    grey_full = grey if grey is not None else img.convert("L")
    box = content_box(grey_full)
    if box is not None:
        img, grey_full = img.crop(box), grey_full.crop(box)
    grey_img = _grey_reduction(grey_full)
    small = np.asarray(grey_img, dtype=np.float32)
    probe, probe_d, grid, grid_d = _region_hashes(small)
    probe_m, probe_d_m = _probe_hashes(np.ascontiguousarray(small[:, ::-1]))
    # imagehash reduces to 32x32 / 9x8 itself; feeding it the 64x64 reduction keeps it cheap
    # and makes the whole-frame hashes independent of the decode scale.
    # The colour hash is a histogram of hue/saturation fractions: a ~64 px box reduction gives
    # the same fractions as the full image at a tenth of the cost.
    colour = img if img.mode == "RGB" else img.convert("RGB")
    if min(colour.size) >= 2 * WORK_SIZE:
        colour = colour.reduce(max(1, min(colour.size) // WORK_SIZE))
    return Fingerprint(
        phash=_imagehash_to_int(imagehash.phash(grey_img)),
        phash_mirror=_imagehash_to_int(imagehash.phash(ImageOps.mirror(grey_img))),
        dhash=_imagehash_to_int(imagehash.dhash(grey_img)),
        colorhash=_colour_hash(colour),
        probes=np.array([probe, probe_m], dtype=np.uint64),
        probe_dhashes=np.array([probe_d, probe_d_m], dtype=np.uint64),
        grid=grid,
        grid_dhash=grid_d,
    )
