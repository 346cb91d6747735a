"""Geometric verification of candidate pairs, on the executor, cached per pair of contents.

Each pair is verified by :func:`twinreview.core.similarity.geometry.verify` (ORB keypoints, a RANSAC
transform, pixel agreement). Verdicts are cached under :func:`scan_model.verdict_key` (both
contents, the orientation tried first, the thresholds), so a rescan verifies nothing again. The
grey working image of each decoded file is kept from phase 1 for this; files beyond that memory,
or read from the cache, are decoded again if they are in a pair.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

from PIL import Image

from twinreview.core.files import read_regular
from twinreview.core.imageio import ImageLoadError, load_image
from twinreview.core.similarity import geometry, hashing
from twinreview.core.similarity import match as similarity
from twinreview.services.memory import release_freed
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.model import (
    GEOMETRY_CACHE_VERSION,
    REFERENCE_MIN_SIDE,
    Analysis,
    ScanProgress,
    verdict_key,
)

VERIFY_BLOCK = 256
"""Pairs verified at a time: the images of a block are prepared, its pairs verified, and the
images no later pair needs let go."""

MAX_PREPARED = 1024
"""Images prepared by one call kept between blocks (about 150 KB each: what the agreement
measure computed, about 350 KB more, is let go between blocks): those a later block needs
soonest."""

ImageFile = tuple[Path, Analysis]
"""A file of a pair: its path and its analysis."""

Pair = tuple[ImageFile, ImageFile, bool]
"""(query, reference, try the query's mirror image first)."""


class GeometryVerifier:
    """Verifies pairs of images on the executor; only the calling thread touches the cache.

    Args:
        executor: Where preparing and verifying run.
        cache: The result cache.
    """

    def __init__(self, executor: Executor, cache: ResultCache) -> None:
        self._executor = executor
        self._cache = cache

    def verify(
        self,
        pairs: Sequence[Pair],
        thresholds: similarity.SimilarityThresholds,
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
        prepared: dict[str, geometry.Prepared] | None = None,
        *,
        fine: bool = False,
        fine_query: bool = False,
    ) -> list[geometry.Verification | None]:
        """Geometric verification of candidate pairs.

        With ``fine`` the reference side of every pair is a fine image
        (:meth:`geometry.Prepared.fine`): the pairs are candidate crops; with ``fine_query``
        the query side too.

        Verdicts come from the cache when the same two contents were verified before (with the
        same thresholds, which decide whether the other orientation is tried). Otherwise
        each image involved is prepared once (its working image kept from phase 1, or decoded
        again; ``prepared`` keeps them by sha256 across calls) and each pair verified, both on
        the executor. A pair whose file cannot be read again, or changed since phase 1, gets
        None (the hashes then decide alone). Cancelling leaves the remaining pairs None; the
        caller checks ``stop``.
        """
        if prepared is None:
            prepared = {}
        out: list[geometry.Verification | None] = [None] * len(pairs)
        if not pairs:
            return out
        keys = [
            verdict_key(
                q[1].sha256 or "",
                r[1].sha256 or "",
                mirr,
                thresholds,
                fine=fine,
                fine_query=fine_query,
            )
            for q, r, mirr in pairs
        ]
        cached = self._cache.get_many(keys, "geometry", GEOMETRY_CACHE_VERSION)
        todo: list[int] = []
        for i, key in enumerate(keys):
            try:
                if key in cached:
                    out[i] = geometry.Verification.from_json(cached[key])
                    continue
            except ValueError:
                pass  # a damaged row is a miss: the pair is verified again
            todo.append(i)

        # Each image once, by content: a file listed twice (or as a reference and an asset)
        # is prepared once. The pairs go a block at a time, and an image prepared here is let
        # go once its last pair is verified: a prepared image is about 0.5-0.8 MB, and a large
        # batch has thousands in its pairs.
        def sides(i: int) -> list[tuple[str, Path, Analysis, bool]]:
            out_sides = []
            for side, (path, an) in enumerate(pairs[i][:2]):
                is_fine = (fine and side == 1) or (fine_query and side == 0)
                pkey = _prepared_key(an, is_fine)
                if pkey is not None:
                    out_sides.append((pkey, path, an, is_fine))
            return out_sides

        # The blocks each image is used in, in order: after a block, an image no later block
        # needs is let go, and beyond MAX_PREPARED those needed last (Belady's rule).
        blocks_of: dict[str, list[int]] = {}
        for n, i in enumerate(todo):
            for pkey, *_rest in sides(i):
                used = blocks_of.setdefault(pkey, [])
                if not used or used[-1] != n // VERIFY_BLOCK:
                    used.append(n // VERIFY_BLOCK)
        mine = {k for k in blocks_of if k not in prepared}
        next_use = {k: 0 for k in mine}
        again: set[str] = set()
        total, done = len(mine) + len(todo), 0
        report(ScanProgress(0, total, "verify"))
        results: list[tuple[str, Any]] = []
        for b in range(0, len(todo), VERIFY_BLOCK):
            block = todo[b : b + VERIFY_BLOCK]
            images: dict[str, tuple[Path, Analysis, bool]] = {}
            for i in block:
                for pkey, path, an, is_fine in sides(i):
                    if pkey not in prepared and pkey not in images:
                        images[pkey] = (path, an, is_fine)
                        if pkey in again:
                            total += 1  # let go after an earlier block: prepared again
            again.update(images)
            preparing = {
                self._executor.submit(prepare_analysed, path, an, is_fine): pkey
                for pkey, (path, an, is_fine) in images.items()
            }
            for fut in preparing:
                if stop.is_set():
                    fut.cancel()
                    continue
                prep = fut.result()
                if prep is not None:
                    prepared[preparing[fut]] = prep
                done += 1
                report(ScanProgress(done, total, "verify"))
            verifying: dict[Future[geometry.Verification], int] = {}
            for i in block:
                (_qp, qa), (_rp, ra), mirrored = pairs[i]
                pq = prepared.get(_prepared_key(qa, fine_query) or "")
                pr = prepared.get(_prepared_key(ra, fine) or "")
                if pq is None or pr is None or stop.is_set():
                    continue
                verifying[
                    self._executor.submit(
                        geometry.verify,
                        pq,
                        pr,
                        prefer_mirrored=mirrored,
                        min_inliers=thresholds.min_inliers,
                        min_agreement=thresholds.min_agreement / 100,
                    )
                ] = i
            for vfut, i in verifying.items():
                if stop.is_set():
                    vfut.cancel()
                    continue
                out[i] = verdict = vfut.result()
                results.append((keys[i], verdict.to_json()))
                done += 1
                report(ScanProgress(done, total, "verify"))
            here = b // VERIFY_BLOCK
            alive: list[tuple[int, str]] = []
            for pkey in [k for k in mine if k in prepared]:
                used = blocks_of[pkey]
                at = next_use[pkey]
                while at < len(used) and used[at] <= here:
                    at += 1
                next_use[pkey] = at
                if at == len(used):
                    del prepared[pkey]
                else:
                    alive.append((used[at], pkey))
            if len(alive) > MAX_PREPARED:
                alive.sort()
                for _later, pkey in alive[MAX_PREPARED:]:
                    del prepared[pkey]  # prepared again for its next block
                del alive[MAX_PREPARED:]
            for _later, pkey in alive:
                # Waiting for a later block: the working image and features are what is
                # costly to make again; the agreement's images are a few ms.
                prepared[pkey].shed()
            release_freed()  # the block's decodes and temporaries
            if stop.is_set():
                break
        if results:
            self._cache.put_many(results, "geometry", GEOMETRY_CACHE_VERSION)
        return out

    def verify_files(
        self,
        query: Path,
        reference: Path,
        thresholds: similarity.SimilarityThresholds,
        *,
        prefer_mirrored: bool = False,
    ) -> geometry.Verification | None:
        """Verify two files on demand (blocking), cached like the scan's verdicts.

        Returns:
            The verification, or None when either file cannot be read or decoded.
        """
        try:
            shas = [hashlib.sha256(read_regular(p)).hexdigest() for p in (query, reference)]
        except OSError:
            return None
        key = verdict_key(shas[0], shas[1], prefer_mirrored, thresholds)
        cached = self._cache.get(key, "geometry", GEOMETRY_CACHE_VERSION)
        if cached is not None:
            try:
                return geometry.Verification.from_json(cached)
            except ValueError:
                pass  # a damaged row is a miss
        pq, pr = prepare_file(query, shas[0], None), prepare_file(reference, shas[1], None)
        if pq is None or pr is None:
            return None
        verdict = geometry.verify(
            pq,
            pr,
            prefer_mirrored=prefer_mirrored,
            min_inliers=thresholds.min_inliers,
            min_agreement=thresholds.min_agreement / 100,
        )
        self._cache.put(key, "geometry", GEOMETRY_CACHE_VERSION, verdict.to_json())
        return verdict


def _prepared_key(an: Analysis, fine: bool) -> str | None:
    if an.sha256 is None:
        return None
    return f"{an.sha256}:fine" if fine else an.sha256


def prepare_analysed(path: Path, an: Analysis, fine: bool) -> geometry.Prepared | None:
    """Worker: :func:`prepare_file` with what phase 1 kept of the file. Never raises."""
    assert an.sha256 is not None
    if fine:
        if an.prepared is not None:
            return an.prepared
        if an.grey is not None:
            return geometry.Prepared.fine(Image.fromarray(an.grey))
        return prepare_file(path, an.sha256, None, fine=True)
    if an.work is not None:
        return geometry.Prepared(an.work, known=an.features)
    return prepare_file(path, an.sha256, None)


def prepare_file(
    path: Path, sha256: str, work: geometry.GreyArray | None, *, fine: bool = False
) -> geometry.Prepared | None:
    """Worker: what geometric verification needs of one image. Never raises.

    Uses the working image kept from phase 1, or reads and decodes the file again; None when
    it cannot be read or its bytes are no longer those of ``sha256``. With ``fine``, the fine
    image (:meth:`geometry.Prepared.fine`), decoded again.
    """
    if work is None or fine:
        try:
            data = read_regular(path)
            if hashlib.sha256(data).hexdigest() != sha256:
                return None
            if fine:
                return geometry.Prepared.fine(load_image(data, min_side=REFERENCE_MIN_SIDE).image)
            work = geometry.working_image(load_image(data, min_side=hashing.MIN_SIDE).image)
        except (OSError, ImageLoadError):
            return None
    return geometry.Prepared(work)
