"""Decoding images for display, off the GUI thread.

Everything here runs in workers and returns :class:`QImage` (thread-safe, unlike QPixmap).
Images are decoded at most at the size they will be shown (``QImageReader.setScaledSize`` lets the
JPEG decoder skip most of the work), so a 24 MP photo costs a screen-sized decode, and the cache
holds screen-sized images, never full-size ones. Files Qt cannot read (HEIC, odd TIFFs) go through
Pillow, with its decompression-bomb guard left on.

Even at screen size, a 24 MP JPEG costs its whole entropy decoding (about 60 ms of CPU on a laptop
core). :func:`decode_preview` makes a draft first: libjpeg's 1/8 DCT scaling skips the inverse
transforms and the resampling and takes about two thirds of that, which puts the picture on screen
while the sharp decode finishes. The draft is never cached: it only bridges the wait.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps
from PySide6.QtCore import QFile, QFileDevice, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QImageIOHandler, QImageReader

from twinreview.core.errors import one_line
from twinreview.core.files import NotRegularFile, open_regular

_log = logging.getLogger(__name__)

# Qt refuses images needing more memory than this (MB) before decoding anything; a hostile
# 100 000 x 100 000 PNG costs nothing. A 24 MP photo needs ~92 MB at 32 bits per pixel.
_ALLOCATION_LIMIT_MB = 512

# Below this many pixels a screen-sized decode is quick (a 12 MP JPEG: ~25 ms of CPU); a draft
# would only add work.
PREVIEW_MIN_PIXELS = 16_000_000
# libjpeg scales by n/8 while decoding; 1/8 needs only each block's DC coefficient.
_JPEG_DRAFT_DENOMINATOR = 8


_pillow_lock = threading.Lock()
_pillow_ready = False


@dataclass(frozen=True)
class Decoded:
    """A decoded, display-sized image or the reason it could not be decoded.

    Attributes:
        image: The image (null when ``error`` is set), in a format that paints fast.
        source_size: Size of the full image after EXIF orientation (invalid when unknown).
        error: One-line reason when the file could not be shown.
        preview: True for a quick draft shown until the display-sized image is ready.
    """

    image: QImage
    source_size: QSize
    error: str | None = None
    preview: bool = False


def decode(path: Path, bound: QSize | None) -> Decoded:
    """Decode ``path`` scaled down to fit ``bound`` (never up); ``None`` means full size.

    Never raises for a bad file: the error is in :attr:`Decoded.error`.
    """
    try:
        with _reader(path) as (reader, fh):
            return _decode(reader, fh, path, bound)
    except OSError as exc:  # a FIFO, a folder, a file gone: never a blocking open
        return Decoded(QImage(), QSize(), f"cannot show this image ({os_words(exc)})")


def os_words(exc: OSError) -> str:
    """Why a file could not be opened, in words: no error number, no path."""
    if isinstance(exc, FileNotFoundError):
        return "the file was moved or deleted"
    if isinstance(exc, PermissionError):
        return "this computer may not read the file"
    if isinstance(exc, NotRegularFile | IsADirectoryError):
        return "not an image file: a folder or a special file"
    if exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return one_line(exc)


@contextmanager
def _reader(path: Path) -> Iterator[tuple[QImageReader, BinaryIO]]:
    """A reader on ``path`` opened as a regular file only (a FIFO would block Qt's open).

    Raises:
        OSError: not a regular file, or it cannot be opened.
    """
    with open_regular(path) as fh:
        device = QFile()
        handle = QFileDevice.FileHandleFlag.DontCloseHandle
        if not device.open(fh.fileno(), QIODevice.OpenModeFlag.ReadOnly, handle):
            raise OSError(f"cannot open: {device.errorString()}")
        try:
            yield QImageReader(device), fh
        finally:
            device.close()


def _decode(reader: QImageReader, fh: BinaryIO, path: Path, bound: QSize | None) -> Decoded:
    reader.setDecideFormatFromContent(True)  # never trust the extension
    reader.setAutoTransform(True)  # EXIF orientation
    reader.setAllocationLimit(_ALLOCATION_LIMIT_MB)
    stored = reader.size()
    if stored.isValid() and stored.width() * stored.height() > _max_pixels():
        # The scan reports these as decompression bombs; never allocate for one here either.
        pixels = stored.width() * stored.height()
        return Decoded(
            QImage(),
            QSize(),
            f"cannot show this image (too large to decode safely: {pixels} pixels)",
        )
    rotated = bool(reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90)
    source = stored.transposed() if rotated and stored.isValid() else stored
    too_big = bound is not None and (
        source.width() > bound.width() or source.height() > bound.height()
    )
    if stored.isValid() and bound is not None and not bound.isEmpty() and too_big:
        target = source.scaled(bound, Qt.AspectRatioMode.KeepAspectRatio)
        # The scaled size applies to the stored (unrotated) image.
        reader.setScaledSize(target.transposed() if rotated else target)
    image = reader.read()
    if image.isNull():
        qt_error = reader.errorString()
        fh.seek(0)
        return _decode_with_pillow(fh, path, bound, qt_error)
    return Decoded(_fast_format(image), source if source.isValid() else image.size())


def decode_preview(path: Path, bound: QSize | None) -> Decoded | None:
    """A quick draft of a large JPEG: libjpeg's 1/8 DCT scaling, no resampling.

    Returns None (nothing to show early) when the draft would not help: not a JPEG (only the JPEG
    decoder scales while decoding), small enough to decode at display size quickly, too large to
    decode at all, or a draft at least as large as the display-sized image. Never raises.
    """
    if bound is None or bound.isEmpty():
        return None
    try:
        with _reader(path) as (reader, _fh):
            return _preview(reader, bound)
    except OSError:
        return None  # the full decode reports why


def _preview(reader: QImageReader, bound: QSize) -> Decoded | None:
    reader.setDecideFormatFromContent(True)
    reader.setAutoTransform(True)
    reader.setAllocationLimit(_ALLOCATION_LIMIT_MB)
    if bytes(reader.format().data()) != b"jpeg":
        return None
    stored = reader.size()
    if not stored.isValid():
        return None
    pixels = stored.width() * stored.height()
    if pixels < PREVIEW_MIN_PIXELS or pixels > _max_pixels():
        return None
    rotated = bool(reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90)
    source = stored.transposed() if rotated else stored
    target = source.scaled(bound, Qt.AspectRatioMode.KeepAspectRatio)
    # Exactly libjpeg's output size at 1/8 (rounded up), so Qt adds no resampling pass.
    draft = QSize(
        math.ceil(stored.width() / _JPEG_DRAFT_DENOMINATOR),
        math.ceil(stored.height() / _JPEG_DRAFT_DENOMINATOR),
    )
    if draft.width() * draft.height() >= target.width() * target.height():
        return None
    reader.setScaledSize(draft)
    image = reader.read()
    if image.isNull():
        return None  # the full decode reports why
    return Decoded(_fast_format(image), source, preview=True)


def _max_pixels() -> int:
    # Pillow's decompression-bomb limit, the one the scan applies: one rule for both.
    return int(Image.MAX_IMAGE_PIXELS or 1 << 62)


def _fast_format(image: QImage) -> QImage:
    # Premultiplied ARGB32/RGB32 are what the raster paint engine blits without converting;
    # converting here, in the worker, keeps the conversion off the GUI thread.
    if image.hasAlphaChannel():
        return image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    return image.convertToFormat(QImage.Format.Format_RGB32)


def _decode_with_pillow(fh: BinaryIO, path: Path, bound: QSize | None, qt_error: str) -> Decoded:
    global _pillow_ready
    try:
        with _pillow_lock:
            if not _pillow_ready:
                from pillow_heif import register_heif_opener

                register_heif_opener()
                _pillow_ready = True
        with Image.open(fh) as opened:
            if bound is not None and not bound.isEmpty():
                opened.draft("RGB", (bound.width(), bound.height()))
            im = ImageOps.exif_transpose(opened)
            source = QSize(im.width, im.height)
            if bound is not None and not bound.isEmpty():
                im.thumbnail((bound.width(), bound.height()))
            rgba = im.convert("RGBA")
            data = rgba.tobytes("raw", "RGBA")
            qimage = QImage(
                data, rgba.width, rgba.height, rgba.width * 4, QImage.Format.Format_RGBA8888
            )
            # copy(): the QImage must own its pixels once ``data`` goes away.
            return Decoded(_fast_format(qimage.copy()), source)
    except Exception as exc:  # noqa: BLE001 - any broken or hostile file: report, never crash
        # Broken files are common: the reason is on screen, the traceback only at DEBUG.
        _log.debug("cannot decode %s", path, exc_info=exc)
        reason = one_line(exc)
        if qt_error and qt_error != "Unknown error":
            reason = f"{qt_error}; {reason}"
        return Decoded(QImage(), QSize(), f"cannot show this image ({reason})")


class ImageCache:
    """A small LRU of decoded display images, keyed by path and bound. GUI thread only.

    Holds screen-sized images (about 8 MB each at 1920x1080), so the default of 24 entries stays
    under ~200 MB even on a large screen.
    """

    def __init__(self, capacity: int = 24) -> None:
        self._capacity = capacity
        self._items: OrderedDict[tuple[str, int, int], Decoded] = OrderedDict()

    @staticmethod
    def key(path: Path, bound: QSize | None) -> tuple[str, int, int]:
        """Return the cache key for ``path`` decoded within ``bound``."""
        if bound is None:
            return (str(path), 0, 0)
        return (str(path), bound.width(), bound.height())

    def get(self, key: tuple[str, int, int]) -> Decoded | None:
        """Return the cached image and mark it recently used."""
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: tuple[str, int, int], value: Decoded) -> None:
        """Store ``value``, evicting the least recently used entries."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (a new workspace)."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
