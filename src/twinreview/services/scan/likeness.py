"""The face pass of a scan: whose faces are in each asset.

Separate from the similarity phases: the faces of every readable reference photo and asset are
found on the executor (cached by content hash), then compared in one vectorised step in
:mod:`twinreview.core.likeness.model`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from pathlib import Path
from typing import Any

from twinreview.core.files import read_regular
from twinreview.core.findings import Finding, Severity
from twinreview.core.likeness.model import (
    FaceScan,
    Gallery,
    Likeness,
    LikenessSettings,
    ReferenceFaces,
)
from twinreview.core.likeness.model import findings as likeness_findings
from twinreview.core.workspace import ModelInfo
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.faces import FaceEngine, Located, Sighted
from twinreview.services.scan.model import Corpus, ScanProgress

DESCRIBE_BATCH = 8
"""Faces described in one run of the network: beyond about eight a face costs no less."""


class FacePass:
    """Finds and compares faces on the executor; only the calling thread touches the cache.

    Args:
        executor: Where faces are found.
        cache: The result cache (faces per content sha256).
        engine: The face detector and descriptor.
    """

    def __init__(self, executor: Executor, cache: ResultCache, engine: FaceEngine) -> None:
        self._executor = executor
        self._cache = cache
        self._engine = engine

    def likeness(
        self,
        corpus: Corpus,
        models: Mapping[str, ModelInfo],
        settings: LikenessSettings,
        severities: Mapping[str, Severity],
        notices: list[str],
        stats: dict[str, int],
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
    ) -> tuple[dict[int, Likeness], dict[int, list[Finding]]] | None:
        """Faces of references and assets, compared: per asset index its likeness and findings.

        Args:
            corpus: The analysed files.
            models: The workspace's models (display names, reference photos).
            settings: The likeness settings.
            severities: Severity per finding kind.
            notices: Workspace-wide notices, appended to.
            stats: Scan counts; ``faces_cached`` and ``faces_computed`` are set.
            report: Progress.
            stop: Cancels.

        Returns:
            ``(likeness by asset index, findings by asset index)``, None when cancelled.
        """
        engine = self._engine
        # (path, sha256, width, height) of every readable file, references first.
        located = [(r.path, r.analysis) for r in corpus.references]
        located += [(a.path, a.analysis) for a in corpus.assets]
        files: list[tuple[Path, str, int | None, int | None, Located | Sighted | bool, int]] = [
            (
                path,
                an.sha256,
                an.facts.width,
                an.facts.height,
                an.located or an.quick_tried,
                an.quick_covered,
            )
            for path, an in located
            if an.sha256 is not None and an.error is None
        ]
        scans = self._face_scans(files, stats, report, stop)
        if scans is None:
            return None
        gallery = Gallery.build(
            [
                ReferenceFaces(r.model_id, r.rel, scans[r.analysis.sha256])
                for r in corpus.references
                if r.analysis.sha256 is not None and r.analysis.sha256 in scans
            ],
            settings,
        )
        if engine.problem is not None:
            notices.append(f"likeness not checked: {engine.problem}")
        else:
            notices.extend(gallery.notices)
        order = [i for i, a in enumerate(corpus.assets) if a.analysis.readable]
        assessed = gallery.assess(
            [
                (corpus.assets[i].model_id, scans.get(corpus.assets[i].analysis.sha256 or ""))
                for i in order
            ],
            known={mid: len(m.references) for mid, m in models.items()},
        )
        names = {mid: m.display_name for mid, m in models.items()}
        likeness_of = dict(zip(order, assessed, strict=True))
        found = {i: likeness_findings(lk, severities, names) for i, lk in likeness_of.items()}
        return likeness_of, {i: f for i, f in found.items() if f}

    def _face_scans(
        self,
        files: Sequence[tuple[Path, str, int | None, int | None, Located | Sighted | bool, int]],
        stats: dict[str, int],
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
    ) -> dict[str, FaceScan] | None:
        """The faces of each file by sha256: from the cache, else computed on the executor.

        Returns None when cancelled. Only the coordinating thread touches the cache.
        """
        engine = self._engine
        version = engine.version
        unique = {sha: (path, w, h, loc, cov) for path, sha, w, h, loc, cov in reversed(files)}
        out: dict[str, FaceScan] = {}
        stats["faces_cached"] = stats["faces_computed"] = 0
        if engine.problem is not None:
            # Missing model files: every file says so; nothing is cached (installing fixes it).
            return {sha: FaceScan(error=engine.problem) for sha in unique}
        for sha, data in self._cache.get_many(unique, "faces", version).items():
            try:
                out[sha] = FaceScan.from_json(data)
                stats["faces_cached"] += 1
            except ValueError:
                pass  # a damaged row is a miss: the faces are found again
        # A task describes a batch of files (a list back) or finds the faces of one (a pair).
        todo: dict[Future[Any], list[str]] = {}
        batch: list[tuple[str, Located]] = []

        def send_batch() -> None:
            todo[self._executor.submit(_described, engine, list(batch))] = [s for s, _ in batch]
            batch.clear()

        for sha, (path, w, h, loc, cov) in unique.items():
            if sha in out:
                continue
            if isinstance(loc, Located):
                # Located on phase 1's decode of these very bytes: only the description is
                # left, done for a few files at once (the network runs faster on a batch).
                batch.append((sha, loc))
                if sum(len(one.chips) for _, one in batch) >= DESCRIBE_BATCH:
                    send_batch()
            else:
                # ``loc`` True or Sighted: phase 1's quick pass found no usable face; go larger
                # at once (aligning the faces it found, or looking for the faces too small for
                # it when it found none).
                sighted = loc if isinstance(loc, Sighted) else None
                todo[
                    self._executor.submit(faces_file, engine, path, w, h, not loc, cov, sighted)
                ] = [sha]
        if batch:
            send_batch()
        total, done = sum(len(shas) for shas in todo.values()), 0
        report(ScanProgress(0, total, "faces"))
        pending = set(todo)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if stop.is_set():
                for fut in pending:
                    fut.cancel()
                return None
            for fut in finished:
                got = fut.result()
                for sha, (read_sha, scan) in zip(
                    todo[fut], got if isinstance(got, list) else [got], strict=True
                ):
                    out[sha] = scan
                    done += 1
                    stats["faces_computed"] += 1
                    report(ScanProgress(done, total, "faces", unique[sha][0].name))
                    if read_sha is not None and scan.error is None:
                        # Keyed by the bytes actually read (a file changed since its analysis
                        # is stored under its new content, never under the old hash). A failure
                        # may be passing (memory, a model file): it is not remembered.
                        self._cache.put(read_sha, "faces", version, scan.to_json())
        return None if stop.is_set() else out


def _described(
    engine: FaceEngine, batch: list[tuple[str, Located]]
) -> list[tuple[str | None, FaceScan]]:
    """Worker: the faces phase 1 located in a few files, described together. Never raises."""
    scans = engine.describe_all([located for _, located in batch])
    return [(sha, scan) for (sha, _), scan in zip(batch, scans, strict=True)]


def faces_file(
    engine: FaceEngine,
    path: Path,
    width: int | None,
    height: int | None,
    quick: bool = True,
    covered: int = 0,
    sighted: Sighted | None = None,
) -> tuple[str | None, FaceScan]:
    """Worker: the faces in one file and the sha256 of the bytes read. Never raises.

    ``quick``, ``covered`` and ``sighted`` as :meth:`FaceEngine.scan_bytes`.
    """
    try:
        data = read_regular(path)
    except OSError as exc:
        return None, FaceScan(error=f"cannot read the file ({exc.strerror or exc})")
    return hashlib.sha256(data).hexdigest(), engine.scan_bytes(
        data, width=width, height=height, quick=quick, covered=covered, sighted=sighted
    )
