"""Building the services the app and the CLI share.

Both front ends are composition roots: each calls these functions once at start-up and passes the
results down. Nothing here is cached in module globals.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

from twinreview.services import paths
from twinreview.services.disclosure import DisclosureService
from twinreview.services.imaging import configure_imaging
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.faces import FaceEngine
from twinreview.services.scan.history import rejected_provider
from twinreview.services.scan.service import ScanService


def default_cache_path() -> Path:
    """The scan cache database, in the user cache dir (``TWINREVIEW_CACHE_DIR`` overrides)."""
    return paths.cache_dir() / "scan-cache.sqlite3"


def default_data_dir() -> Path:
    """Where twinreview keeps its own data, such as the default demo workspace."""
    return paths.data_dir()


def make_executor() -> ThreadPoolExecutor:
    """One worker thread per core: decoding and resizing release the GIL."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="twinreview")


def make_scan_service(
    executor: Executor, cache: ResultCache, *, faces: bool = True, defer_saves: bool = False
) -> ScanService:
    """Return a scan service wired with disclosure checks, rejected-asset history and faces.

    The disclosure settings (trust anchors, label) and the rejected assets come from each
    workspace when it is scanned, so one service serves every workspace the app opens. The face
    models load lazily, in each worker thread, the first time a face is looked for;
    ``faces=False`` leaves the likeness check out (the benchmarks' scan figures are without it).
    ``defer_saves``: see :class:`ScanService` (for a long-lived scan process).
    """
    configure_imaging()
    return ScanService(
        executor,
        cache,
        inspector_factory=DisclosureService.for_workspace,
        rejected_provider=rejected_provider,
        face_engine=FaceEngine() if faces else None,
        defer_saves=defer_saves,
    )
