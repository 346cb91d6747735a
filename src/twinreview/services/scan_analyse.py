"""Phase 1 of a scan: read every file once, hash, decode, fingerprint and inspect it.

From one read of each reference photo and asset come its sha256, one reduced decode (see
:mod:`twinreview.core.imageio`), every cheap hash (:func:`twinreview.core.hashing.fingerprint`)
and, for an asset when an inspector is given, the disclosure report. Files whose ``stat`` (size,
mtime, change time, inode and device) is unchanged since the last scan are not read at all: their
sha256 comes from the cache's fast path and their results from the content-keyed cache. A
same-size swap with the mtime put back changes the change time, so it is read (see
:mod:`twinreview.services.cache`). The grey working image of a decoded file is kept for geometric
verification, up to :data:`RETAIN_WORK_BYTES`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from pathlib import Path

from twinreview.core import geometry, hashing
from twinreview.core.disclosure import DisclosureReport
from twinreview.core.imageio import ImageLoadError, load_image
from twinreview.core.workspace import AssetRef
from twinreview.services.cache import ResultCache
from twinreview.services.scan_model import (
    ANALYSIS_CACHE_VERSION,
    Analysis,
    AssetFile,
    Corpus,
    DisclosureInspector,
    FileFacts,
    ReferenceFile,
    ScanProgress,
    disclosure_cache_version,
    unread,
)

RETAIN_WORK_BYTES = 128 * 1024 * 1024
"""Memory for the grey working images kept from phase 1 for geometric verification (about
110 KB each, so about 1,200 images): beyond it a file in a candidate pair is decoded again."""


class Analyser:
    """Runs phase 1 on the executor; only the calling thread touches the cache.

    Args:
        executor: Where per-file work runs.
        cache: The result cache.
    """

    def __init__(self, executor: Executor, cache: ResultCache) -> None:
        self._executor = executor
        self._cache = cache

    def corpus(
        self,
        references: Sequence[tuple[str, Path, str]],
        assets: Sequence[AssetRef],
        inspector: DisclosureInspector | None,
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
    ) -> tuple[Corpus | None, dict[str, int]]:
        """Analyse the references ((model id, path, rel)) and the assets.

        Disclosure is inspected for the assets only.

        Returns:
            The corpus (None when cancelled) and the counts: ``files``, ``read``, ``decoded``,
            ``cached``.
        """
        jobs: list[tuple[Path, bool]] = [(p, False) for _m, p, _r in references]
        jobs += [(a.path, inspector is not None) for a in assets]
        analyses, stats = self._analyse_all(jobs, inspector, report, stop)
        if analyses is None:
            return None, stats
        refs = tuple(
            ReferenceFile(mid, p, rel, an)
            for (mid, p, rel), an in zip(references, analyses[: len(references)], strict=True)
        )
        files = tuple(
            AssetFile(a, an) for a, an in zip(assets, analyses[len(references) :], strict=True)
        )
        return Corpus(refs, files), stats

    def _analyse_all(
        self,
        jobs: Sequence[tuple[Path, bool]],
        inspector: DisclosureInspector | None,
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
    ) -> tuple[list[Analysis] | None, dict[str, int]]:
        total = len(jobs)
        out: list[Analysis | None] = [None] * total
        dversions: dict[int, str] = {}
        stats = {"files": total, "read": 0, "decoded": 0, "cached": 0}
        pending: dict[Future[tuple[Analysis, os.stat_result | None, bool]], int] = {}
        done = 0
        # Working images kept for geometric verification, counted at about 3:4 of a square.
        keep_work = RETAIN_WORK_BYTES // (geometry.WORK_SIDE * geometry.WORK_SIDE * 3 // 4)
        report(ScanProgress(0, total, "analyse"))
        for i, (path, want_disclosure) in enumerate(jobs):
            if stop.is_set():
                break
            dversion = ""
            if inspector is not None and want_disclosure:
                dversion = disclosure_cache_version(inspector, path)
                dversions[i] = dversion
            hit = self._from_cache(path, want_disclosure, dversion)
            if hit is not None:
                out[i] = hit
                stats["cached"] += 1
                done += 1
                if done % 64 == 0:
                    report(ScanProgress(done, total, "analyse", path.name))
                continue
            fut = self._executor.submit(
                analyse_file,
                path,
                inspector if want_disclosure else None,
                functools.partial(
                    self._cached_content, want_disclosure=want_disclosure, dversion=dversion
                ),
                keep_work=keep_work > 0,
            )
            keep_work -= 1
            pending[fut] = i
        report(ScanProgress(done, total, "analyse"))
        while pending:
            finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if stop.is_set():
                for fut in pending:
                    fut.cancel()
                return None, stats
            for fut in finished:
                i = pending.pop(fut)
                an, st, decoded = fut.result()
                out[i] = an
                stats["read"] += 1
                stats["decoded"] += decoded
                self._store(jobs[i][0], st, an, dversions.get(i, ""))
                done += 1
                report(ScanProgress(done, total, "analyse", jobs[i][0].name))
        if stop.is_set():
            return None, stats
        return [a for a in out if a is not None], stats

    def _from_cache(self, path: Path, want_disclosure: bool, dversion: str) -> Analysis | None:
        """The fast path: an unchanged ``stat`` (size, times, inode) means no read at all."""
        try:
            st = path.stat()
        except OSError:
            return None
        sha = self._cache.lookup_sha(path, st)
        if sha is None:
            return None
        return self._cached_content(sha, want_disclosure=want_disclosure, dversion=dversion)

    def _cached_content(self, sha: str, *, want_disclosure: bool, dversion: str) -> Analysis | None:
        """Results for these bytes, whatever their path. Thread-safe (the cache locks)."""
        data = self._cache.get(sha, "analysis", ANALYSIS_CACHE_VERSION)
        if data is None:
            return None
        disclosure = None
        if want_disclosure:
            disclosure = self._cache.get(sha, "disclosure", dversion)
            if disclosure is None:
                return None
        try:
            fp = data.get("fingerprint")
            return Analysis(
                sha256=sha,
                error=data.get("error"),
                facts=FileFacts(**data["facts"]),
                fingerprint=hashing.Fingerprint.from_json(fp) if fp else None,
                disclosure=None if disclosure is None else DisclosureReport.from_json(disclosure),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None  # a damaged cache row is a miss: the file is analysed again

    def _store(self, path: Path, st: os.stat_result | None, an: Analysis, dversion: str) -> None:
        if an.sha256 is None or st is None:
            return  # could not even read it: nothing content-keyed to remember
        self._cache.put(
            an.sha256,
            "analysis",
            ANALYSIS_CACHE_VERSION,
            {
                "error": an.error,
                "facts": an.facts.to_json(),
                "fingerprint": an.fingerprint.to_json() if an.fingerprint else None,
            },
        )
        if an.disclosure is not None:
            self._cache.put(an.sha256, "disclosure", dversion, an.disclosure.to_json())
        self._cache.record_sha(path, st, an.sha256)


def analyse_file(
    path: Path,
    inspector: DisclosureInspector | None,
    known: Callable[[str], Analysis | None],
    *,
    keep_work: bool = False,
) -> tuple[Analysis, os.stat_result | None, bool]:
    """Worker: read once, hash, decode once, fingerprint, inspect. Never raises.

    ``known(sha256)`` returns the cached analysis of identical bytes seen under another path or
    ``stat`` (a renamed, copied or touched file); then nothing is decoded. The last element of
    the returned tuple says whether the file was decoded. ``st`` is taken before the read, so a
    change during the read is recorded under an older change time: a later lookup misses rather
    than trusting a hash of bytes that are no longer there.
    """
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            # A FIFO or device would block the read forever or never end.
            return unread("not a regular file (a pipe, socket or device)"), None, False
        with path.open("rb") as fh:
            data = fh.read()
    except OSError as exc:
        return unread(f"cannot read the file ({exc.strerror or exc})"), None, False
    sha = hashlib.sha256(data).hexdigest()
    seen = known(sha)
    if seen is not None:
        return seen, st, False
    fmt: str | None = None
    width = height = None
    fp = None
    work = None
    error = None
    try:
        loaded = load_image(data, min_side=hashing.MIN_SIDE)
        fmt, width, height = loaded.format, loaded.width, loaded.height
        grey = loaded.image.convert("L")
        fp = hashing.fingerprint(loaded.image, grey=grey)
        if keep_work:
            work = geometry.working_image(grey)
    except ImageLoadError as exc:
        error = str(exc)
    disclosure = None
    if inspector is not None:
        disclosure = inspector.inspect(data, path)
    facts = FileFacts(width, height, fmt, len(data))
    return Analysis(sha, error, facts, fp, disclosure, work), st, True
