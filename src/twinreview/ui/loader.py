"""GUI-thread front ends for background image decoding: display images and thumbnails.

Both ask the :class:`~twinreview.ui.bridge.Bridge` to decode in a worker (see
:mod:`twinreview.ui.images`) and keep the results; thumbnails become QPixmaps here, on the GUI
thread, because a worker must never create one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtGui import QPixmap

from twinreview.ui.bridge import BACKGROUND, URGENT, Bridge, Task
from twinreview.ui.images import Decoded, ImageCache, decode, decode_preview

Key = tuple[str, int, int]


class ImageLoader(QObject):
    """Loads display-sized images in the background and caches them (GUI thread only).

    Signals:
        image_ready(key, Decoded): a requested image has been decoded (or failed). For a
            progressive request a draft (``Decoded.preview``) may come first, under the same key;
            it never comes after the display-sized image.
    """

    image_ready = Signal(object, object)

    def __init__(self, bridge: Bridge, cache: ImageCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._cache = cache
        self._tasks: dict[Key, Task[Decoded]] = {}
        self._priorities: dict[Key, int] = {}
        self._previews: dict[Key, Task[Decoded | None]] = {}

    @property
    def cache(self) -> ImageCache:
        """The cache of decoded images."""
        return self._cache

    def cached(self, path: Path, bound: QSize | None) -> Decoded | None:
        """Return the decoded image when it is already in the cache."""
        return self._cache.get(ImageCache.key(path, bound))

    def request(
        self, path: Path, bound: QSize | None, priority: int = URGENT, *, progressive: bool = False
    ) -> Key:
        """Make sure ``path`` at ``bound`` gets decoded; returns its key.

        ``image_ready`` follows once it is available (even when it was already cached, so callers
        have one code path). A request already queued at a lower priority is re-queued at the
        higher one: the image the user now waits for must not sit behind prefetches.

        ``progressive``: the user is waiting for this image; when it is a large JPEG, decode a
        quick draft first (queued just ahead of the full decode) and announce it too.
        """
        key = ImageCache.key(path, bound)
        hit = self._cache.get(key)
        if hit is not None:
            self.image_ready.emit(key, hit)
            return key
        running = self._tasks.get(key)
        if progressive and key not in self._previews and not (running and running.future):
            self._previews[key] = self._bridge.submit(
                decode_preview,
                path,
                bound,
                on_done=partial(self._on_preview, key),
                priority=priority,
            )
        if running is not None:
            started = running.future is not None
            if started or self._priorities.get(key, BACKGROUND) <= priority:
                return key
            running.cancel()
        self._priorities[key] = priority
        self._tasks[key] = self._bridge.submit(
            decode,
            path,
            bound,
            on_done=partial(self._on_decoded, key),
            priority=priority,
        )
        return key

    def cancel_all(self) -> None:
        """Drop every pending request (another workspace was opened)."""
        for task in self._tasks.values():
            task.cancel()
        for preview in self._previews.values():
            preview.cancel()
        self._tasks.clear()
        self._priorities.clear()
        self._previews.clear()

    def _on_decoded(self, key: Key, decoded: Decoded) -> None:
        self._tasks.pop(key, None)
        self._priorities.pop(key, None)
        preview = self._previews.pop(key, None)
        if preview is not None:
            preview.cancel()  # too late to help
        self._cache.put(key, decoded)
        self.image_ready.emit(key, decoded)

    def _on_preview(self, key: Key, decoded: Decoded | None) -> None:
        self._previews.pop(key, None)
        # None: not worth a draft. Once the full image is cached the draft is stale.
        if decoded is None or decoded.error or self._cache.get(key) is not None:
            return
        self.image_ready.emit(key, decoded)


class ThumbnailProvider(QObject):
    """Small pixmaps for lists, decoded in the background with scaled reads.

    Signals:
        thumbnail_ready(path): a thumbnail for ``path`` (a str) is now available.
    """

    thumbnail_ready = Signal(str)

    def __init__(
        self,
        bridge: Bridge,
        size: QSize,
        device_pixel_ratio: Callable[[], float] | None = None,
        capacity: int = 4000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._size = size
        self._dpr = device_pixel_ratio or (lambda: 1.0)
        self._capacity = capacity
        self._pixmaps: OrderedDict[str, QPixmap | None] = OrderedDict()
        self._pending: dict[str, Task[Decoded]] = {}

    @property
    def size(self) -> QSize:
        """The logical size thumbnails fit in."""
        return self._size

    def get(self, path: Path) -> QPixmap | None:
        """Return the thumbnail, or None while it loads (a load is then scheduled).

        A file that cannot be decoded yields a null QPixmap (not None), so it is asked only once.
        """
        key = str(path)
        if key in self._pixmaps:
            self._pixmaps.move_to_end(key)
            return self._pixmaps[key] or QPixmap()
        if key not in self._pending:
            dpr = self._dpr()
            bound = QSize(round(self._size.width() * dpr), round(self._size.height() * dpr))
            self._pending[key] = self._bridge.submit(
                decode,
                path,
                bound,
                on_done=partial(self._on_decoded, key, dpr=dpr),
                priority=BACKGROUND,
            )
        return None

    def clear(self) -> None:
        """Forget all thumbnails and pending loads."""
        for task in self._pending.values():
            task.cancel()
        self._pending.clear()
        self._pixmaps.clear()

    def _on_decoded(self, key: str, decoded: Decoded, *, dpr: float) -> None:
        self._pending.pop(key, None)
        if decoded.error is None and not decoded.image.isNull():
            pixmap = QPixmap.fromImage(decoded.image)
            pixmap.setDevicePixelRatio(dpr)
            self._pixmaps[key] = pixmap
        else:
            self._pixmaps[key] = None
        while len(self._pixmaps) > self._capacity:
            self._pixmaps.popitem(last=False)
        self.thumbnail_ready.emit(key)
