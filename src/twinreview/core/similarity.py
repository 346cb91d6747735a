"""Finding derived copies among fingerprinted images: vectorised, two-stage, pure.

API (what the scan service calls)::

    from twinreview.core import hashing, similarity

    fp = hashing.fingerprint(img)                 # every image, cheap; cache fp.to_json()
    th = similarity.SimilarityThresholds.from_config(ws.config.get("similarity", {}))
    res = similarity.match(asset_fps, reference_fps, th)
    res.matches     # list[Match]: confirmed; Match.query / .ref index the two sequences
    res.undecided   # list[(query, ref)]: the region hashes cannot decide; need details
    more = similarity.confirm(res.undecided, asset_details, reference_details, th)
    #   asset_details / reference_details: Mapping[int, Detail | None] (index -> Detail)
    #   for the indices named in res.undecided (the scan decodes those files again); a
    #   missing or None detail leaves its pair unmatched.
    dups = similarity.self_match(asset_fps, th)   # self-join for duplicate_in_batch:
    #   Match.query < Match.ref, each unordered pair once, identical index never paired.
    #   Its undecided pairs go to confirm(pairs, details, details, th).

``Match.evidence`` is JSON-serialisable: ``hash`` (which hash decided), ``distance`` (bits),
``threshold``, ``mirrored`` and supporting figures.

How a pair is decided (see hashing.py for the hashes):

1. Candidates (all pairs, numpy on packed uint64): the query's probe (as is and mirrored) is
   compared with a few of the reference's grid boxes (:data:`CANDIDATE_BOXES`). Pairs within
   ``candidate`` bits go on. Unrelated photos rarely get there (~0.1 % of pairs).
2. Alignment (candidates only): both probes against all 256 grid boxes of the reference; the
   best box is the alignment. A match needs pHash distance <= ``strong`` at that box, or
   pHash <= ``match`` AND dHash <= ``match_dhash`` at the same box (the minimum over 512
   alignments of one hash is easily lowish, two independent hashes agreeing is not).
   Pairs up to ``undecided`` pHash bits whose dHash disagrees are handed back as undecided.
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

CANDIDATE_BOXES: tuple[int, ...] = (102, 159, 177, 78, 149, 22)
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
        strong: Stage 2: best-aligned pHash bits that match on their own.
        match: Stage 2: best-aligned pHash bits that match when dHash agrees.
        match_dhash: Stage 2: dHash bits at the same alignment for a match.
        undecided: Stage 2: pairs up to this pHash distance whose dHash disagrees are
            undecided (sent to the detail stage). Kept low: each undecided pair costs a
            re-decode and ~0.2-0.4 s of crop-resistant hashing per image.
        detail_bits: Stage 3: a segment matches when its dHash is within this many bits.
        detail_segments: Stage 3: segments that must match.
    """

    candidate: int = 16
    strong: int = 8
    match: int = 14
    match_dhash: int = 16
    undecided: int = 10
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
        if self.strong > self.match:
            raise ValueError(
                f"similarity.strong ({self.strong}) must not exceed similarity.match ({self.match})"
            )
        if not self.strong <= self.undecided <= self.match:
            raise ValueError(
                f"similarity.undecided ({self.undecided}) must lie between "
                f"similarity.strong ({self.strong}) and similarity.match ({self.match})"
            )
        if self.match > self.candidate:
            raise ValueError(
                f"similarity.match ({self.match}) must not exceed "
                f"similarity.candidate ({self.candidate})"
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
        # Sub-tables such as [similarity.severity] belong to other settings.
        table = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(
                f"unknown key(s) in [similarity]: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})"
            )
        return cls(**{k: table[k] for k in table})


Pair = tuple[int, int]
"""(query index, reference index)."""


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
    aligned_distance: dict[Pair, int] = field(default_factory=dict)
    """Best-aligned pHash distance of each undecided pair (for evidence)."""


# --- Stage 1 ---------------------------------------------------------------------------

IntArray = npt.NDArray[np.intp]


def _candidate_block(
    probes: npt.NDArray[np.uint64],
    boxes: npt.NDArray[np.uint64],
    limit: int,
    exclude_offset: int | None,
) -> tuple[IntArray, IntArray]:
    """Candidates of one query block: (block row, ref column) pairs within ``limit`` bits.

    Args:
        probes: (n_probe_kinds, block) contiguous probe hashes of the block's queries.
        boxes: (n_boxes, n_ref) contiguous candidate-box hashes of the references.
        limit: Largest distance that makes a candidate.
        exclude_offset: For a self-join, the block's first query index (its own column is
            excluded); None otherwise.
    """
    n, n_ref = probes.shape[1], boxes.shape[1]
    work = np.empty((n, n_ref), dtype=np.uint64)
    dist = np.empty((n, n_ref), dtype=np.uint8)
    best = np.full((n, n_ref), 255, dtype=np.uint8)
    for p in range(probes.shape[0]):
        column = probes[p][:, None]
        for k in range(boxes.shape[0]):
            np.bitwise_xor(column, boxes[k][None, :], out=work)
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
    starts = range(0, probes.shape[1], _CHUNK)

    def block(start: int) -> tuple[IntArray, IntArray]:
        rows, cols = _candidate_block(
            probes[:, start : start + _CHUNK], boxes, limit, start if self_join else None
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
    strong = aligned.phash <= th.strong
    is_match = strong | ((aligned.phash <= th.match) & (aligned.dhash <= th.match_dhash))
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
                    "threshold": th.strong if strong[i] else th.match,
                    "mirrored": mirrored,
                    "dhash_distance": int(aligned.dhash[i]),
                    "dhash_threshold": None if strong[i] else th.match_dhash,
                    "reference_region": list(hashing.grid_box(box)),
                    "whole_frame_phash_distance": _whole_frame(queries[q], refs[r], mirrored),
                },
            )
        )
    open_idx = np.flatnonzero(is_open)
    undecided = [(int(aligned.q[i]), int(aligned.r[i])) for i in open_idx]
    distances = {(int(aligned.q[i]), int(aligned.r[i])): int(aligned.phash[i]) for i in open_idx}
    return MatchResult(matches=matches, undecided=undecided, aligned_distance=distances)


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
    boxes = np.ascontiguousarray(r_grid[:, list(CANDIDATE_BOXES)].T)
    qi, ri = _candidates(np.ascontiguousarray(q_probes.T), boxes, th.candidate, self_join, executor)
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


def self_match(
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
    open_pairs = {canon(q, r): result.aligned_distance[(q, r)] for q, r in result.undecided}
    for key in best:
        open_pairs.pop(key, None)
    return MatchResult(
        matches=sorted(best.values(), key=lambda m: (m.query, m.ref)),
        undecided=sorted(open_pairs),
        aligned_distance=open_pairs,
    )


# --- Stage 3 ---------------------------------------------------------------------------


def detail_matching_segments(query: Detail, ref: Detail, max_bits: int) -> tuple[int, int, bool]:
    """Count query segments within ``max_bits`` of some reference segment.

    A crop-resistant hash carries no alignment, so the query's segments are tried as they are
    and mirrored; the orientation with more matching segments wins.

    Returns:
        (matching segments, closest segment distance, mirrored).
    """
    plain = np.bitwise_count(query.segments[:, None] ^ ref.segments[None, :]).min(axis=1)
    flipped = np.bitwise_count(query.segments_mirror[:, None] ^ ref.segments[None, :]).min(axis=1)
    n_plain, n_flipped = int((plain <= max_bits).sum()), int((flipped <= max_bits).sum())
    if n_flipped > n_plain:
        return n_flipped, int(flipped.min()), True
    return n_plain, int(plain.min()), False


def confirm(
    pairs: Sequence[Pair],
    query_details: Mapping[int, Detail | None],
    ref_details: Mapping[int, Detail | None],
    thresholds: SimilarityThresholds | None = None,
) -> list[Match]:
    """Decide undecided pairs with the crop-resistant hashes.

    Args:
        pairs: ``MatchResult.undecided``: (query, ref) index pairs.
        query_details: Detail of each query index named in ``pairs``.
        ref_details: Detail of each reference index named in ``pairs``.
        thresholds: Decision thresholds; calibrated defaults when None.

    Returns:
        The pairs that match; a pair whose detail is missing or None does not.
    """
    th = thresholds or SimilarityThresholds()
    out = []
    for q, r in pairs:
        qd, rd = query_details.get(q), ref_details.get(r)
        if qd is None or rd is None:
            continue
        count, distance, mirrored = detail_matching_segments(qd, rd, th.detail_bits)
        if count >= th.detail_segments:
            out.append(
                Match(
                    query=q,
                    ref=r,
                    distance=distance,
                    mirrored=mirrored,
                    evidence={
                        "hash": "crop_resistant",
                        "distance": distance,
                        "threshold": th.detail_bits,
                        "mirrored": mirrored,
                        "matching_segments": count,
                        "segments_required": th.detail_segments,
                    },
                )
            )
    return out


def pairs_needing_detail(pairs: Sequence[Pair]) -> tuple[set[int], set[int]]:
    """Return (query indices, reference indices) whose Detail :func:`confirm` needs."""
    return {q for q, _ in pairs}, {r for _, r in pairs}
