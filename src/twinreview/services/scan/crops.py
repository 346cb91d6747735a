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
  with the files it shares the most local features with (:func:`featureindex.touched`), not
  with the whole batch (:func:`twinreview.core.similarity.match.self_crop_candidates` on that
  subset). A batch scanned from nothing, or mostly new, is joined whole. Between two unchanged
  files the candidates are therefore those of the scan that first saw them both; a full join
  could differ where a third picture changes the ratio test, and verification decides every
  pair alike.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from typing import Any

import numpy as np

from twinreview.core.similarity import featureindex, hashing
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
            joined = self._around(new, asset_fps, asset_kps, skip)
            self.computed = len(new)
        else:
            joined = similarity.figures(
                similarity.self_crop_candidates(asset_fps, asset_kps, skip=skip)
            )
            self.computed = len(asset_shas)
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

    @staticmethod
    def _around(
        new: Sequence[int],
        fps: Sequence[hashing.Fingerprint],
        kps: Sequence[similarity.Keypoints | None],
        skip: Set[tuple[int, int]],
    ) -> list[Figures]:
        """The batch candidates of the new files, joined with the files they touch."""
        if not new:
            return []
        none = np.zeros((0, 32), np.uint8)
        desc = [k[0] if k is not None else none for k in kps]
        near = featureindex.touched(
            desc, new, limit=TOUCHED_PER_NEW * len(new) + TOUCHED_MIN
        ).tolist()
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
