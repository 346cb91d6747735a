from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QSize, QThread

from conftest import SyncExecutor
from twinreview.ui.bridge import BACKGROUND, PREFETCH, URGENT, Bridge
from twinreview.ui.images import ImageCache, decode
from twinreview.ui.loader import ImageLoader, ThumbnailProvider


def test_results_arrive_on_the_gui_thread(qtbot: Any, thread_pool: ThreadPoolExecutor) -> None:
    bridge = Bridge(thread_pool, max_in_flight=2)
    seen: list[tuple[int, bool]] = []
    worker_threads: list[bool] = []

    def job(x: int) -> int:
        worker_threads.append(threading.current_thread() is threading.main_thread())
        return x * 2

    for i in range(5):
        bridge.submit(
            job, i, on_done=lambda r: seen.append((r, QThread.currentThread().isMainThread()))
        )
    qtbot.waitUntil(lambda: len(seen) == 5)
    assert sorted(r for r, _ in seen) == [0, 2, 4, 6, 8]
    assert all(main for _, main in seen)
    assert not any(worker_threads)


def test_priority_and_cancel(qtbot: Any) -> None:
    # One job in flight at a time: the queue order is the priority order.
    bridge = Bridge(SyncExecutor(), max_in_flight=1)
    gate = threading.Event()
    order: list[str] = []
    bridge.submit(gate.set, on_done=lambda _: order.append("first"))
    bridge.submit(lambda: "bg", on_done=order.append, priority=BACKGROUND)
    dropped = bridge.submit(lambda: "dropped", on_done=order.append, priority=URGENT)
    bridge.submit(lambda: "pre", on_done=order.append, priority=PREFETCH)
    bridge.submit(lambda: "urgent", on_done=order.append, priority=URGENT)
    dropped.cancel()
    qtbot.waitUntil(lambda: bridge.pending() == 0)
    assert order == ["first", "urgent", "pre", "bg"]


def test_errors_go_to_on_error_or_job_failed(qtbot: Any) -> None:
    bridge = Bridge(SyncExecutor())
    errors: list[str] = []

    def boom() -> None:
        raise ValueError("bad file")

    bridge.submit(boom, on_done=lambda _: None, on_error=lambda e: errors.append(str(e)))
    qtbot.waitUntil(lambda: errors == ["bad file"])
    with qtbot.waitSignal(bridge.job_failed) as blocker:
        bridge.submit(boom, on_done=lambda _: None)
    assert str(blocker.args[0]) == "bad file"


def test_progress_is_coalesced(qtbot: Any, thread_pool: ThreadPoolExecutor) -> None:
    bridge = Bridge(thread_pool)
    got: list[int] = []
    sink = bridge.progress_sink(got.append)
    done = threading.Event()

    def work() -> None:
        for i in range(10_000):
            sink(i)
        done.set()

    bridge.run_long(work, on_done=lambda _: None)
    qtbot.waitUntil(lambda: done.is_set() and bool(got) and got[-1] == 9999)
    # However fast the worker, the GUI thread saw far fewer updates, in order, ending at the last.
    assert len(got) < 10_000
    assert got == sorted(got)


def _jpeg(path: Path, size: tuple[int, int], orientation: int | None = None) -> Path:
    img = Image.new("RGB", size, (200, 30, 30))
    img.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    img.save(path, "JPEG", exif=exif)
    return path


def test_decode_scales_down_and_keeps_aspect(tmp_path: Path) -> None:
    d = decode(_jpeg(tmp_path / "a.jpg", (4000, 3000)), QSize(800, 800))
    assert d.error is None
    assert (d.image.width(), d.image.height()) == (800, 600)
    assert (d.source_size.width(), d.source_size.height()) == (4000, 3000)
    small = decode(_jpeg(tmp_path / "b.jpg", (100, 50)), QSize(800, 800))
    assert (small.image.width(), small.image.height()) == (100, 50)  # never scaled up


def test_decode_applies_exif_orientation(tmp_path: Path) -> None:
    d = decode(_jpeg(tmp_path / "r.jpg", (400, 200), orientation=6), QSize(100, 100))
    assert (d.source_size.width(), d.source_size.height()) == (200, 400)
    assert (d.image.width(), d.image.height()) == (50, 100)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.jpg", b""),
        ("text.jpg", b"hello, I am not a picture\n" * 10),
        ("truncated.jpg", None),
    ],
)
def test_bad_files_give_a_reason_not_an_exception(
    tmp_path: Path, name: str, data: bytes | None
) -> None:
    path = tmp_path / name
    if data is None:
        full = _jpeg(tmp_path / "full.jpg", (300, 200)).read_bytes()
        data = full[:200]
    path.write_bytes(data)
    d = decode(path, QSize(100, 100))
    assert d.image.isNull()
    assert d.error and d.error.startswith("cannot show this image")


def test_decode_reads_what_qt_cannot_through_pillow(tmp_path: Path) -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    path = tmp_path / "photo.heic"
    Image.new("RGB", (320, 240), (10, 200, 10)).save(path, "HEIF")
    d = decode(path, QSize(160, 160))
    assert d.error is None
    assert (d.image.width(), d.image.height()) == (160, 120)


def test_image_cache_is_lru() -> None:
    cache = ImageCache(capacity=2)
    from twinreview.ui.images import Decoded

    a, b, c = (ImageCache.key(Path(n), QSize(1, 1)) for n in "abc")
    for k in (a, b):
        cache.put(k, Decoded.__new__(Decoded))
    cache.get(a)
    cache.put(c, Decoded.__new__(Decoded))
    assert cache.get(b) is None
    assert cache.get(a) is not None
    assert len(cache) == 2


def test_loader_requests_once_and_caches(qtbot: Any, tmp_path: Path) -> None:
    calls: list[str] = []

    class CountingExecutor(SyncExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            calls.append(str(args[0]))
            return super().submit(fn, *args, **kwargs)

    bridge = Bridge(CountingExecutor())
    loader = ImageLoader(bridge, ImageCache())
    path = _jpeg(tmp_path / "x.jpg", (640, 480))
    with qtbot.waitSignal(loader.image_ready) as blocker:
        loader.request(path, QSize(320, 320))
    assert blocker.args[1].image.width() == 320
    assert loader.cached(path, QSize(320, 320)) is not None
    with qtbot.waitSignal(loader.image_ready):
        loader.request(path, QSize(320, 320))
    assert len(calls) == 1


def test_thumbnails_become_pixmaps_on_the_gui_thread(qtbot: Any, tmp_path: Path) -> None:
    bridge = Bridge(SyncExecutor())
    thumbs = ThumbnailProvider(bridge, QSize(32, 32), lambda: 2.0)
    path = _jpeg(tmp_path / "t.jpg", (640, 480))
    with qtbot.waitSignal(thumbs.thumbnail_ready):
        assert thumbs.get(path) is None
    pixmap = thumbs.get(path)
    assert pixmap is not None
    assert (pixmap.width(), pixmap.height()) == (64, 48)  # device pixels at DPR 2
    assert pixmap.devicePixelRatio() == 2.0
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"nope")
    with qtbot.waitSignal(thumbs.thumbnail_ready):
        thumbs.get(broken)
    assert thumbs.get(broken).isNull()


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    # 1-bit PNG of 12000 x 12000: a tiny file, 144 M pixels (over Pillow's limit).
    Image.new("1", (12000, 12000)).save(path)
    d = decode(path, QSize(100, 100))
    assert d.image.isNull()
    assert d.error is not None and "too large to decode safely" in d.error
