"""Finding faces and computing their embeddings with dlib's models, offline.

Models: dlib's HOG frontal face detector (built into dlib), the 5-point landmark model and the
ResNet face descriptor from the ``face-recognition-models`` wheel. Only those two model files are
used, loaded by path. That package's own ``__init__`` imports ``pkg_resources``, so it is never
imported: its folder is found with ``importlib.util.find_spec`` (which does not run it). Nothing
is ever downloaded. In a frozen app the two files sit in ``face_recognition_models/models`` under
the bundle; ``TWINREVIEW_FACE_MODELS`` names another folder holding them.

Detection strategy (measured on the shared face corpus and on full-length shots whose face is 5%
of the image height): the quick pass (:meth:`FaceEngine.locate`) runs on the reduced decode the
scan already made for its hashes (a 12 MP JPEG decoded at 1/8, about 500 px; 12-17 ms), so a
photo is decoded once for both. A larger decode (a PNG's, a reference photo's 1000 px) is
reduced to :data:`QUICK_SIDE` (a reference's to :data:`REFERENCE_QUICK_SIDE`) for the detector,
whose cost grows with the area; the chips are taken from the larger decode. It is accepted when
every face it finds is at least :data:`QUICK_MIN_FACE` px in the image its chips come from
(the chip is not enlarged much). When it finds a face smaller
than that, every face it found is aligned where it found it on the image reduced to at most
1024 px on its long side (a 12 MP JPEG decoded at 1/4, 1000 px: about 30 ms): described as well
as by looking for it again there, which would cost twice as much again; as beside a face large
enough, faces too small for the quick pass to see at all are then not looked for. When it finds
no face, the full passes run: that 1024 px image, without upsampling (about 60 ms), scanning
only the pyramid levels of the faces too small for the quick pass, and only when that finds no
face, at twice that size (taken from
the original's pixels where it has them, otherwise dlib's pyramid upsampling), which finds faces
down to about 30-40 px of the reduced image, scanning only the pyramid levels the first pass
could not (:data:`ENLARGED_LEVELS`). Each face is then aligned on 5 landmarks into a 150 px chip
(``dlib.get_face_chip``), and described by 128 numbers (:meth:`FaceEngine.describe`): dlib's
network with the model file's own weights, run with numpy (:mod:`twinreview.services.scan.facenet`,
about 7 ms per face on one core, where dlib's own build, without BLAS, takes about 70 ms). When
the model file is not in the format that module reads, dlib's own network is used (a warning in
the log).

dlib's detector and network are not safe to share between threads: each face pass borrows a
loaded set from a small pool (at most ``MAX_SETS``) and gives it back. The numpy network holds
no state: read once per process, it serves every thread. The engine never raises for bad input:
a file that cannot be decoded, or missing model files, give a :class:`FaceScan` with an
``error``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from twinreview.core.imageio import ImageLoadError, load_image
from twinreview.core.likeness.model import Box, Face, FaceScan
from twinreview.core.similarity import hashing
from twinreview.services.scan import facenet

_log = logging.getLogger(__name__)

# Bump when the detection strategy, the sizes or the stored fields change.
ENGINE_VERSION = "5"

QUICK_MIN_SIDE = hashing.MIN_SIDE  # the quick pass runs on the scan's own decode (its short side)
QUICK_SIDE = 640  # px: the quick pass detects on at most this long a side
# A reference photo's quick pass detects on less: its decode (1000 px for a 12 MP JPEG) is made
# for its fine image, and at this size the detector costs what it costs on an asset's decode.
# A face too small to be seen here is looked for by the full passes, once per photo.
REFERENCE_QUICK_SIDE = 512
QUICK_MIN_FACE = 80  # px: a face smaller in its chip's image is aligned on a larger decode
CHIP_SIZE = 150  # the descriptor's input

DETECT_SIDE = 1024  # long side of the cheap first pass
UPSAMPLE_FACTOR = 2  # the second pass, only when the first found nothing
# The second pass looks for the faces the first was too small for: dlib's image pyramid shrinks
# by 5/6 a level from an 80 px window, so levels 0-4 of the doubled image find faces of about 30
# to 120 px of the first pass's image, which finds them from about 60 px up (measured on the
# corpus). The smaller levels would only look again where the first pass looked (a fifth of the
# second pass's time).
ENLARGED_LEVELS = 5
DETECT_THRESHOLD = 0.0  # dlib's default detection score cut
CHIP_PADDING = 0.25  # dlib's default margin around the aligned face

SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
MODEL_FILES = (SHAPE_MODEL, DESCRIPTOR_MODEL)
MODELS_ENV = "TWINREVIEW_FACE_MODELS"


def find_model_dir() -> Path | None:
    """The folder holding the two model files, or None when it cannot be found.

    Looks at ``TWINREVIEW_FACE_MODELS``, then in a frozen app's bundle, then in the installed
    ``face_recognition_models`` package (found without importing it).
    """
    candidates: list[Path] = []
    override = os.environ.get(MODELS_ENV)
    if override:
        candidates.append(Path(override))
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidates.append(Path(frozen) / "face_recognition_models" / "models")
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "models" for p in spec.submodule_search_locations]
    for c in candidates:
        if all((c / name).is_file() for name in MODEL_FILES):
            return c
    return None


def _dlib() -> Any:
    """The dlib module, imported on first use: a scan without the face check never loads it.

    Raises:
        ImportError: when dlib is not installed.
    """
    import dlib  # type: ignore[import-untyped]

    return dlib


class _Models:
    """One thread's dlib detector and landmark model, and dlib's own descriptor network.

    The network is loaded on first use (0.3 s and 30 MB): only when the numpy one cannot be used.
    """

    def __init__(self, model_dir: Path) -> None:
        dlib = _dlib()
        self._dir = model_dir
        self.detector = dlib.get_frontal_face_detector()
        self._limited: dict[int, Any] = {}
        self.small_faces = self.limited(ENLARGED_LEVELS)
        self.shape = dlib.shape_predictor(str(model_dir / SHAPE_MODEL))
        self._net: Any = None

    def limited(self, levels: int) -> Any:
        """The detector scanning only the ``levels`` largest levels of its image pyramid."""
        if levels not in self._limited:
            self._limited[levels] = _with_levels(self.detector, levels)
        return self._limited[levels]

    @property
    def net(self) -> Any:
        if self._net is None:
            self._net = _dlib().face_recognition_model_v1(str(self._dir / DESCRIPTOR_MODEL))
        return self._net


# dlib's frontal face detector as it serializes itself (dlib/image_processing/object_detector.h
# and scan_fhog_pyramid.h): object detector version 2, scanner version 1, no cached features, 8 px
# cells, no padding, an 80 x 80 px window; then the number of pyramid levels (1000: no limit).
_DETECTOR_HEAD = bytes.fromhex("0102 0101 0100 0100 0108 0100 0150 0150")
_NO_LIMIT = bytes.fromhex("02e803")


def _with_levels(detector: Any, levels: int) -> Any:
    """The detector, scanning only the ``levels`` largest levels of the image pyramid.

    Built from the detector's own serialized state with that one number changed; when the state
    is not the one expected (another dlib), the detector itself (every level: the same faces,
    slower).
    """
    try:
        state = detector.__getstate__()[0]
        head = len(_DETECTOR_HEAD)
        if state[:head] != _DETECTOR_HEAD or state[head : head + 3] != _NO_LIMIT:
            return detector
        cls: Any = type(detector)
        limited = cls.__new__(cls)
        limited.__setstate__((state[:head] + bytes([1, levels]) + state[head + 3 :],))
        return limited
    except (AttributeError, TypeError, IndexError, RuntimeError, ValueError):
        return detector


# Loaded models, by folder. dlib's detector and network must not be used by two threads at once:
# each face pass borrows a set (loading one only when every set is busy) and gives it back, so a
# process loads as many sets as it ran face passes at once, whatever the number of engines, scans
# and thread pools. At most MAX_SETS: dlib holds the interpreter lock while it runs, so more
# threads would not go faster, only take more memory (a borrower waits for a set instead).
MAX_SETS = 4
_FREE: dict[Path, list[_Models]] = {}
_LOADED: dict[Path, int] = {}
_POOL = threading.Condition()


def _borrow(model_dir: Path) -> _Models:
    with _POOL:
        while True:
            free = _FREE.get(model_dir)
            if free:
                return free.pop()
            if _LOADED.get(model_dir, 0) < MAX_SETS:
                _LOADED[model_dir] = _LOADED.get(model_dir, 0) + 1
                break
            _POOL.wait()
    try:
        return _Models(model_dir)
    except BaseException:
        with _POOL:
            _LOADED[model_dir] -= 1
            _POOL.notify()
        raise


def _give_back(model_dir: Path, models: _Models) -> None:
    with _POOL:
        _FREE.setdefault(model_dir, []).append(models)
        _POOL.notify()


# The numpy descriptor network, by model file (its path, size and change time): read once per
# process (0.05 s, 22 MB of weights), like the pool above, whatever the number of engines. The
# network holds no state, so every thread shares it. None: the file is not in the format
# facenet reads, and dlib's own network is used (said once in the log).
_NETS: dict[tuple[Path, int, int], facenet.FaceNet | None] = {}
_NETS_LOCK = threading.Lock()


def _numpy_network(path: Path) -> facenet.FaceNet | None:
    try:
        st = path.stat()
    except OSError:
        return None  # dlib's loader says why
    key = (path, st.st_size, st.st_mtime_ns)
    with _NETS_LOCK:
        if key not in _NETS:
            try:
                _NETS[key] = facenet.load(path)
            except (facenet.ModelFormatError, OSError, MemoryError) as exc:
                _NETS[key] = None
                _log.warning(
                    "face descriptor model %s not read (%s): using dlib's own network, "
                    "about ten times slower",
                    path,
                    exc,
                )
        return _NETS[key]


class _ModelsUnavailable(Exception):
    """The model files could not be loaded (the message says why)."""


@dataclass(frozen=True, eq=False)
class Located:
    """Faces found and aligned, not yet described.

    Attributes:
        chips: Each face's aligned chip (``CHIP_SIZE`` px square, RGB uint8), best first.
        boxes: Where each face is (fractions of the image).
        scores: The detector's confidence per face.
        upsampled: Found by an enlarged pass.
    """

    chips: tuple[np.ndarray[Any, Any], ...]
    boxes: tuple[Box, ...]
    scores: tuple[float, ...]
    upsampled: bool = False

    @property
    def nbytes(self) -> int:
        """Memory the chips take."""
        return sum(c.nbytes for c in self.chips)


@dataclass(frozen=True)
class Sighted:
    """Faces the quick pass found, one at least too small to describe from its decode.

    The larger decode aligns them where they were found (:meth:`FaceEngine.find`), without
    looking for faces again: as beside a face large enough to describe, faces too small for the
    quick pass to see are looked for only when it sees none.

    Attributes:
        rects: Where each face is: (left, top, right, bottom) as fractions of the image.
        scores: The detector's confidence per face.
        side: The long side, in px, of the image whose chips would have been too small.
    """

    rects: tuple[tuple[float, float, float, float], ...]
    scores: tuple[float, ...]
    side: int


def detection_image(grey: Image.Image, side: int) -> tuple[Image.Image, float]:
    """What the quick pass's detector looks at: ``grey`` reduced to a long side of ``side`` px.

    Returns:
        The image (``grey`` itself when it is no larger), and by how much it was reduced.
    """
    if max(grey.size) <= side:
        return grey, 1.0
    scale = max(grey.size) / side
    reduced = grey.resize(
        (round(grey.width / scale), round(grey.height / scale)),
        Image.Resampling.BILINEAR,
        reducing_gap=2.0,
    )
    return reduced, scale


class FaceEngine:
    """Finds faces and computes their embeddings. Build once; safe to use from many threads.

    Args:
        model_dir: Folder with the two model files; None to look for them (:func:`find_model_dir`).
    """

    def __init__(self, model_dir: Path | None = None) -> None:
        self._dir = model_dir if model_dir is not None else find_model_dir()
        self._problem = self._check()

    def _check(self) -> str | None:
        try:
            _dlib()
        except ImportError as exc:
            return f"the face library (dlib) is not installed ({exc})"
        if self._dir is None:
            return (
                "the face model files are missing (install the face-recognition-models "
                f"package, or set {MODELS_ENV} to a folder with {' and '.join(MODEL_FILES)})"
            )
        missing = [n for n in MODEL_FILES if not (self._dir / n).is_file()]
        if missing:
            return f"the face model file {missing[0]} is missing from {self._dir}"
        return None

    @property
    def problem(self) -> str | None:
        """Why faces cannot be looked for on this machine (one sentence), or None."""
        return self._problem

    @property
    def version(self) -> str:
        """Cache version: changes with the engine's strategy and with dlib's version."""
        try:
            lib = str(getattr(_dlib(), "__version__", "?"))
        except ImportError:
            lib = "none"
        return f"faces/{ENGINE_VERSION}/dlib-{lib}/{DETECT_SIDE}x{UPSAMPLE_FACTOR}"

    def numpy_network(self) -> facenet.FaceNet | None:
        """The descriptor network read from the model file for numpy, or None.

        None when dlib's own network is used: the file is not in the format :mod:`facenet`
        reads (logged once).
        """
        if self._problem is not None:
            return None
        assert self._dir is not None
        return _numpy_network(self._dir / DESCRIPTOR_MODEL)

    def scan_bytes(
        self,
        data: bytes,
        *,
        width: int | None = None,
        height: int | None = None,
        quick: bool = True,
        covered: int = 0,
        sighted: Sighted | None = None,
    ) -> FaceScan:
        """The faces in an image file's bytes, described. Never raises.

        Args:
            data: The file's bytes.
            width: The original's width, when known (lets JPEG decoding stop at the size needed).
            height: The original's height, when known.
            quick: Try the quick pass first; False when it ran already (in the scan's first
                phase) and found nothing usable.
            covered: When ``quick`` is False: the long side, in px, of the image that quick
                pass looked at, finding no face at all (:meth:`quick`); 0 when not known.
            sighted: When ``quick`` is False: the faces that quick pass found too small to
                describe (:meth:`quick`), aligned on the larger decode where they are.
        """
        found = self.find(
            data, width=width, height=height, quick=quick, covered=covered, sighted=sighted
        )
        return found if isinstance(found, FaceScan) else self.describe(found)

    def find(
        self,
        data: bytes,
        *,
        width: int | None = None,
        height: int | None = None,
        quick: bool = True,
        covered: int = 0,
        sighted: Sighted | None = None,
    ) -> Located | FaceScan:
        """The faces in an image file's bytes, found and aligned, not described. Never raises.

        The quick pass (:meth:`locate`) on the scan's own reduced decode; when it finds a face
        too small to describe from that decode, the faces it found aligned on a larger decode;
        when it finds none, the full passes on larger decodes, looking only for the faces too
        small for the quick pass (``covered`` and ``sighted``: as :meth:`scan_bytes`).

        Returns:
            The located faces (maybe none), or a FaceScan with the error.
        """
        if self._problem is not None:
            return FaceScan(error=self._problem)
        if not quick and width and height:
            return self._full(data, width, height, covered, sighted)
        try:
            small = load_image(data, min_side=QUICK_MIN_SIDE)
        except ImageLoadError as exc:
            return FaceScan(error=f"the image could not be read ({exc})")
        located, covered = self.quick(small.image)
        if isinstance(located, Sighted):
            return self._full(data, small.width, small.height, 0, located)
        if located is not None:
            return located
        return self._full(data, small.width, small.height, covered)

    def locate(
        self, image: Image.Image, grey: Image.Image | None = None
    ) -> Located | FaceScan | None:
        """The quick pass: find and align the faces of an already decoded image. Never raises.

        The scan runs it on the decode it made for the hashes, so a photo is decoded once for
        both. Describing the faces (:meth:`describe`) is left for later.

        Args:
            image: The decoded image.
            grey: Its grey levels (mode ``L``), when the caller has them already.

        Returns:
            The located faces; None when there is none, or one is smaller than
            :data:`QUICK_MIN_FACE` px here (then :meth:`scan_bytes` looks on larger decodes);
            a FaceScan with the error when the models cannot be used.
        """
        found = self.quick(image, grey)[0]
        return None if isinstance(found, Sighted) else found

    def quick(
        self, image: Image.Image, grey: Image.Image | None = None, *, side: int = QUICK_SIDE
    ) -> tuple[Located | Sighted | FaceScan | None, int]:
        """:meth:`locate`, and what the larger decodes need not look for again. Never raises.

        ``side``: the long side, in px, the detector looks at (a larger image is reduced to
        it, its chips taken from the image itself).

        Returns:
            The located faces; :class:`Sighted` when one it found is smaller than
            :data:`QUICK_MIN_FACE` px (the larger decode aligns them all where they are); None
            when it found none; a FaceScan with the error when the models cannot be used. And
            when it found none: the long side in px of the image it looked at (the ``covered``
            of :meth:`scan_bytes`: the larger decodes look only for faces too small for it); 0
            otherwise.
        """
        if self._problem is not None:
            return FaceScan(error=self._problem), 0
        try:
            with self._models() as m:
                if grey is None or grey.size != image.size:
                    grey = image.convert("L")
                # A larger decode (a reference photo's, a PNG's): detected reduced, the chips
                # taken from the full decode.
                grey, scale = detection_image(grey, side)
                rects, scores, _ = m.detector.run(np.asarray(grey), 0, DETECT_THRESHOLD)
                if not len(rects):
                    return None, max(grey.size)
                if min(r.width() for r in rects) * scale < QUICK_MIN_FACE:
                    # A face too small to describe from the image: the larger decode aligns
                    # every face found where it was found (finding them again would scan its
                    # whole pyramid, three times the cost of this decode and look).
                    w, h = grey.size
                    return Sighted(
                        tuple(
                            (r.left() / w, r.top() / h, (r.right() + 1) / w, (r.bottom() + 1) / h)
                            for r in rects
                        ),
                        tuple(float(x) for x in scores),
                        max(image.size),
                    ), 0
                if scale != 1.0:
                    dlib = _dlib()
                    rects = [
                        dlib.rectangle(
                            round(r.left() * scale),
                            round(r.top() * scale),
                            round((r.right() + 1) * scale) - 1,
                            round((r.bottom() + 1) * scale) - 1,
                        )
                        for r in rects
                    ]
                return self._align(m, image, rects, scores, False), 0
        except _ModelsUnavailable as exc:
            return FaceScan(error=str(exc)), 0
        except (RuntimeError, ValueError, MemoryError) as exc:
            _log.warning("face detection failed", exc_info=exc)
            return FaceScan(error=f"face detection failed ({exc})"), 0

    def describe(self, located: Located) -> FaceScan:
        """The embeddings of located faces (about 7 ms per face on one core). Never raises."""
        return self.describe_all([located])[0]

    def describe_all(self, located: Sequence[Located]) -> list[FaceScan]:
        """The embeddings of the faces of several files, in one run of the network. Never raises.

        The numpy network reads a batch of chips as one matrix in its smaller layers (each chip
        on its own in the largest, whose patches would outgrow the cache): a face costs about a
        quarter less in a batch of eight than alone (the same numbers either way).

        Returns:
            One FaceScan per item of ``located``, in that order.
        """
        if self._problem is not None:
            return [FaceScan(error=self._problem) for _ in located]
        chips = [chip for one in located for chip in one.chips]
        if not chips:
            return [FaceScan((), None, one.upsampled) for one in located]
        try:
            net = self.numpy_network()
            embeddings = list(net.describe(chips)) if net is not None else None
        except (RuntimeError, ValueError, MemoryError) as exc:
            if len(located) > 1:  # one file's failure is its own, never its batch's
                return [self.describe_all([one])[0] for one in located]
            _log.warning("face description failed", exc_info=exc)
            return [FaceScan(error=f"face detection failed ({exc})")]
        out = []
        for one in located:
            if embeddings is None:
                out.append(self._describe_with_dlib(one))
                continue
            mine, embeddings = embeddings[: len(one.chips)], embeddings[len(one.chips) :]
            faces = tuple(
                Face(box, embedding, score)
                for embedding, box, score in zip(mine, one.boxes, one.scores, strict=True)
            )
            out.append(FaceScan(faces, None, one.upsampled))
        return out

    def _describe_with_dlib(self, located: Located) -> FaceScan:
        """The embeddings of located faces from dlib's own network (the fallback)."""
        if not located.chips:
            return FaceScan((), None, located.upsampled)
        try:
            with self._models() as m:
                try:
                    dlib_net = m.net
                except (RuntimeError, OSError) as exc:
                    raise _ModelsUnavailable(
                        f"the face model files could not be loaded ({exc})"
                    ) from None
                embeddings = [
                    np.asarray(dlib_net.compute_face_descriptor(chip, 0), dtype=np.float32)
                    for chip in located.chips
                ]
            faces = tuple(
                Face(box, embedding, score)
                for embedding, box, score in zip(
                    embeddings, located.boxes, located.scores, strict=True
                )
            )
            return FaceScan(faces, None, located.upsampled)
        except _ModelsUnavailable as exc:
            return FaceScan(error=str(exc))
        except (RuntimeError, ValueError, MemoryError) as exc:
            _log.warning("face description failed", exc_info=exc)
            return FaceScan(error=f"face detection failed ({exc})")

    def _full(
        self, data: bytes, width: int, height: int, covered: int, sighted: Sighted | None = None
    ) -> Located | FaceScan:
        """The full passes: at :data:`DETECT_SIDE`, then enlarged.

        ``covered``: the long side the quick pass looked at (0: unknown); the first full pass
        scans only the pyramid levels for the faces too small there. ``sighted``: the faces the
        quick pass found, aligned at :data:`DETECT_SIDE` where they are, when that decode is
        larger than the quick pass's image (otherwise the full passes run, looking everywhere).
        """
        try:
            loaded = load_image(data, **_load_sizes(width, height, DETECT_SIDE))
        except ImageLoadError as exc:
            return FaceScan(error=f"the image could not be read ({exc})")
        if sighted is not None:
            if max(loaded.image.size) * 2 >= sighted.side * 3:
                return self._place(loaded.image, sighted)
            covered = 0
        levels = _levels_below(max(loaded.image.size), covered)
        if max(loaded.width, loaded.height) >= UPSAMPLE_FACTOR * max(loaded.image.size):
            # The original has the pixels for the enlarged pass: decode them if it is needed.
            side = UPSAMPLE_FACTOR * max(loaded.image.size)

            def load_big() -> Image.Image | None:
                try:
                    return load_image(data, **_load_sizes(loaded.width, loaded.height, side)).image
                except ImageLoadError:
                    return None

            return self._scan(loaded.image, load_big, levels)
        return self._scan(loaded.image, None, levels)

    def _place(self, image: Image.Image, sighted: Sighted) -> Located | FaceScan:
        """The faces the quick pass found, aligned on a larger decode of the same image."""
        w, h = image.size
        try:
            with self._models() as m:
                dlib = _dlib()
                rects = [
                    dlib.rectangle(
                        round(left * w), round(top * h), round(right * w) - 1, round(bottom * h) - 1
                    )
                    for left, top, right, bottom in sighted.rects
                ]
                return self._align(m, image, rects, sighted.scores, False)
        except _ModelsUnavailable as exc:
            return FaceScan(error=str(exc))
        except (RuntimeError, ValueError, MemoryError) as exc:
            _log.warning("face alignment failed", exc_info=exc)
            return FaceScan(error=f"face detection failed ({exc})")

    @contextlib.contextmanager
    def _models(self) -> Iterator[_Models]:
        assert self._dir is not None
        try:
            models = _borrow(self._dir)
        except (RuntimeError, OSError, ImportError) as exc:
            raise _ModelsUnavailable(f"the face model files could not be loaded ({exc})") from None
        try:
            yield models
        finally:
            _give_back(self._dir, models)

    def _scan(self, small: Image.Image, load_big: Any, levels: int | None) -> Located | FaceScan:
        try:
            with self._models() as m:
                return self._detect(m, small, load_big, levels)
        except _ModelsUnavailable as exc:
            return FaceScan(error=str(exc))
        except (RuntimeError, ValueError, MemoryError) as exc:
            _log.warning("face detection failed", exc_info=exc)  # a finding says it in a line
            return FaceScan(error=f"face detection failed ({exc})")

    def _detect(self, m: _Models, small: Image.Image, load_big: Any, levels: int | None) -> Located:
        # The detector runs on grey levels (a fifth cheaper than on colour, the same faces on
        # the corpus); the descriptor needs the colour image (made only when a face is found).
        if levels != 0:
            detector = m.detector if levels is None else m.limited(levels)
            rects, scores, _ = detector.run(np.asarray(small.convert("L")), 0, DETECT_THRESHOLD)
            if len(rects):
                return self._align(m, small, rects, scores, False)
        big = load_big() if load_big is not None else None
        if big is not None:
            rects, scores, _ = m.small_faces.run(np.asarray(big.convert("L")), 0, DETECT_THRESHOLD)
            return self._align(m, big, rects, scores, True)
        # No larger original: let dlib enlarge the image (pyramid up) for the second pass.
        rects, scores, _ = m.small_faces.run(
            np.asarray(small.convert("L")), UPSAMPLE_FACTOR // 2, DETECT_THRESHOLD
        )
        return self._align(m, small, rects, scores, True)

    @staticmethod
    def _align(m: _Models, image: Image.Image, rects: Any, scores: Any, upsampled: bool) -> Located:
        """Each face's landmarks and its aligned chip (what the descriptor reads), best first."""
        if not len(rects):
            return Located((), (), (), upsampled)
        arr = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        h, w = arr.shape[:2]
        chips, boxes, kept = [], [], []
        for rect, score in sorted(zip(rects, scores, strict=True), key=lambda rs: -rs[1]):
            shape = m.shape(arr, rect)
            chips.append(np.asarray(_dlib().get_face_chip(arr, shape, CHIP_SIZE, CHIP_PADDING)))
            # Rounded as the cache stores them, so a fresh scan and a cached one agree exactly.
            boxes.append(
                (
                    _clamp(rect.left() / w),
                    _clamp(rect.top() / h),
                    _clamp((rect.right() + 1) / w),
                    _clamp((rect.bottom() + 1) / h),
                )
            )
            kept.append(round(float(score), 4))
        return Located(tuple(chips), tuple(boxes), tuple(kept), upsampled)


def _levels_below(side: int, covered: int) -> int | None:
    """Pyramid levels to scan at long side ``side`` for the faces too small at ``covered``.

    None for every level (``covered`` 0: no look at all), 0 for none. The detector finds
    faces from 80 px up, each level 5/6 of the one before: the faces from 80 px to
    ``80 * side / covered`` px, with one level more where the two looks meet.
    """
    if covered <= 0:
        return None
    if side <= covered:
        return 0
    return math.ceil(math.log(side / covered) / math.log(6 / 5)) + 1


def _clamp(v: float) -> float:
    return round(min(1.0, max(0.0, v)), 5)


def _load_sizes(width: int | None, height: int | None, side: int) -> dict[str, int]:
    """``load_image`` sizes giving a long side of about ``side``.

    A JPEG decodes directly at 1/2, 1/4 or 1/8 of its size (draft mode): when one of those
    lands between 90 % of ``side`` and ``side`` it is taken as it is (a 12 MP photo: 1000 px at
    1/4, 2000 px at 1/2), costing a fraction of a larger decode reduced afterwards.
    """
    if width and height and width > 0 and height > 0:
        long, short = max(width, height), min(width, height)
        for scale in (1, 2, 4, 8):
            if 0.9 * side <= long / scale <= side and short // scale > 0:
                return {"min_side": short // scale, "max_side": side}
        return {"min_side": max(1, int(short * side / long)), "max_side": side}
    return {"min_side": side // 2, "max_side": side}
