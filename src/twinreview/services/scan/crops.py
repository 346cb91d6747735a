"""The crop stage's candidates, cached so that a rescan looks for them around new files only.

The local features (:mod:`twinreview.core.similarity.featureindex`) propose the pairs the hashes
miss: crops, outpaintings. Both kinds of candidates are kept in the result cache:

- **against the references**: one row per asset content and set of references
  (:func:`twinreview.core.similarity.match.crop_candidates` looks at each asset on its own, against
  every reference): an asset already seen costs nothing, a new or changed one is looked up; a
  change of the references looks every asset up again (their ratio test is over all of them),
  while only the pairs that are new are verified (verdicts are cached per pair).
- **within the batch**: one row per workspace folder, the pairs the last scan found, by content.
  A rescan keeps the pairs whose two files are still there and joins each new or changed file
  with the files it shares the most local features with (:meth:`CropCandidates.touched`: a
  sketch of each file's descriptors, two of their 24-bit keys, kept in the process and cached
  per content, so that the look-up reads no keypoints of unchanged files), not with the whole
  batch (:func:`twinreview.core.similarity.match.self_crop_candidates` on that
  subset). A batch scanned from nothing, or mostly new, is joined whole. Between two unchanged
  files the candidates are therefore those of the scan that first saw them both; a full join
  could differ where a third picture changes the ratio test, and verification decides every
  pair alike.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence, Set
from typing import Any

import numpy as np
import numpy.typing as npt

from twinreview.core.similarity import hashing
from twinreview.core.similarity import match as similarity
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.model import (
    BATCH_CROPS_VERSION,
    CROPS_ASSET_VERSION,
    batch_crops_key,
    crops_asset_key,
)

TOUCHED_PER_NEW = 16
"""Files joined with each new file in an incremental batch join (those sharing the most local
features with the new files), plus :data:`TOUCHED_MIN`."""
TOUCHED_MIN = 64
TOUCH_KEYS = (0, 16)
"""Descriptor bytes the sketch's two keys start at (three bytes each, far apart: nearly
independent)."""
TOUCH_MIN_HITS = 3
"""Sketch keys a file must share with the new files to be joined with them: two keys of 400
descriptors against those of 50 new files collide about once by chance."""
TOUCH_VERSION = "touch/1"

Figures = tuple[int, int, int, int, bool]


class CropCandidates:
    """Finds the local-feature candidates of a scan, computing only what is not cached.

    Args:
        cache: The result cache (used from the scan's calling thread only).
    """

    def __init__(self, cache: ResultCache) -> None:
        self._cache = cache
        #: How many assets the last call looked up (not from the cache), for the scan's stats.
        self.computed = 0
        # The sketches of the last batch's files, by content.
        self._sketches: dict[str, npt.NDArray[np.uint32]] = {}

    def references(
        self,
        asset_shas: Sequence[str],
        asset_fps: Sequence[hashing.Fingerprint],
        asset_kps: Sequence[similarity.Keypoints | None],
        ref_shas: Sequence[str],
        ref_fps: Sequence[hashing.Fingerprint],
        ref_kps: Sequence[tuple[similarity.Keypoints | None, similarity.Keypoints | None]],
        th: similarity.SimilarityThresholds,
        matched: Set[tuple[int, int]],
    ) -> list[similarity.Candidate]:
        """:func:`similarity.crop_candidates` of the assets, a cached row per asset."""
        keys = [crops_asset_key(sha, list(ref_shas), th) for sha in asset_shas]
        cached = self._cache.get_many(keys, "crops-asset", CROPS_ASSET_VERSION)
        figures: list[Figures] = []
        missing: list[int] = []
        for q, key in enumerate(keys):
            rows = _rows(cached.get(key), len(ref_shas))
            if rows is None:
                missing.append(q)
            else:
                figures += [(q, r, n, k, m) for r, n, k, m in rows]
        self.computed = len(missing)
        if missing:
            pos = {q: i for i, q in enumerate(missing)}
            found = similarity.crop_candidates(
                [asset_fps[q] for q in missing],
                ref_fps,
                [asset_kps[q] for q in missing],
                ref_kps,
                skip={(pos[q], r) for q, r in matched if q in pos},
            )
            per_asset: dict[int, list[list[Any]]] = {q: [] for q in missing}
            for q, r, n, k, m in similarity.figures(found):
                per_asset[missing[q]].append([r, n, k, m])
                figures.append((missing[q], r, n, k, m))
            self._cache.put_many(
                [(keys[q], rows) for q, rows in per_asset.items()],
                "crops-asset",
                CROPS_ASSET_VERSION,
            )
        figures.sort()
        return similarity.rebuild(figures, asset_fps, ref_fps)

    def batch(
        self,
        scope: str,
        asset_shas: Sequence[str],
        asset_fps: Sequence[hashing.Fingerprint],
        asset_kps: Sequence[similarity.Keypoints | None],
        th: similarity.SimilarityThresholds,
        skip: Set[tuple[int, int]],
    ) -> list[similarity.Candidate]:
        """:func:`similarity.self_crop_candidates` of the batch, incrementally (see module).

        Args:
            scope: Names the batch (the workspace folder): its last pairs are kept under it.
            asset_shas: Each asset's content.
            asset_fps: Their fingerprints.
            asset_kps: Their keypoints.
            th: The thresholds.
            skip: Unordered pairs (smaller index first) the hashes decided already.
        """
        key = batch_crops_key(scope, th)
        first: dict[str, int] = {}
        for q, sha in enumerate(asset_shas):
            first.setdefault(sha, q)
        state = _state(self._cache.get(key, "batch-crops", BATCH_CROPS_VERSION))
        new = [q for sha, q in first.items() if state is None or sha not in state[0]]
        kept: list[Figures] = []
        if state is not None and len(new) * 2 <= len(first):
            for sa, sb, n, k, m in state[1]:
                if sa in first and sb in first:
                    a, b = sorted((first[sa], first[sb]))
                    kept.append((a, b, n, k, m))
            joined = self._around(new, asset_shas, asset_fps, asset_kps, skip)
            self.computed = len(new)
        else:
            joined = similarity.figures(
                similarity.self_crop_candidates(asset_fps, asset_kps, skip=skip)
            )
            self.computed = len(asset_shas)
            # Every file's keypoints were read for the join: their sketches cost nothing more.
            self._sketch_all(asset_shas, asset_kps, new, known=False)
        pairs = sorted({(a, b): (a, b, n, k, m) for a, b, n, k, m in kept + joined}.values())
        pairs = [p for p in pairs if (p[0], p[1]) not in skip]
        if new or state is None or len(state[1]) != len(pairs):
            self._cache.put(
                key,
                "batch-crops",
                BATCH_CROPS_VERSION,
                {
                    "shas": sorted(first),
                    "pairs": [[asset_shas[a], asset_shas[b], n, k, m] for a, b, n, k, m in pairs],
                },
            )
        return similarity.rebuild(pairs, asset_fps, asset_fps)

    def _around(
        self,
        new: Sequence[int],
        shas: Sequence[str],
        fps: Sequence[hashing.Fingerprint],
        kps: Sequence[similarity.Keypoints | None],
        skip: Set[tuple[int, int]],
    ) -> list[Figures]:
        """The batch candidates of the new files, joined with the files they touch."""
        if not new:
            return []
        near = self.touched(shas, kps, new, limit=TOUCHED_PER_NEW * len(new) + TOUCHED_MIN)
        subset = sorted(set(new) | set(near))
        pos = {q: i for i, q in enumerate(subset)}
        found = similarity.self_crop_candidates(
            [fps[q] for q in subset],
            [kps[q] for q in subset],
            skip={(pos[a], pos[b]) for a, b in skip if a in pos and b in pos},
        )
        fresh = set(new)
        out = []
        for a, b, n, k, m in similarity.figures(found):
            qa, qb = subset[a], subset[b]
            if qa in fresh or qb in fresh:
                out.append((qa, qb, n, k, m))  # the subset is in batch order: qa < qb
        return out

    def touched(
        self,
        shas: Sequence[str],
        kps: Sequence[similarity.Keypoints | None],
        new: Sequence[int],
        *,
        limit: int,
    ) -> list[int]:
        """The files (not in ``new``) sharing the most sketch keys with the new ones.

        At most ``limit``, each with at least :data:`TOUCH_MIN_HITS`; sorted. The keypoints of
        a file are read only when its sketch is neither kept nor cached.
        """
        self._sketch_all(shas, kps, new, known=True)
        wanted = sorted(set(new))
        if not wanted:
            return []
        sketches = [self._sketches.get(sha, _NO_KEYS) for sha in shas]
        bitmap = np.zeros(1 << 25, dtype=bool)
        for q in wanted:
            bitmap[sketches[q]] = True
        sizes = np.fromiter((len(s) for s in sketches), dtype=np.intp, count=len(sketches))
        hit = bitmap[np.concatenate(sketches)] if sizes.sum() else np.zeros(0, dtype=bool)
        owner = np.repeat(np.arange(len(sketches)), sizes)
        hits = np.bincount(owner[hit], minlength=len(sketches))
        hits[wanted] = 0
        found = np.flatnonzero(hits >= TOUCH_MIN_HITS)
        order = np.argsort(-hits[found], kind="stable")[:limit]
        return sorted(int(q) for q in found[order])

    def keep_sketches(self, shas: Sequence[str]) -> None:
        """Have the cached sketches of these contents kept, for the next incremental join.

        The first rescan of a process would otherwise read every file's sketch (10,000 rows at
        10,000 assets) while its reviewer waits; a long-lived scan process reads them when it
        is idle. A sketch not cached is left to that join (made from the file's keypoints).
        """
        missing = [sha for sha in dict.fromkeys(shas) if sha not in self._sketches]
        found = self._cache.get_many(missing, "touch", TOUCH_VERSION) if missing else {}
        for sha, data in found.items():
            sketch = _unpack_sketch(data)
            if sketch is not None:
                self._sketches[sha] = sketch

    def _sketch_all(
        self,
        shas: Sequence[str],
        kps: Sequence[similarity.Keypoints | None],
        new: Sequence[int],
        *,
        known: bool,
    ) -> None:
        """Have a sketch of every file kept: from the process, the cache, or its keypoints.

        With ``known`` the new files' sketches are made from their keypoints (they are read
        for the join anyway) and the others looked up first.
        """
        fresh = {shas[q] for q in new} if known else set()
        missing = [sha for sha in dict.fromkeys(shas) if sha not in self._sketches]
        lookup = [sha for sha in missing if sha not in fresh]
        found = self._cache.get_many(lookup, "touch", TOUCH_VERSION) if known and lookup else {}
        kept: dict[str, npt.NDArray[np.uint32]] = {}
        made: list[tuple[str, Any]] = []
        first = {sha: q for q, sha in reversed(list(enumerate(shas)))}
        for sha in missing:
            sketch = _unpack_sketch(found.get(sha))
            if sketch is None:
                sketch = _sketch(kps[first[sha]])
                made.append((sha, base64.b64encode(sketch.tobytes()).decode("ascii")))
            kept[sha] = sketch
        present = set(shas)
        # Only this batch's files: a deleted or changed file's sketch goes.
        self._sketches = {sha: v for sha, v in self._sketches.items() if sha in present} | kept
        if made:
            self._cache.put_many(made, "touch", TOUCH_VERSION)


_NO_KEYS = np.zeros(0, dtype=np.uint32)


def _sketch(kp: similarity.Keypoints | None) -> npt.NDArray[np.uint32]:
    """The sketch of a file's descriptors: their :data:`TOUCH_KEYS` keys, tagged, unique."""
    if kp is None or len(kp[0]) == 0:
        return _NO_KEYS
    desc = np.ascontiguousarray(kp[0], dtype=np.uint8).reshape(-1, 32)
    parts = []
    for tag, start in enumerate(TOUCH_KEYS):
        key = desc[:, start].astype(np.uint32)
        key |= desc[:, (start + 1) % 32].astype(np.uint32) << np.uint32(8)
        key |= desc[:, (start + 2) % 32].astype(np.uint32) << np.uint32(16)
        parts.append(key | np.uint32(tag << 24))
    return np.unique(np.concatenate(parts))


def _unpack_sketch(data: Any) -> npt.NDArray[np.uint32] | None:
    """A cached sketch, checked (None: missing or damaged, made again)."""
    if not isinstance(data, str):
        return None
    try:
        raw = base64.b64decode(data.encode("ascii"), validate=True)
    except ValueError:
        return None
    if len(raw) % 4:
        return None
    keys = np.frombuffer(raw, dtype="<u4").astype(np.uint32)
    return keys if keys.size == 0 or int(keys.max()) < (1 << 25) else None


def _rows(data: Any, n_refs: int) -> list[tuple[int, int, int, bool]] | None:
    """A cached per-asset row, checked (None: missing or damaged, looked up again)."""
    if not isinstance(data, list):
        return None
    try:
        rows = [(int(r), int(n), int(k), bool(m)) for r, n, k, m in data]
    except (TypeError, ValueError):
        return None
    return rows if all(0 <= r < n_refs for r, *_ in rows) else None


def _state(data: Any) -> tuple[set[str], list[tuple[str, str, int, int, bool]]] | None:
    """The cached batch row, checked (None: missing or damaged, the batch is joined whole)."""
    if not isinstance(data, dict):
        return None
    try:
        shas = {str(s) for s in data["shas"]}
        pairs = [(str(a), str(b), int(n), int(k), bool(m)) for a, b, n, k, m in data["pairs"]]
    except (KeyError, TypeError, ValueError):
        return None
    return shas, pairs
