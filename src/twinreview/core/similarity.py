"""Finding derived copies among fingerprinted images: vectorised, two-stage, pure.

API (what the scan service calls)::

    from twinreview.core import hashing, similarity

    fp = hashing.fingerprint(img)                 # every image, cheap; cache fp.to_json()
    th = similarity.SimilarityThresholds.from_config(ws.config.get("similarity", {}))
    res = similarity.match(asset_fps, reference_fps, th)
    res.matches     # list[Match]: confirmed; Match.query / .ref index the two sequences
    res.undecided   # list[Pair]: the region hashes cannot decide; need hashing.detail()
    more = similarity.confirm(res.undecided, asset_details, reference_details, th)
    #   asset_details / reference_details: Mapping[int, Detail] (index -> Detail) holding
    #   at least the indices named in res.undecided (the scan decodes those files again).
    dups = similarity.match_within(asset_fps, th)   # self-join for duplicate_in_batch:
    #   Match.query < Match.ref, each unordered pair once, identical index never paired.
    #   Its undecided pairs go to confirm(pairs, details, details, th).

``Match.evidence`` is JSON-serialisable: ``hash`` (which hash decided), ``distance`` (bits),
``threshold``, ``mirrored`` and supporting figures.

How a pair is decided (see hashing.py for the hashes):

1. Candidates (all pairs, numpy on packed uint64): the query's probe (as is and mirrored) is
   compared with a few of the reference's grid boxes (:data:`CANDIDATE_BOXES`). Pairs within
   ``candidate`` bits go on. Unrelated photos rarely get there (~0.2 % of pairs).
2. Alignment (candidates only): both probes against all 256 grid boxes of the reference; the
   best box is the alignment. A match needs pHash distance <= ``match`` at that box AND dHash
   distance <= ``match_dhash`` at the same box (two hashes must agree: the minimum over 512
   alignments of one hash alone is too easily low). Pairs up to ``undecided`` bits that do
   not match are handed back as undecided.
3. Detail (undecided pairs only): imagehash's crop-resistant hash; a match needs
   ``detail_segments`` segments of the query within ``detail_bits`` of a reference segment.

Perceptual hashes find derived copies, not identity: never present a match as "same person".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from twinreview.core import hashing
from twinreview.core.hashing import Detail, Fingerprint

CANDIDATE_BOXES: tuple[int, ...] = (102, 180, 143, 68)
"""Grid boxes (indices into ``Fingerprint.grid``) used by the candidate stage. Chosen on the
calibration set (greedy cover of the crop range); each costs one popcount per pair."""

_CHUNK = 128  # queries per block: keeps the (chunk x refs) work arrays in cache


@dataclass(frozen=True)
class SimilarityThresholds:
    """Decision thresholds in bits (Hamming distances of 64-bit hashes).

    Defaults are calibrated by tests/test_similarity_calibration.py (see its docstring for
    the measured recall and margins). The ``[similarity]`` table of twinreview.toml can
    override any of them.

    Attributes:
        candidate: Stage 1: probe vs candidate boxes, pHash bits.
        match: Stage 2: best-aligned pHash bits for a match.
        match_dhash: Stage 2: dHash bits at the same alignment for a match.
        undecided: Stage 2: pairs up to this pHash distance that do not match are undecided.
        detail_bits: Stage 3: a segment matches when its dHash is within this many bits.
        detail_segments: Stage 3: segments that must match.
    """

    candidate: int = 18
    match: int = 10
    match_dhash: int = 14
    undecided: int = 14
    detail_bits: int = 6
    detail_segments: int = 2

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"similarity.{f.name} must be an integer, not {value!r}")
            upper = 16 if f.name == "detail_segments" else 64
            lower = 1 if f.name == "detail_segments" else 0
            if not lower <= value <= upper:
                raise ValueError(
                    f"similarity.{f.name} must be between {lower} and {upper}, not {value}"
                )
        if self.match > self.undecided:
            raise ValueError(
                f"similarity.match ({self.match}) must not exceed similarity.undecided ({self.undecided})"
            )
        if self.undecided > self.candidate:
            raise ValueError(
                f"similarity.undecided ({self.undecided}) must not exceed similarity.candidate ({self.candidate})"
            )

    @classmethod
    def from_config(cls, table: Mapping[str, Any] | None) -> SimilarityThresholds:
        """Build thresholds from the ``[similarity]`` table; missing keys keep defaults.

        Raises:
            ValueError: for unknown keys or out-of-range values, naming the key.
        """
        if table is None:
            return cls()
        if not isinstance(table, Mapping):
            raise ValueError("[similarity] must be a table")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(
                f"unknown key(s) in [similarity]: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        return cls(**{k: table[k] for k in table})


@dataclass(frozen=True)
class Pair:
    """A (query, reference) pair the region hashes left undecided."""

    query: int
    ref: int
    distance: int
    mirrored: bool
    box: int


@dataclass(frozen=True)
class Match:
    """A confirmed derived copy: ``query`` is (an edit of) ``ref``.

    Attributes:
        query: Index into the query sequence.
        ref: Index into the reference sequence.
        distance: The deciding Hamming distance in bits.
        mirrored: True when the query is a mirror image of the reference.
        evidence: JSON-serialisable facts: hash, distance, threshold, mirrored, ...
    """

    query: int
    ref: int
    distance: int
    mirrored: bool
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchResult:
    """What :func:`match` found."""

    matches: list[Match]
    undecided: list[Pair]


# --- Stage 1 ---------------------------------------------------------------------------

IntArray = npt.NDArray[np.intp]


def _candidate_block(
    probes: npt.NDArray[np.uint64],
    boxes: npt.NDArray[np.uint64],
    limit: int,
    exclude_offset: int | None,
) -> tuple[IntArray, IntArray]:
    """Candidates of one query block: (block row, ref column) pairs within ``limit`` bits."""
    n, n_ref = probes.shape[0], boxes.shape[0]
    work = np.empty((n, n_ref), dtype=np.uint64)
    dist = np.empty((n, n_ref), dtype=np.uint8)
    best = np.full((n, n_ref), 255, dtype=np.uint8)
    for p in range(probes.shape[1]):
        for k in range(boxes.shape[1]):
            np.bitwise_xor(probes[:, p, None], boxes[None, :, k], out=work)
            np.bitwise_count(work, out=dist)
            np.minimum(best, dist, out=best)
    if exclude_offset is not None:
        rows = np.arange(n)
        cols = rows + exclude_offset
        ok = cols < n_ref
        best[rows[ok], cols[ok]] = 255
    rows_c, cols_c = np.nonzero(best <= limit)
    return rows_c, cols_c


def _candidates(
    probes: npt.NDArray[np.uint64],
    boxes: npt.NDArray[np.uint64],
    limit: int,
    self_join: bool,
    executor: Executor | None,
) -> tuple[IntArray, IntArray]:
    starts = range(0, probes.shape[0], _CHUNK)

    def block(start: int) -> tuple[IntArray, IntArray]:
        rows, cols = _candidate_block(
            probes[start : start + _CHUNK], boxes, limit, start if self_join else None
        )
        return rows + start, cols

    parts: Iterator[tuple[IntArray, IntArray]]
    parts = executor.map(block, starts) if executor is not None else map(block, starts)
    collected = list(parts)
    if not collected:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    return np.concatenate([r for r, _ in collected]), np.concatenate([c for _, c in collected])


# --- Stage 2 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Aligned:
    q: IntArray
    r: IntArray
    phash: npt.NDArray[np.intp]
    dhash: npt.NDArray[np.intp]
    mirrored: npt.NDArray[np.bool_]
    box: IntArray


def _align(
    q_idx: IntArray,
    r_idx: IntArray,
    q_probes: npt.NDArray[np.uint64],
    q_probe_d: npt.NDArray[np.uint64],
    r_grid: npt.NDArray[np.uint64],
    r_grid_d: npt.NDArray[np.uint64],
) -> _Aligned:
    """Best alignment (probe x grid box) of each candidate pair, with both distances."""
    out_p, out_d, out_m, out_b = [], [], [], []
    step = 2048
    for s in range(0, len(q_idx), step):
        qi, ri = q_idx[s : s + step], r_idx[s : s + step]
        dist = np.bitwise_count(q_probes[qi][:, :, None] ^ r_grid[ri][:, None, :])  # (n, 2, G)
        flat = dist.reshape(len(qi), -1)
        arg = flat.argmin(axis=1)
        probe, box = np.divmod(arg, r_grid.shape[1])
        rows = np.arange(len(qi))
        out_p.append(flat[rows, arg].astype(np.intp))
        out_d.append(np.bitwise_count(q_probe_d[qi, probe] ^ r_grid_d[ri, box]).astype(np.intp))
        out_m.append(probe == 1)
        out_b.append(box)
    if not out_p:
        empty = np.zeros(0, dtype=np.intp)
        return _Aligned(q_idx, r_idx, empty, empty, np.zeros(0, dtype=bool), empty)
    return _Aligned(
        q_idx,
        r_idx,
        np.concatenate(out_p),
        np.concatenate(out_d),
        np.concatenate(out_m),
        np.concatenate(out_b),
    )


def _whole_frame(q: Fingerprint, r: Fingerprint, mirrored: bool) -> int:
    return ((q.phash_mirror if mirrored else q.phash) ^ r.phash).bit_count()


def _decide(
    aligned: _Aligned,
    queries: Sequence[Fingerprint],
    refs: Sequence[Fingerprint],
    th: SimilarityThresholds,
) -> MatchResult:
    is_match = (aligned.phash <= th.match) & (aligned.dhash <= th.match_dhash)
    is_open = ~is_match & (aligned.phash <= th.undecided)
    matches = []
    for i in np.flatnonzero(is_match):
        q, r = int(aligned.q[i]), int(aligned.r[i])
        mirrored = bool(aligned.mirrored[i])
        box = int(aligned.box[i])
        matches.append(
            Match(
                query=q,
                ref=r,
                distance=int(aligned.phash[i]),
                mirrored=mirrored,
                evidence={
                    "hash": "phash_region",
                    "distance": int(aligned.phash[i]),
                    "threshold": th.match,
                    "mirrored": mirrored,
                    "dhash_distance": int(aligned.dhash[i]),
                    "dhash_threshold": th.match_dhash,
                    "reference_region": list(hashing.grid_box(box)),
                    "whole_frame_phash_distance": _whole_frame(queries[q], refs[r], mirrored),
                },
            )
        )
    undecided = [
        Pair(
            query=int(aligned.q[i]),
            ref=int(aligned.r[i]),
            distance=int(aligned.phash[i]),
            mirrored=bool(aligned.mirrored[i]),
            box=int(aligned.box[i]),
        )
        for i in np.flatnonzero(is_open)
    ]
    return MatchResult(matches=matches, undecided=undecided)


def _run(
    queries: Sequence[Fingerprint],
    refs: Sequence[Fingerprint],
    th: SimilarityThresholds,
    self_join: bool,
    executor: Executor | None,
) -> tuple[_Aligned, MatchResult]:
    q_probes = hashing.stack(queries, "probes")
    q_probe_d = hashing.stack(queries, "probe_dhashes")
    r_grid = hashing.stack(refs, "grid")
    r_grid_d = hashing.stack(refs, "grid_dhash")
    if len(queries) == 0 or len(refs) == 0:
        aligned = _align(*(np.zeros(0, dtype=np.intp),) * 2, q_probes, q_probe_d, r_grid, r_grid_d)
        return aligned, MatchResult([], [])
    boxes = np.ascontiguousarray(r_grid[:, list(CANDIDATE_BOXES)])
    qi, ri = _candidates(np.ascontiguousarray(q_probes), boxes, th.candidate, self_join, executor)
    aligned = _align(qi, ri, q_probes, q_probe_d, r_grid, r_grid_d)
    return aligned, _decide(aligned, queries, refs, th)


def match(
    queries: Sequence[Fingerprint],
    refs: Sequence[Fingerprint],
    thresholds: SimilarityThresholds | None = None,
    executor: Executor | None = None,
) -> MatchResult:
    """Find queries that are derived copies of references.

    Args:
        queries: Fingerprints of the images under review (assets).
        refs: Fingerprints of the reference images.
        thresholds: Decision thresholds; calibrated defaults when None.
        executor: Optional executor to spread the all-pairs stage over threads (numpy
            releases the GIL); None runs it in the calling thread.

    Returns:
        Confirmed matches and the pairs that need :func:`confirm` with details.
    """
    th = thresholds or SimilarityThresholds()
    return _run(queries, refs, th, False, executor)[1]


def match_within(
    fingerprints: Sequence[Fingerprint],
    thresholds: SimilarityThresholds | None = None,
    executor: Executor | None = None,
) -> MatchResult:
    """Self-join for duplicates within one batch.

    Every ordered pair (i, j), i != j, is checked (a crop of B is found from B's side only);
    each unordered pair is reported once, as ``query < ref``, with the closer direction.
    """
    th = thresholds or SimilarityThresholds()
    result = _run(fingerprints, fingerprints, th, True, executor)[1]

    def canon(q: int, r: int) -> tuple[int, int]:
        return (q, r) if q < r else (r, q)

    best: dict[tuple[int, int], Match] = {}
    for m in result.matches:
        key = canon(m.query, m.ref)
        if key not in best or m.distance < best[key].distance:
            best[key] = Match(key[0], key[1], m.distance, m.mirrored, m.evidence)
    open_pairs: dict[tuple[int, int], Pair] = {}
    for p in result.undecided:
        key = canon(p.query, p.ref)
        if key in best:
            continue
        if key not in open_pairs or p.distance < open_pairs[key].distance:
            # Keep the direction: confirm() compares query segments against ref segments.
            open_pairs[key] = p
    return MatchResult(
        matches=sorted(best.values(), key=lambda m: (m.query, m.ref)),
        undecided=sorted(open_pairs.values(), key=lambda p: (p.query, p.ref)),
    )


# --- Stage 3 ---------------------------------------------------------------------------


def detail_matching_segments(
    query: Detail, ref: Detail, max_bits: int, mirrored: bool = False
) -> int:
    """Number of query segments within ``max_bits`` of some reference segment.

    With ``mirrored`` the query's segments also count in their mirrored form.
    """
    dist = np.bitwise_count(query.segments[:, None] ^ ref.segments[None, :])
    if mirrored:
        dist = np.minimum(
            dist, np.bitwise_count(query.segments_mirror[:, None] ^ ref.segments[None, :])
        )
    return int((dist.min(axis=1) <= max_bits).sum())


def confirm(
    pairs: Sequence[Pair],
    query_details: Mapping[int, Detail],
    ref_details: Mapping[int, Detail],
    thresholds: SimilarityThresholds | None = None,
) -> list[Match]:
    """Decide undecided pairs with the crop-resistant hashes.

    Args:
        pairs: ``MatchResult.undecided``.
        query_details: Detail of each query index named in ``pairs``.
        ref_details: Detail of each reference index named in ``pairs``.
        thresholds: Decision thresholds; calibrated defaults when None.

    Raises:
        KeyError: when a detail named by a pair is missing.
    """
    th = thresholds or SimilarityThresholds()
    out = []
    for p in pairs:
        count = detail_matching_segments(
            query_details[p.query], ref_details[p.ref], th.detail_bits, p.mirrored
        )
        if count >= th.detail_segments:
            out.append(
                Match(
                    query=p.query,
                    ref=p.ref,
                    distance=p.distance,
                    mirrored=p.mirrored,
                    evidence={
                        "hash": "crop_resistant",
                        "distance": p.distance,
                        "threshold": th.undecided,
                        "mirrored": p.mirrored,
                        "matching_segments": count,
                        "segment_bits": th.detail_bits,
                        "segments_required": th.detail_segments,
                        "reference_region": list(hashing.grid_box(p.box)),
                    },
                )
            )
    return out


def pairs_needing_detail(pairs: Sequence[Pair]) -> tuple[set[int], set[int]]:
    """Return (query indices, reference indices) whose Detail :func:`confirm` needs."""
    return {p.query for p in pairs}, {p.ref for p in pairs}
