"""Phase 1 of a scan: read every file once, hash, decode, fingerprint and inspect it.

From one read of each reference photo and asset come its sha256, one reduced decode (see
:mod:`twinreview.core.imageio`), every cheap hash
(:func:`twinreview.core.similarity.hashing.fingerprint`) and, for an asset when an inspector is
given, the disclosure report. Files whose ``stat`` (size, mtime, change time, inode and device) is
unchanged since the last scan are not read at all: their sha256 comes from the cache's fast path and
their results from the content-keyed cache. A same-size swap with the mtime put back changes the
change time, so it is read (see :mod:`twinreview.services.scan.cache`). The grey working image of a
decoded file is kept for geometric verification, up to :data:`RETAIN_WORK_BYTES`.

An asset's keypoints stay in the cache until the crop stage asks for them
(:meth:`Corpus.asset_keypoints`): a scan with nothing new never decodes them. Between the scans
of one process (the app's scan process), the analyses of the last scan are kept by path and
``stat`` (without keypoints, about a few KB each): a rescan after a few files changed reads the
cache for those files only.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import stat
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from pathlib import Path
from typing import Any

import numpy as np

from twinreview.core.disclosure import DisclosureReport
from twinreview.core.imageio import ImageLoadError, load_image
from twinreview.core.publish.imagedigest import ambiguity
from twinreview.core.similarity import geometry, hashing
from twinreview.core.similarity.match import Keypoints
from twinreview.core.workspace import AssetRef
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.faces import (
    QUICK_SIDE,
    REFERENCE_QUICK_SIDE,
    FaceEngine,
    Located,
    Sighted,
)
from twinreview.services.scan.model import (
    REFERENCE_MIN_SIDE,
    Analysis,
    AssetFile,
    Corpus,
    DisclosureInspector,
    FileFacts,
    ReferenceFile,
    ScanProgress,
    analysis_version,
    disclosure_cache_version,
    keypoints_of,
    pack_keypoints,
    unpack_keypoints,
    unread,
)

RETAIN_FACE_FILES = 2000
"""Files whose located faces (about 70 KB a face) are kept from phase 1 for the face pass;
beyond, the face pass decodes the file again."""

IN_FLIGHT = 64
"""Files handed to the executor at a time (the others wait in order): enough to keep its
workers busy. Waiting for the next file to finish visits every future waited on
(``concurrent.futures.wait``), so waiting on all of a campaign's files at once would cost each
file time in proportion to the campaign."""

CHECK_BATCH = 256
"""Files whose ``stat`` is checked against the cache, and cached rows read, in one go."""

RETAIN_WORK_BYTES = 128 * 1024 * 1024
"""Memory for the grey working images kept from phase 1 for geometric verification (about
110 KB each, so about 1,200 images): beyond it a file in a candidate pair is decoded again."""


class Analyser:
    """Runs phase 1 on the executor; only the calling thread touches the cache.

    Args:
        executor: Where per-file work runs.
        cache: The result cache.
    """

    def __init__(
        self, executor: Executor, cache: ResultCache, faces: FaceEngine | None = None
    ) -> None:
        self._executor = executor
        self._cache = cache
        self._faces = faces
        self._memo: dict[tuple[object, ...], Analysis] = {}

    def corpus(
        self,
        references: Sequence[tuple[str, Path, str]],
        assets: Sequence[AssetRef],
        inspector: DisclosureInspector | None,
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
        *,
        faces: bool = False,
        some: bool = False,
    ) -> tuple[Corpus | None, dict[str, int]]:
        """Analyse the references ((model id, path, rel)) and the assets.

        Disclosure is inspected for the assets only. With ``faces`` (and a face engine), the
        faces of each decoded file are located on the same decode (the quick pass), for the
        face pass to describe. ``some`` says these are some of the workspace's files (those
        that changed): the analyses kept for the others stay.

        Returns:
            The corpus (None when cancelled) and the counts: ``files``, ``read``, ``decoded``,
            ``cached``.
        """
        jobs: list[tuple[Path, bool, bool]] = [(p, False, True) for _m, p, _r in references]
        jobs += [(a.path, inspector is not None, False) for a in assets]
        analyses, stats = self._analyse_all(jobs, inspector, report, stop, faces, some)
        if analyses is None:
            return None, stats
        refs = tuple(
            ReferenceFile(mid, p, rel, an)
            for (mid, p, rel), an in zip(references, analyses[: len(references)], strict=True)
        )
        files = tuple(
            AssetFile(a, an) for a, an in zip(assets, analyses[len(references) :], strict=True)
        )
        return Corpus(refs, files, self._load_keypoints), stats

    def _load_keypoints(self, sha: str) -> Keypoints | None:
        """An asset's keypoints from its cached analysis (None: none, or a damaged row)."""
        data = self._cache.get(sha, "analysis", analysis_version(False))
        try:
            return unpack_keypoints(data.get("keypoints")) if isinstance(data, dict) else None
        except ValueError:
            return None

    def _analyse_all(
        self,
        jobs: Sequence[tuple[Path, bool, bool]],
        inspector: DisclosureInspector | None,
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
        faces: bool,
        some: bool = False,
    ) -> tuple[list[Analysis] | None, dict[str, int]]:
        total = len(jobs)
        engine = self._faces if faces else None
        keep_faces = RETAIN_FACE_FILES
        out: list[Analysis | None] = [None] * total
        dversions: dict[int, str] = {}
        memo: dict[tuple[object, ...], Analysis] = {}
        memo_keys: dict[int, tuple[object, ...]] = {}
        stats = {"files": total, "read": 0, "decoded": 0, "cached": 0}
        pending: dict[Future[tuple[Analysis, os.stat_result | None, bool]], int] = {}
        queued: deque[tuple[int, functools.partial[tuple[Analysis, os.stat_result | None, bool]]]]
        queued = deque()

        def top_up() -> None:
            while queued and len(pending) < IN_FLIGHT:
                i, job = queued.popleft()
                pending[self._executor.submit(job.func, *job.args, **job.keywords)] = i

        done = 0
        # Working images kept for geometric verification, counted at about 3:4 of a square.
        keep_work = RETAIN_WORK_BYTES // (geometry.WORK_SIDE * geometry.WORK_SIDE * 3 // 4)
        # First every file's stat against the cache ("check": nothing is read for a file that
        # did not change), then the reads of the others ("analyse").
        report(ScanProgress(0, total, "check"))
        listing = _Listing()
        reports: dict[str, DisclosureReport] = {}
        checked: list[tuple[tuple[object, ...] | None, Analysis | None]] = []
        for i, (path, want_disclosure, reference) in enumerate(jobs):
            if stop.is_set():
                break
            if i % CHECK_BATCH == 0:
                # The cache is read for a few hundred files at a time.
                part = range(i, min(total, i + CHECK_BATCH))
                for j in part:
                    if inspector is not None and jobs[j][1]:
                        dversions[j] = disclosure_cache_version(
                            inspector, jobs[j][0], sidecar=listing.may_have_sidecar(jobs[j][0])
                        )
                checked = self._from_cache_many(
                    [(*jobs[j], dversions.get(j, "")) for j in part], reports
                )
            dversion = dversions.get(i, "")
            key, hit = checked[i % CHECK_BATCH]
            if key is not None:
                memo_keys[i] = key
            if hit is not None:
                out[i] = hit
                if key is not None:
                    memo[key] = kept_analysis(hit, reference)
                stats["cached"] += 1
                done += 1
                if done % 64 == 0:
                    report(ScanProgress(done, total, "check", path.name))
                continue
            # Submitted as the function itself (an executor may look at what it runs).
            job = functools.partial(
                analyse_file,
                path,
                inspector if want_disclosure else None,
                functools.partial(
                    self._cached_content,
                    want_disclosure=want_disclosure,
                    dversion=dversion,
                    reference=reference,
                ),
                keep_work=keep_work > 0,
                reference=reference,
                faces=engine if keep_faces > 0 else None,
            )
            keep_faces -= 1
            # A reference keeps its fine image, about four working images' worth; an asset its
            # working image and its decode, about three.
            keep_work -= 4 if reference else 3
            queued.append((i, job))
            top_up()
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
                if self._store(jobs[i][0], st, an, dversions.get(i, ""), jobs[i][2], decoded):
                    assert st is not None
                    key = _memo_key(jobs[i][0], st, jobs[i][1], dversions.get(i, ""), jobs[i][2])
                    memo[key] = kept_analysis(an, jobs[i][2])
                done += 1
                report(ScanProgress(done, total, "analyse", jobs[i][0].name))
            top_up()
        if stop.is_set():
            return None, stats
        # Only this scan's files: a deleted or changed file's entry goes.
        self._memo = {**self._memo, **memo} if some else memo
        return [a for a in out if a is not None], stats

    def _from_cache_many(
        self,
        files: Sequence[tuple[Path, bool, bool, str]],
        reports: dict[str, DisclosureReport],
    ) -> list[tuple[tuple[object, ...] | None, Analysis | None]]:
        """The fast path: an unchanged ``stat`` (size, times, inode) means no read at all.

        ``files``: (path, want disclosure, reference, disclosure row version) each.
        ``reports``: the disclosure reports parsed so far, by their cached JSON text.

        Returns:
            Per file, its key among the kept analyses (None: no ``stat``), and its analysis.
        """
        out: list[tuple[tuple[object, ...] | None, Analysis | None]] = []
        unknown: list[tuple[int, Path, os.stat_result]] = []
        for n, (path, want_disclosure, reference, dversion) in enumerate(files):
            try:
                st = path.stat()
            except OSError:
                out.append((None, None))
                continue
            key = _memo_key(path, st, want_disclosure, dversion, reference)
            out.append((key, self._memo.get(key)))
            if out[-1][1] is None:
                unknown.append((n, path, st))
        shas = self._cache.lookup_shas([(path, st) for _n, path, st in unknown])
        known = [(n, sha) for (n, _path, _st), sha in zip(unknown, shas, strict=True) if sha]
        rows: dict[str, dict[str, str]] = {}
        for n, sha in known:
            _path, want_disclosure, reference, dversion = files[n]
            rows.setdefault(analysis_version(reference), {})[sha] = ""
            if want_disclosure:
                rows.setdefault(dversion, {})[sha] = ""
        for version, wanted in rows.items():
            kind = "disclosure" if version.startswith("disclosure/") else "analysis"
            rows[version] = self._cache.get_many_text(wanted, kind, version)
        for n, sha in known:
            _path, want_disclosure, reference, dversion = files[n]
            data = rows[analysis_version(reference)].get(sha)
            disclosure = rows[dversion].get(sha) if want_disclosure else None
            if data is None or (want_disclosure and disclosure is None):
                continue
            try:
                loaded = json.loads(data)
                report = None
                if disclosure is not None:
                    report = reports.get(disclosure)
                    if report is None:
                        report = DisclosureReport.from_json(json.loads(disclosure))
                        reports[disclosure] = report
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a damaged cache row is a miss: the file is analysed again
            out[n] = (out[n][0], _cached_analysis(sha, loaded, report, reference))
        return out

    def _cached_content(
        self, sha: str, *, want_disclosure: bool, dversion: str, reference: bool
    ) -> Analysis | None:
        """Results for these bytes, whatever their path. Thread-safe (the cache locks)."""
        data = self._cache.get(sha, "analysis", analysis_version(reference))
        if data is None:
            return None
        disclosure = None
        if want_disclosure:
            disclosure = self._cache.get(sha, "disclosure", dversion)
            if disclosure is None:
                return None
        try:
            report = None if disclosure is None else DisclosureReport.from_json(disclosure)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return _cached_analysis(sha, data, report, reference)

    def _store(
        self,
        path: Path,
        st: os.stat_result | None,
        an: Analysis,
        dversion: str,
        reference: bool,
        decoded: bool = True,
    ) -> bool:
        """Cache a file's analysis; False when there is nothing content-keyed to remember.

        An analysis of known bytes (``decoded`` False: a renamed, copied or touched file) is
        the cached one, an asset's keypoints left in the cache: only its ``stat`` is recorded
        (written again, its row would lose them).
        """
        if an.sha256 is None or st is None:
            return False  # could not even read it
        if not decoded:
            self._cache.record_sha(path, st, an.sha256)
            return True
        self._cache.put(
            an.sha256,
            "analysis",
            analysis_version(reference),
            {
                "error": an.error,
                "ambiguous": an.ambiguous,
                "facts": an.facts.to_json(),
                "fingerprint": an.fingerprint.to_json() if an.fingerprint else None,
                "keypoints": pack_keypoints(an.keypoints),
                "keypoints_mirrored": pack_keypoints(an.keypoints_mirrored),
            },
        )
        if an.disclosure is not None:
            self._cache.put(an.sha256, "disclosure", dversion, an.disclosure.to_json())
        self._cache.record_sha(path, st, an.sha256)
        return True


def _cached_analysis(
    sha: str, data: Any, disclosure: DisclosureReport | None, reference: bool
) -> Analysis | None:
    """An analysis from its cached row (None: a damaged row, a miss: the file is read again)."""
    try:
        fp = data.get("fingerprint")
        return Analysis(
            sha256=sha,
            error=data.get("error"),
            ambiguous=data.get("ambiguous"),
            facts=FileFacts(**data["facts"]),
            fingerprint=hashing.Fingerprint.from_json(fp) if fp else None,
            disclosure=disclosure,
            # An asset's are decoded when the crop stage asks for them (a damaged row then
            # gives none); a reference's, a few dozen, at once.
            keypoints=unpack_keypoints(data.get("keypoints")) if reference else None,
            keypoints_mirrored=unpack_keypoints(data.get("keypoints_mirrored")),
            keypoints_deferred=not reference and _packed(data.get("keypoints")),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class _Listing:
    """The names in each folder, read once a scan.

    Most files have no XMP sidecar: a look at the folder's listing spares two failed ``lstat``
    calls per file. Names are compared case-folded, as a Mac or Windows file system would find
    them (a name that only may match is looked up for real).
    """

    def __init__(self) -> None:
        self._names: dict[Path, frozenset[str] | None] = {}

    def may_have_sidecar(self, path: Path) -> bool:
        """False when ``path``'s folder lists neither of its sidecar names."""
        folder = path.parent
        if folder not in self._names:
            try:
                self._names[folder] = frozenset(n.casefold() for n in os.listdir(folder))
            except OSError:
                self._names[folder] = None  # unreadable: look for the sidecar itself
        names = self._names[folder]
        if names is None:
            return True
        # The names of xmp_sidecar_paths, made from strings (no path objects per file).
        name = path.name
        stem = name[: -len(path.suffix)] if path.suffix else name
        return (stem + ".xmp").casefold() in names or (name + ".xmp").casefold() in names


def _memo_key(
    path: Path, st: os.stat_result, want_disclosure: bool, dversion: str, reference: bool
) -> tuple[object, ...]:
    """What a kept analysis is valid for: the ``stat`` the cache's fast path checks, the ask."""
    return (
        str(path),
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        st.st_ino,
        st.st_dev,
        want_disclosure,
        dversion,
        reference,
    )


def kept_analysis(an: Analysis, reference: bool) -> Analysis:
    """An analysis as kept between scans: no images, an asset's keypoints left in the cache."""
    if (
        (reference or an.keypoints is None)
        and not an.quick_tried
        and all(x is None for x in (an.work, an.grey, an.prepared, an.features, an.located))
    ):
        return an  # nothing to drop (an analysis read from the cache)
    deferred = an.keypoints_deferred or an.keypoints is not None
    return dataclasses.replace(
        an,
        keypoints=an.keypoints if reference else None,
        keypoints_deferred=False if reference else deferred,
        work=None,
        grey=None,
        prepared=None,
        features=None,
        located=None,
        quick_tried=False,
    )


def _packed(text: object) -> bool:
    """Whether a cached keypoints value looks like :func:`pack_keypoints`' (None: none)."""
    if text is None:
        return False
    if not isinstance(text, str) or len(text) % 48:
        raise ValueError("keypoints must be base64 of 36-byte rows")
    return True


def analyse_file(
    path: Path,
    inspector: DisclosureInspector | None,
    known: Callable[[str], Analysis | None],
    *,
    keep_work: bool = False,
    reference: bool = False,
    faces: FaceEngine | None = None,
) -> tuple[Analysis, os.stat_result | None, bool]:
    """Worker: read once, hash, decode once, fingerprint, describe, inspect. Never raises.

    An asset's local features are those of its working image; a reference photo's those of its
    fine image (:meth:`geometry.Prepared.fine`, both orientations), decoded at
    :data:`REFERENCE_MIN_SIDE`: the side a crop is verified against. With ``faces``, the faces
    are located on the same decode (:meth:`FaceEngine.locate`).

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
    feats: geometry.Features | None = None
    mirrored: geometry.Features | None = None
    prepared: geometry.Prepared | None = None
    located: Located | Sighted | None = None
    quick_tried = False
    quick_covered = 0
    error = None
    try:
        loaded = load_image(data, min_side=REFERENCE_MIN_SIDE if reference else hashing.MIN_SIDE)
        fmt, width, height = loaded.format, loaded.width, loaded.height
        grey = loaded.image.convert("L")
        fp = hashing.fingerprint(loaded.image, grey=grey)
        if reference:
            fine = geometry.Prepared.fine(grey)
            feats, mirrored = fine.features, fine.oriented(True)
            if keep_work:
                prepared, work = fine, geometry.working_image(grey)
        else:
            work = geometry.working_image(grey)
            feats = geometry.features(work)
        if faces is not None:
            side = REFERENCE_QUICK_SIDE if reference else QUICK_SIDE
            found, covered = faces.quick(loaded.image, grey, side=side)
            located = found if isinstance(found, Located | Sighted) else None
            quick_tried = found is None  # no usable face at this size: the face pass goes larger
            quick_covered = covered
    except ImageLoadError as exc:
        error = str(exc)
    disclosure = None
    if inspector is not None:
        disclosure = inspector.inspect(data, path)
    facts = FileFacts(width, height, fmt, len(data))
    kept = keep_work and not reference
    # An asset keeps its decode too (its fine image, should it be the larger side of a crop in
    # the batch, is made from it rather than from a second decode).
    decoded = np.asarray(grey) if kept and error is None else None
    analysis = Analysis(
        sha,
        error,
        facts,
        fp,
        disclosure,
        keypoints=keypoints_of(feats),
        keypoints_mirrored=keypoints_of(mirrored),
        work=work if keep_work else None,
        grey=decoded,
        prepared=prepared,
        features=feats if kept else None,
        located=located,
        quick_tried=quick_tried,
        quick_covered=quick_covered,
        ambiguous=None if reference else ambiguity(data),
    )
    return analysis, st, True
