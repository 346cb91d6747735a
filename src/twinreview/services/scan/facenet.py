"""dlib's face recognition network, run with numpy: the same weights, ten times faster.

The face descriptor is dlib's ResNet (``dlib_face_recognition_resnet_model_v1.dat`` from the
``face-recognition-models`` wheel; the network ``anet_type`` of dlib's
``examples/dnn_face_recognition_ex.cpp``): 29 convolutions, each followed by a per-channel affine
map, ReLUs, 14 residual blocks, a global average and a 256 -> 128 linear map. The dlib wheels are
built without BLAS, so dlib runs those convolutions with its own matrix code (about 70 ms per face
on one core). Here each convolution is a float32 matrix product through numpy's BLAS (the
image patches laid out as rows, the filters as columns), with the affine map folded into the
filters: about 7 ms per face on one core, the faces of a few images in one pass (one product
per face in the largest layers, where a batch's patches would outgrow the processor's cache).

The weights are read from that very model file: :func:`load` parses dlib's serialization format
(``dlib/serialize.h``: integers as a control byte, whose low bits give the number of
little-endian bytes that follow and whose high bit is the sign; floats as a mantissa and an
exponent, each such an integer; strings as a length and the bytes; tensors as their four sizes
and raw little-endian float32) along the nesting dlib writes (``dlib/dnn/core.h``: a layer writes
its version, the network below it, then its own parameters). Every layer's kind, size, stride
and padding is checked against the expected network and the whole file must be consumed, so a
file of another shape is refused (:class:`ModelFormatError`) rather than misread; the face
engine then keeps dlib's own network. Nothing is downloaded and nothing is written: parsing the
22 MB file takes about 0.05 s (dlib's own loading of it takes 0.3 s), once per process.

Same input as dlib: the aligned 150 x 150 RGB chip from ``dlib.get_face_chip``, each channel
less the mean stored in the file, divided by 256. On the face corpus and on synthetic chips the
descriptors agree with dlib's to within 4e-7 (float32 rounding in another order), far below what
moves a likeness decision (tests/test_facenet.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

CHIP_SIZE = 150
DESCRIPTOR_SIZE = 128

Array = np.ndarray[Any, np.dtype[np.float32]]


class ModelFormatError(ValueError):
    """The model file is not the network this module knows (the message says where)."""


# --- dlib's serialization format -------------------------------------------------------------


class _Reader:
    """Reads dlib's serialization format from bytes; every problem is a ModelFormatError."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self.pos = 0

    def _take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self._data):
            raise ModelFormatError(f"the file ends early (at byte {self.pos}, {n} more wanted)")
        out = self._data[self.pos : self.pos + n]
        self.pos += n
        return out

    @property
    def done(self) -> bool:
        return self.pos == len(self._data)

    def integer(self) -> int:
        """An integer: a control byte (bit 7 the sign, bits 0-3 the size), then the bytes."""
        ctrl = self._take(1)[0]
        size = ctrl & 0x0F
        if size == 0 or size > 8 or ctrl & 0x70:
            raise ModelFormatError(f"not an integer at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if ctrl & 0x80 else value

    def count(self, what: str) -> int:
        """A non-negative integer (a size or a version)."""
        value = self.integer()
        if value < 0:
            raise ModelFormatError(f"negative {what} at byte {self.pos}")
        return value

    def real(self) -> float:
        """A float: mantissa and exponent (``dlib/float_details.h``), both integers."""
        mantissa, exponent = self.integer(), self.integer()
        if exponent >= 32000:  # dlib's markers for infinities and not-a-number
            raise ModelFormatError(f"a non-finite number at byte {self.pos}")
        return math.ldexp(mantissa, exponent)

    def boolean(self) -> bool:
        ch = bytes(self._take(1))
        if ch not in (b"0", b"1"):
            raise ModelFormatError(f"not a bool at byte {self.pos - 1}")
        return ch == b"1"

    def string(self) -> str:
        n = self.count("string length")
        if n > 256:
            raise ModelFormatError(f"an implausible string at byte {self.pos}")
        return bytes(self._take(n)).decode("ascii", "replace")

    def version(self, what: str, allowed: Sequence[int]) -> int:
        v = self.integer()
        if v not in allowed:
            raise ModelFormatError(f"{what} version {v} (expected {list(allowed)})")
        return v

    def tag(self, what: str, allowed: Sequence[str]) -> str:
        v = self.string()
        if v not in allowed:
            raise ModelFormatError(f"found {v!r} where {what} ({' or '.join(allowed)}) belongs")
        return v

    def _dims(self) -> tuple[int, int, int, int]:
        n, k, nr, nc = (self.count("tensor size") for _ in range(4))
        return n, k, nr, nc

    def tensor(self) -> Array:
        """A tensor: version 2, its four sizes, raw little-endian float32 (``tensor.h``)."""
        self.version("tensor", (2,))
        dims = self._dims()
        size = math.prod(dims)
        if size > 50_000_000:
            raise ModelFormatError(f"an implausible tensor at byte {self.pos}")
        raw = self._take(4 * size)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(dims)

    def alias(self) -> tuple[int, int, int, int]:
        """An alias tensor: version 1 and its four sizes (no data)."""
        self.version("alias tensor", (1,))
        return self._dims()


# --- the expected network ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """One wrapper of the network, top to bottom: a layer, a tag or a skip."""

    wrapper: str  # "layer", "tag" or "skip"
    kind: str = ""  # for layers: con, affine, relu, max_pool, avg_pool, add_prev, fc
    filters: int = 0
    size: int = 0  # con / pool window (square); 0 for the global average
    stride: int = 1
    tag: int = 0  # tag / skip / add_prev id


def _ares(n: int, down: bool) -> list[_Spec]:
    """``ares`` / ``ares_down`` of dlib's example, top to bottom."""
    block = [
        _Spec("layer", "affine"),
        _Spec("layer", "con", n, 3, 1),
        _Spec("layer", "relu"),
        _Spec("layer", "affine"),
        _Spec("layer", "con", n, 3, 2 if down else 1),
        _Spec("tag", tag=1),
    ]
    if down:
        head = [
            _Spec("layer", "relu"),
            _Spec("layer", "add_prev", tag=2),
            _Spec("layer", "avg_pool", size=2, stride=2),
            _Spec("skip", tag=1),
            _Spec("tag", tag=2),
        ]
    else:
        head = [_Spec("layer", "relu"), _Spec("layer", "add_prev", tag=1)]
    return head + block


def _expected() -> list[_Spec]:
    """``anet_type`` from top (below the loss) to bottom (above the input)."""
    out = [_Spec("layer", "fc", DESCRIPTOR_SIZE), _Spec("layer", "avg_pool", size=0, stride=1)]
    levels = [  # alevel0 .. alevel4, each top to bottom: (filters, downsampling first block)
        [(256, True)],
        [(256, False), (256, False), (256, True)],
        [(128, False), (128, False), (128, True)],
        [(64, False), (64, False), (64, False), (64, True)],
        [(32, False), (32, False), (32, False)],
    ]
    for level in levels:
        for filters, down in level:
            out += _ares(filters, down)
    out += [
        _Spec("layer", "max_pool", size=3, stride=2),
        _Spec("layer", "relu"),
        _Spec("layer", "affine"),
        _Spec("layer", "con", 32, 7, 2),
    ]
    return out


# --- parsing -----------------------------------------------------------------------------------


@dataclass
class _Layer:
    """A parsed layer, bottom to top order in the program."""

    spec: _Spec
    weights: Array | None = None  # con: (filters, k, n, n); fc: (in, out); affine: gamma
    bias: Array | None = None  # con: bias (or None); affine: beta
    padding: int = 0
    relu: bool = False  # con_6 carries a fused ReLU
    disabled: bool = False  # affine_2 / relu_2 can be switched off


def _con(r: _Reader, spec: _Spec) -> _Layer:
    version = r.tag("a convolution", ("con_4", "con_5", "con_6"))
    params = r.tensor().reshape(-1)
    filters = r.count("filters")
    nr, nc = r.count("rows"), r.count("columns")
    stride_y, stride_x = r.count("stride"), r.count("stride")
    pad_y, pad_x = r.count("padding"), r.count("padding")
    shape = r.alias()
    bias_shape = r.alias()
    for _ in range(4):
        r.real()  # learning-rate and weight-decay multipliers
    use_bias = r.boolean() if version in ("con_5", "con_6") else True
    use_relu = r.boolean() if version == "con_6" else False
    if (filters, nr, nc, stride_y, stride_x) != (
        spec.filters,
        spec.size,
        spec.size,
        spec.stride,
        spec.stride,
    ):
        raise ModelFormatError(
            f"a {filters}-filter {nr}x{nc}/{stride_y} convolution where a "
            f"{spec.filters}-filter {spec.size}x{spec.size}/{spec.stride} one belongs"
        )
    expected_pad = 0 if spec.stride != 1 else spec.size // 2
    if (pad_y, pad_x) != (expected_pad, expected_pad):
        raise ModelFormatError(f"a convolution padded by {pad_y}x{pad_x}")
    if shape[0] != filters or shape[2:] != (nr, nc):
        raise ModelFormatError(f"convolution filters of shape {shape}")
    n_weights = math.prod(shape)
    n_bias = filters if use_bias else 0
    if params.size != n_weights + n_bias or (use_bias and math.prod(bias_shape) != filters):
        raise ModelFormatError(f"a convolution with {params.size} numbers for {shape}")
    weights = params[:n_weights].reshape(shape)
    bias = params[n_weights:] if use_bias else None
    return _Layer(spec, weights, bias, pad_y, use_relu)


def _affine(r: _Reader, spec: _Spec) -> _Layer:
    version = r.tag("an affine layer", ("affine_", "affine_2"))
    params = r.tensor().reshape(-1)
    gamma = r.alias()
    beta = r.alias()
    mode = r.integer()
    disabled = r.boolean() if version == "affine_2" else False
    k = math.prod(gamma)
    if mode != 0 or gamma != beta or params.size != 2 * k:  # 0: per channel (CONV_MODE)
        raise ModelFormatError(f"an affine layer of mode {mode} and shape {gamma}")
    return _Layer(spec, params[:k].copy(), params[k:].copy(), disabled=disabled)


def _relu(r: _Reader, spec: _Spec) -> _Layer:
    version = r.tag("a ReLU", ("relu_", "relu_2"))
    disabled = r.boolean() if version == "relu_2" else False
    return _Layer(spec, disabled=disabled)


def _pool_details(r: _Reader, spec: _Spec) -> _Layer:
    name = "max_pool_2" if spec.kind == "max_pool" else "avg_pool_2"
    r.tag("a pooling layer", (name,))
    nr, nc = r.count("rows"), r.count("columns")
    stride_y, stride_x = r.count("stride"), r.count("stride")
    pad_y, pad_x = r.count("padding"), r.count("padding")
    expected_pad = 0 if spec.stride != 1 else spec.size // 2
    if (nr, nc, stride_y, stride_x, pad_y, pad_x) != (
        spec.size,
        spec.size,
        spec.stride,
        spec.stride,
        expected_pad,
        expected_pad,
    ):
        raise ModelFormatError(f"a {nr}x{nc}/{stride_y} pooling where {spec} belongs")
    return _Layer(spec)


def _fc(r: _Reader, spec: _Spec) -> _Layer:
    version = r.tag("a fully connected layer", ("fc_2", "fc_3"))
    outputs, inputs = r.count("outputs"), r.count("inputs")
    params = r.tensor().reshape(-1)
    shape = r.alias()
    r.alias()  # biases (none here)
    mode = r.integer()
    for _ in range(4):
        r.real()
    use_bias = r.boolean() if version == "fc_3" else True
    if mode != 1 or outputs != spec.filters or params.size != inputs * outputs:  # 1: no bias
        raise ModelFormatError(f"a {inputs} -> {outputs} layer of bias mode {mode}")
    if math.prod(shape) != inputs * outputs:
        raise ModelFormatError(f"fully connected weights of shape {shape}")
    del use_bias  # FC_NO_BIAS: the flag has no effect
    return _Layer(spec, params.reshape(inputs, outputs))


def _details(r: _Reader, spec: _Spec) -> _Layer:
    if spec.kind == "con":
        return _con(r, spec)
    if spec.kind == "affine":
        return _affine(r, spec)
    if spec.kind == "relu":
        return _relu(r, spec)
    if spec.kind in ("max_pool", "avg_pool"):
        return _pool_details(r, spec)
    if spec.kind == "add_prev":
        r.tag("a residual sum", ("add_prev_",))
        return _Layer(spec)
    return _fc(r, spec)


def _parse(data: bytes) -> tuple[list[_Layer], tuple[float, float, float]]:
    """The layers, bottom to top, and the input's channel means."""
    r = _Reader(data)
    r.version("the loss layer", (1,))
    if r.tag("the loss", ("loss_metric_", "loss_metric_2")) == "loss_metric_2":
        r.real(), r.real()  # margin and distance threshold (training only)
    specs = _expected()
    versions = []
    for i, spec in enumerate(specs):
        bottom = i == len(specs) - 1  # the layer over the input writes another record
        allowed = (2, 3) if bottom else (1, 2) if spec.wrapper == "layer" else (1,)
        versions.append(r.version(f"a {spec.wrapper} record", allowed))
    kind = r.tag("the input layer", ("input_rgb_image_sized", "input_rgb_image"))
    means = (r.real(), r.real(), r.real())
    if kind == "input_rgb_image_sized":
        size = (r.count("input size"), r.count("input size"))
        if size != (CHIP_SIZE, CHIP_SIZE):
            raise ModelFormatError(f"an input of {size[0]} x {size[1]} pixels")
    layers: list[_Layer] = []
    for i in range(len(specs) - 1, -1, -1):
        spec, version = specs[i], versions[i]
        if spec.wrapper != "layer":
            layers.append(_Layer(spec))
            continue
        layers.append(_details(r, spec))
        for _ in range(3):
            r.boolean()  # set up, gradient stale, output disabled
        r.tensor(), r.tensor()  # gradient and cached output (empty in a saved model)
        if i == len(specs) - 1:
            r.tensor()  # final gradient
            if version >= 3:
                r.count("sample expansion factor")
        elif version == 2:
            r.tensor()  # parameter gradient
    if not r.done:
        raise ModelFormatError(f"{len(r._data) - r.pos} bytes left after the network")
    return layers, means


# --- the forward pass --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Conv:
    """A convolution with the affine map after it folded in, and an optional ReLU."""

    weights: Array  # (size * size * in, out): rows in (y, x, channel) order
    bias: Array
    size: int
    stride: int
    padding: int
    relu: bool


@dataclass(frozen=True)
class _Op:
    """Any other step: relu, max_pool, avg_pool, tag, skip, add_prev, fc."""

    kind: str
    size: int = 0
    stride: int = 1
    tag: int = 0
    weights: Array | None = None


def _compile(layers: list[_Layer]) -> list[_Conv | _Op]:
    """The layers, bottom to top, as steps; each affine map folded into its convolution."""
    steps: list[_Conv | _Op] = []
    i = 0
    while i < len(layers):
        layer, spec = layers[i], layers[i].spec
        i += 1
        if spec.wrapper in ("tag", "skip"):
            steps.append(_Op(spec.wrapper, tag=spec.tag))
        elif spec.kind == "con":
            assert layer.weights is not None
            out = layer.weights.shape[0]
            # dlib's filters are (out, in, y, x) and correlate (no flip); rows (y, x, in) here.
            w = layer.weights.transpose(2, 3, 1, 0).reshape(-1, out).astype(np.float64)
            b = np.zeros(out) if layer.bias is None else layer.bias.astype(np.float64)
            relu = layer.relu
            while i < len(layers) and layers[i].spec.kind in ("affine", "relu") and not relu:
                nxt = layers[i]
                i += 1
                if nxt.disabled:
                    continue
                if nxt.spec.kind == "relu":
                    relu = True
                else:
                    assert nxt.weights is not None
                    assert nxt.bias is not None
                    if nxt.weights.size != out:
                        raise ModelFormatError(f"an affine map of {nxt.weights.size} after {out}")
                    w = w * nxt.weights
                    b = b * nxt.weights + nxt.bias
            steps.append(
                _Conv(
                    np.ascontiguousarray(w, dtype=np.float32),
                    b.astype(np.float32),
                    spec.size,
                    spec.stride,
                    layer.padding,
                    relu,
                )
            )
        elif spec.kind == "affine":
            raise ModelFormatError("an affine map that follows no convolution")
        elif spec.kind == "relu":
            if not layer.disabled:
                steps.append(_Op("relu"))
        elif spec.kind in ("max_pool", "avg_pool"):
            steps.append(_Op(spec.kind, spec.size, spec.stride))
        elif spec.kind == "add_prev":
            steps.append(_Op("add_prev", tag=spec.tag))
        else:
            steps.append(_Op("fc", weights=layer.weights))
    return steps


# A batch's image patches, laid out as rows, outgrow the processor's cache in the network's
# first, largest layers (several MB for eight faces): there each face is one matrix product of
# its own (the same numbers, about a tenth faster); the smaller layers take the batch at once.
_ONE_BY_ONE = 200  # px: a layer whose input is larger than this (rows x columns)


def _conv(x: Array, c: _Conv) -> Array:
    """One convolution of a batch (n, rows, columns, channels): matrix products of patches."""
    if len(x) > 1 and x.shape[1] * x.shape[2] > _ONE_BY_ONE:
        return np.concatenate([_conv_all(x[i : i + 1], c) for i in range(len(x))])
    return _conv_all(x, c)


def _conv_all(x: Array, c: _Conv) -> Array:
    """One convolution of a batch as one matrix product."""
    n, h, w, k = x.shape
    p = c.padding
    if p:
        padded = np.zeros((n, h + 2 * p, w + 2 * p, k), np.float32)
        padded[:, p : p + h, p : p + w] = x
        x = padded
    ho = (x.shape[1] - c.size) // c.stride + 1
    wo = (x.shape[2] - c.size) // c.stride + 1
    sn, sy, sx, sk = x.strides
    patches = as_strided(
        x,
        (n, ho, wo, c.size, c.size, k),
        (sn, sy * c.stride, sx * c.stride, sy, sx, sk),
        writeable=False,
    ).reshape(n * ho * wo, c.size * c.size * k)
    out = patches @ c.weights
    out += c.bias
    if c.relu:
        np.maximum(out, 0, out=out)
    return out.reshape(n, ho, wo, -1)


def _pool(x: Array, size: int, stride: int, average: bool) -> Array:
    """Pooling as dlib's, without padding: windows inside the image only."""
    h, w = x.shape[1:3]
    if size == 0:  # the global average
        mean: Array = x.mean(axis=(1, 2), keepdims=True, dtype=np.float32)
        return mean
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    views = [
        x[:, dy : dy + stride * (ho - 1) + 1 : stride, dx : dx + stride * (wo - 1) + 1 : stride]
        for dy in range(size)
        for dx in range(size)
    ]
    out = views[0].copy()
    for v in views[1:]:
        if average:
            out += v
        else:
            np.maximum(out, v, out=out)
    if average:
        out *= np.float32(1.0 / (size * size))
    return out


def _add(a: Array, b: Array) -> Array:
    """The residual sum (dlib's ``add_prev``): sizes may differ, the missing part counts 0."""
    if a.shape == b.shape:
        return a + b
    shape = tuple(max(i, j) for i, j in zip(a.shape, b.shape, strict=True))
    out = np.zeros(shape, np.float32)
    out[: a.shape[0], : a.shape[1], : a.shape[2], : a.shape[3]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2], : b.shape[3]] += b
    return out


class FaceNet:
    """dlib's face recognition network with the weights of one model file. Thread-safe.

    Build it with :func:`load`.
    """

    def __init__(self, steps: list[_Conv | _Op], means: tuple[float, float, float]) -> None:
        self._steps = steps
        self._means = np.asarray(means, np.float32)

    def describe(self, chips: Sequence[np.ndarray[Any, Any]]) -> Array:
        """The 128-number descriptors of aligned face chips, as dlib computes them.

        Args:
            chips: ``CHIP_SIZE`` px square RGB uint8 chips (``dlib.get_face_chip``).

        Returns:
            One row per chip, float32.

        Raises:
            ValueError: for a chip of another size or type.
        """
        if not chips:
            return np.zeros((0, DESCRIPTOR_SIZE), np.float32)
        for chip in chips:
            if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3) or chip.dtype != np.uint8:
                raise ValueError(f"a face chip must be {CHIP_SIZE} px RGB, not {chip.shape}")
        x: Array = (np.stack(chips).astype(np.float32) - self._means) / np.float32(256)
        tags: dict[int, Array] = {}
        for step in self._steps:
            if isinstance(step, _Conv):
                x = _conv(x, step)
            elif step.kind == "tag":
                tags[step.tag] = x
            elif step.kind == "skip":
                x = tags[step.tag]
            elif step.kind == "relu":
                x = np.maximum(x, 0)
            elif step.kind in ("max_pool", "avg_pool"):
                x = _pool(x, step.size, step.stride, step.kind == "avg_pool")
            elif step.kind == "add_prev":
                x = _add(x, tags[step.tag])
            else:
                assert step.weights is not None
                x = x.reshape(len(x), -1) @ step.weights
        return np.ascontiguousarray(x.reshape(len(chips), DESCRIPTOR_SIZE), dtype=np.float32)


def load(path: Path) -> FaceNet:
    """The network of a dlib face recognition model file.

    Raises:
        ModelFormatError: when the file is not the network this module knows.
        OSError: when it cannot be read.
    """
    layers, means = _parse(path.read_bytes())
    return FaceNet(_compile(layers), means)
