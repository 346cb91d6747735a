"""Finding derived copies among fingerprinted images: vectorised, two-stage, pure.

API (what the scan service calls)::

    from twinreview.core import geometry, hashing, similarity

    fp = hashing.fingerprint(img)                 # every image, cheap; cache fp.to_json()
    th = similarity.SimilarityThresholds.from_config(ws.config.get("similarity", {}))
    cands = similarity.candidates(asset_fps, reference_fps, th)   # stages 1 and 2
    dups = similarity.self_candidates(asset_fps, th)   # the same within one batch
    for c in cands:                               # each candidate confirmed geometrically
        v = None if c.clear_cut(th) else geometry.verify(prepared[c.query], ...)
        m = similarity.decide(c, v, th)           # Match or None

Hashes alone decide nothing in the scan any more: on portraits (centred heads on similar
backdrops) they raised false blocks. A candidate becomes a finding when geometric verification
confirms it (:func:`decide`, :mod:`twinreview.core.geometry`), or when it is clear-cut (within
``clear_cut`` / ``clear_cut_dhash`` bits: no two different photos of the face corpus come near),
or, for a picture with too few keypoints to verify, by the hash rule below.

The hash-only API is kept (``resubmitted_rejected`` compares with rejected bytes that may be
gone; the calibration of the hash stage measures it)::

    res = similarity.match(asset_fps, reference_fps, th)
    res.matches     # list[Match]: confirmed; Match.query / .ref index the two sequences
    res.undecided   # list[(query, ref)]: the region hashes cannot decide; need details
    more = similarity.confirm(res.undecided, asset_details, reference_details, th)
    #   asset_details / reference_details: Mapping[int, Detail | None] (index -> Detail)
    #   for the indices named in res.undecided; a missing or None detail leaves its pair
    #   unmatched.
    dups = similarity.self_match(asset_fps, th)   # self-join for duplicate_in_batch:
    #   Match.query < Match.ref, each unordered pair once, identical index never paired.
    #   Its undecided pairs go to confirm(pairs, details, details, th).

``Match.evidence`` is JSON-serialisable: ``hash`` (which hash decided), ``distance`` (bits),
``threshold``, ``mirrored`` and supporting figures.

How a pair is decided (see hashing.py for the hashes):

1. Candidates (a bucket join, near-linear instead of all pairs): ten 16-bit keys
   (:data:`CANDIDATE_KEYS`, bytes of the pHash and dHash) are taken from both probes of every
   query (as is and mirrored) and from all 256 grid boxes of every reference. Queries are
   bucketed by key (a counting sort); the references' keys are looked up in blocks of
   :data:`_BLOCK_REFS` references. Each collision is one alignment (probe, box) whose two
   hashes agree on 16 bits; it is verified on the full hashes at once (:func:`_verified`).
   Random 16-bit collisions cost one lookup each: ~0.08 per pair for random hashes, ~0.13
   on the calibration photos; ~0.02 % of unrelated pairs pass the verification.
   Near-identical images collide at many alignments, which costs up to a few hundred
   lookups per such pair; exact duplicates among the queries are joined once.
2. Alignment (candidates only): both probes against all 256 grid boxes of the reference; the
   best box is the alignment. A match needs pHash distance <= ``strong`` at that box, or
   pHash <= ``match`` AND dHash <= ``match_dhash`` at the same box (the minimum over 512
   alignments of one hash is easily lowish, two independent hashes agreeing is not).
   Pairs up to ``undecided`` pHash bits whose dHash disagrees are handed back as undecided.
3. Detail (undecided pairs only): imagehash's crop-resistant hash; a match needs
   ``detail_segments`` segments of the query within ``detail_bits`` of a reference segment.

Stage 1 looks at every alignment, not at six fixed boxes like the dense all-pairs stage it
replaced, and finds more copies: on the calibration set and five more random draws of its
edits, 4-7 more of each 567 copies, while 0-3 that the dense stage found are lost. A copy is
missed when none of its close alignments keeps any of the keys intact: mostly textures
(brick, gravel), whose hashes are unstable, under crop and rotation. 10,000 assets x 2,000
references: ~40-45 ms on one core, ~7x faster than the dense stage
(tests/benchmarks/bench_match.py).

Perceptual hashes find derived copies, not identity: never present a match as "same person".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from twinreview.core import geometry, hashing
from twinreview.core.hashing import Detail, Fingerprint


@dataclass(frozen=True)
class SimilarityThresholds:
    """Decision thresholds in bits (Hamming distances of 64-bit hashes).

    Defaults are calibrated by tests/test_similarity_calibration.py (see its docstring for
    the measured recall and margins). The ``[similarity]`` table of twinreview.toml can
    override any of them.

    Attributes:
        candidate: Stage 1: pHash bits at a colliding alignment for the pair to be aligned
            (up to ``candidate`` + :data:`CANDIDATE_SLACK` when the dHash there is within
            ``match_dhash``).
        strong: Stage 2: best-aligned pHash bits that match on their own.
        match: Stage 2: best-aligned pHash bits that match when dHash agrees.
        match_dhash: Stage 2: dHash bits at the same alignment for a match.
        undecided: Stage 2: pairs up to this pHash distance whose dHash disagrees are
            undecided (sent to the detail stage). Kept low: each undecided pair costs a
            re-decode and ~0.2-0.4 s of crop-resistant hashing per image.
        detail_bits: Stage 3: a segment matches when its dHash is within this many bits.
        detail_segments: Stage 3: segments that must match.
        min_inliers: Geometric verification (:func:`decide`): keypoint matches that must agree
            with one transform for a candidate to be a derived copy.
        min_agreement: Geometric verification: percentage of the textured overlap where the
            placed copy must show the same detail as the original.
        clear_cut: A candidate whose best alignment is within ``clear_cut`` pHash bits and
            ``clear_cut_dhash`` dHash bits is a copy without geometric verification (a
            re-encode, a light retouch). -1 verifies every candidate.
        clear_cut_dhash: See ``clear_cut``.
    """

    candidate: int = 16
    strong: int = 8
    match: int = 14
    match_dhash: int = 16
    undecided: int = 10
    detail_bits: int = 6
    detail_segments: int = 2
    min_inliers: int = 20
    min_agreement: int = 88
    clear_cut: int = 4
    clear_cut_dhash: int = 8

    def __post_init__(self) -> None:
        bounds = {
            "detail_segments": (1, 16),
            "min_inliers": (4, geometry.N_FEATURES),
            "min_agreement": (0, 100),
            "clear_cut": (-1, self.strong),
            "clear_cut_dhash": (0, self.match_dhash),
        }
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"similarity.{f.name} must be an integer, not {value!r}")
            lower, upper = bounds.get(f.name, (0, 64))
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

_Row = tuple[Literal["phash", "dhash"], int]
"""One byte of a 64-bit hash: which hash, and which row (0 = most significant byte; a
pHash row is a row of the 8 x 8 DCT signs, a dHash row one row of gradient signs)."""

CANDIDATE_KEYS: tuple[tuple[_Row, _Row], ...] = (
    (("phash", 2), ("phash", 6)),
    (("phash", 3), ("phash", 7)),
    *((("phash", i), ("dhash", (i + 3) % 8)) for i in range(4)),
    *((("dhash", i), ("dhash", i + 4)) for i in range(4)),
)
"""The 16-bit keys of the candidate stage: (high byte, low byte). A pair is a candidate when
one key of a query probe equals the same key of one of the reference's 256 grid boxes (at
that alignment the two hashes then agree on 16 given bits) and the full hashes at that
alignment pass :func:`_verified`. Rows far apart, and pHash rows mixed with dHash rows, keep
the keys of unrelated images nearly independent. The dHash rows find the hard pairs of
photos and documents (rotation + crop + label); the pHash-only keys find textures, whose
dHash is unstable. Chosen on the calibration set and checked on five more random draws of
its edits (see the module docstring); two more pHash keys (rows 0-4 and 1-5) found 2 more of
~3,300 copies over the six draws for ~15 % more time, eight keys (no pHash-only ones) 4
fewer for ~15 % less."""

CANDIDATE_SLACK = 4
"""Stage 1 also passes an alignment whose pHash is up to this many bits beyond
``candidate`` when its dHash is within ``match_dhash``: the key may collide on a box next
to the best one, where the pHash is a little worse."""

_N_KEYS = 1 << 16
_BLOCK_REFS = 512
"""References per block of the candidate stage (131,072 grid boxes): bounds the temporary
arrays of a block to a few hundred KB, which numpy takes from reused heap memory (a fresh page
can cost more than the work done on it), while keeping numpy calls few; several blocks let an
executor share the work. The measured range is in tests/benchmarks/RESULTS.md."""

IntArray = npt.NDArray[np.intp]
U64Array = npt.NDArray[np.uint64]
U16Array = npt.NDArray[np.uint16]
U8Array = npt.NDArray[np.uint8]


def _bytes(values: U64Array) -> U8Array:
    """View 64-bit hashes as (n, 8) bytes, least significant first (row 7 in column 0)."""
    return np.ascontiguousarray(values, dtype="<u8").reshape(-1).view(np.uint8).reshape(-1, 8)


def _key(hash_bytes: Mapping[str, U8Array], spec: tuple[_Row, _Row]) -> U16Array:
    """The 16-bit candidate key ``spec`` of every hash (see :func:`_bytes`)."""
    (hash_a, row_a), (hash_b, row_b) = spec
    key = np.empty(len(hash_bytes[hash_a]), dtype="<u2")
    # Two strided byte copies: cheaper than shifting and masking 16-bit words.
    halves = key.view(np.uint8).reshape(-1, 2)
    halves[:, 1] = hash_bytes[hash_a][:, 7 - row_a]
    halves[:, 0] = hash_bytes[hash_b][:, 7 - row_b]
    return key


@dataclass(frozen=True)
class _QueryIndex:
    """Query probes bucketed by one key (a counting sort over the 65,536 key values).

    ``slot[key]`` is -1 for an empty bucket, the probe entry itself when the bucket holds one
    entry (the common case: one lookup finds it), and ``-2 - start`` when it holds several,
    ``order[start : start + size[start]]`` being its entries.
    """

    slot: npt.NDArray[np.int32]
    order: npt.NDArray[np.int32]
    size: IntArray

    @classmethod
    def build(cls, keys: U16Array) -> _QueryIndex:
        order = np.argsort(keys, kind="stable").astype(np.int32)
        slot = np.full(_N_KEYS, -1, dtype=np.int32)
        size = np.zeros(len(order), dtype=np.intp)
        if order.size:
            # Runs of equal keys in sorted order are the buckets.
            sorted_keys = np.take(keys, order)
            run_starts = np.flatnonzero(np.diff(sorted_keys, prepend=sorted_keys[0] ^ 1))
            run_sizes = np.diff(run_starts, append=len(order))
            slot[sorted_keys[run_starts]] = np.where(
                run_sizes == 1, np.take(order, run_starts), -2 - run_starts
            )
            size[run_starts] = run_sizes
        return cls(slot, order, size)

    def join(self, keys: U16Array) -> list[tuple[npt.NDArray[np.int32], IntArray]]:
        """Every (query entry, position in ``keys``) pair with equal keys, in one or two parts."""
        slots = np.take(self.slot, keys)
        pos = np.flatnonzero(slots != -1)
        entries = np.take(slots, pos)
        if entries.size == 0 or entries.min() >= 0:
            return [(entries, pos)]
        # Buckets holding several probes: the first member in place, the others appended.
        multi = np.flatnonzero(entries < 0)
        starts = -2 - entries[multi]
        extra = np.take(self.size, starts) - 1
        entries[multi] = np.take(self.order, starts)
        ends = np.cumsum(extra)
        rank = np.arange(1, int(ends[-1]) + 1) - np.repeat(ends - extra, extra)
        more = np.take(self.order, np.repeat(starts, extra) + rank)
        return [(entries, pos), (more, np.repeat(pos[multi], extra))]


def _verified(
    phash_bits: npt.NDArray[np.uint8],
    dhash_bits: Callable[[IntArray], npt.NDArray[np.uint8]],
    th: SimilarityThresholds,
    phash_key: bool,
) -> IntArray:
    """Indices of colliding alignments close enough to be worth aligning properly.

    A key made of pHash bytes only already makes 16 of the 64 pHash bits agree, so its
    collisions must be closer on the pHash, or agree on the dHash too.
    """
    if phash_key:
        loose, alone, dhash_limit = (
            th.candidate,
            th.candidate - CANDIDATE_SLACK,
            th.match_dhash + CANDIDATE_SLACK,
        )
    else:
        loose, alone, dhash_limit = th.candidate + CANDIDATE_SLACK, th.candidate, th.match_dhash
    near = np.flatnonzero(phash_bits <= loose)
    if near.size == 0:
        return near
    ok = (phash_bits[near] <= alone) | (dhash_bits(near) <= dhash_limit)
    return near[ok]


def _identical_groups(q_probes: U64Array, q_probe_d: U64Array) -> IntArray | None:
    """Group index of each query when some queries have identical probes, else None.

    Exact duplicates in a batch (the same file twice, blank frames) collide with each other
    on every key at many boxes; joining one of each and copying its candidates keeps the
    work near the number of pairs.
    """
    rows = np.concatenate((q_probes, q_probe_d), axis=1)
    mixed = rows[:, 0] ^ (rows[:, 1] * np.uint64(0x9E3779B97F4A7C15)) ^ (rows[:, 2] >> np.uint64(7))
    mixed ^= rows[:, 3] * np.uint64(0xC2B2AE3D27D4EB4F)
    _, first, group = np.unique(mixed, return_index=True, return_inverse=True)
    if len(first) == len(rows):
        return None
    # Equal mixes of different rows (a hash collision) are not duplicates: own groups.
    unequal = np.flatnonzero((rows != rows[first[group]]).any(axis=1))
    group = group.astype(np.intp)
    group[unequal] = len(first) + np.arange(len(unequal))
    return group


def _candidates(
    q_probes: U64Array,
    q_probe_d: U64Array,
    refs: Sequence[Fingerprint],
    th: SimilarityThresholds,
    self_join: bool,
    executor: Executor | None,
) -> tuple[IntArray, IntArray]:
    """Stage 1: (query, ref) index pairs, each once, sorted by query then ref."""
    n_ref = len(refs)
    group = _identical_groups(q_probes, q_probe_d)
    if group is not None:
        _, first = np.unique(group, return_index=True)
        q_probes, q_probe_d = q_probes[first], q_probe_d[first]
    q_ph, q_dh = q_probes.reshape(-1), q_probe_d.reshape(-1)  # entry = 2 * query + mirrored
    q_bytes = {"phash": _bytes(q_ph), "dhash": _bytes(q_dh)}
    indexes = [_QueryIndex.build(_key(q_bytes, spec)) for spec in CANDIDATE_KEYS]

    def block(start: int) -> npt.NDArray[np.int64]:
        chunk = refs[start : start + _BLOCK_REFS]
        g_ph = np.concatenate([fp.grid for fp in chunk])  # entry = GRID_SIZE * ref + box
        g_dh = np.concatenate([fp.grid_dhash for fp in chunk])
        g_bytes = {"phash": _bytes(g_ph), "dhash": _bytes(g_dh)}
        found = []
        for spec, index in zip(CANDIDATE_KEYS, indexes, strict=True):
            for qe, ge in index.join(_key(g_bytes, spec)):
                ph = np.bitwise_count(np.take(q_ph, qe) ^ np.take(g_ph, ge))
                ok = _verified(
                    ph,
                    lambda i: np.bitwise_count(np.take(q_dh, qe[i]) ^ np.take(g_dh, ge[i])),  # noqa: B023
                    th,
                    spec[0][0] == spec[1][0] == "phash",
                )
                q = qe[ok] // 2
                r = ge[ok] // hashing.GRID_SIZE + start
                codes = q.astype(np.int64) * n_ref + r
                # Near-identical images verify at many alignments: keep each pair once.
                found.append(np.unique(codes) if codes.size > 4096 else codes)
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    starts = range(0, n_ref, _BLOCK_REFS)
    parts = list(executor.map(block, starts) if executor is not None else map(block, starts))
    codes = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
    q_idx, r_idx = np.divmod(codes, n_ref)
    if group is not None:
        # Every member of a group of identical queries has its group's candidates.
        order = np.argsort(group, kind="stable")
        sizes = np.bincount(group)
        group_starts = np.cumsum(sizes) - sizes
        n = np.take(sizes, q_idx)
        ends = np.cumsum(n)
        rank = np.arange(int(ends[-1]) if ends.size else 0) - np.repeat(ends - n, n)
        members = np.take(order, np.repeat(np.take(group_starts, q_idx), n) + rank)
        codes = np.unique(members.astype(np.int64) * n_ref + np.repeat(r_idx, n))
        q_idx, r_idx = np.divmod(codes, n_ref)
    if self_join:
        keep = q_idx != r_idx
        q_idx, r_idx = q_idx[keep], r_idx[keep]
    return q_idx.astype(np.intp), r_idx.astype(np.intp)


# --- Stage 2 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Aligned:
    q: IntArray
    r: IntArray
    phash: npt.NDArray[np.intp]
    dhash: npt.NDArray[np.intp]
    mirrored: npt.NDArray[np.bool_]
    box: IntArray


_ALIGN_STEP = 64  # pairs per step: (64 x 256) uint64 temporaries stay in L2


def _align(
    q_idx: IntArray,
    r_idx: IntArray,
    q_probes: U64Array,
    q_probe_d: U64Array,
    r_grid: U64Array,
    r_grid_d: U64Array,
) -> _Aligned:
    """Best alignment (probe x grid box) of each candidate pair, with both distances."""
    n, n_box = len(q_idx), r_grid.shape[1]
    best_p = np.empty(n, dtype=np.intp)
    best_d = np.empty(n, dtype=np.intp)
    best_a = np.empty(n, dtype=np.intp)
    dist = np.empty((_ALIGN_STEP, 2 * n_box), dtype=np.uint8)
    for s in range(0, n, _ALIGN_STEP):
        qi, ri = q_idx[s : s + _ALIGN_STEP], r_idx[s : s + _ALIGN_STEP]
        m = len(qi)
        grid, probes = r_grid[ri], q_probes[qi]
        np.bitwise_count(grid ^ probes[:, :1], out=dist[:m, :n_box])
        np.bitwise_count(grid ^ probes[:, 1:], out=dist[:m, n_box:])
        arg = dist[:m].argmin(axis=1)
        best_a[s : s + m] = arg
        best_p[s : s + m] = dist[np.arange(m), arg]
    probe, box = np.divmod(best_a, n_box)
    best_d[:] = np.bitwise_count(q_probe_d[q_idx, probe] ^ r_grid_d[r_idx, box])
    return _Aligned(q_idx, r_idx, best_p, best_d, probe == 1, box)


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


def _gather(fps: Sequence[Fingerprint], indices: IntArray, name: str) -> U64Array:
    """Stack one array field of the fingerprints at ``indices`` into (len(indices), width)."""
    width = hashing.GRID_SIZE if name.startswith("grid") else 2
    if indices.size == 0:
        return np.zeros((0, width), dtype=np.uint64)
    return np.concatenate([getattr(fps[i], name) for i in indices.tolist()]).reshape(-1, width)


def _aligned(
    queries: Sequence[Fingerprint],
    refs: Sequence[Fingerprint],
    th: SimilarityThresholds,
    self_join: bool,
    executor: Executor | None,
) -> _Aligned | None:
    """Stages 1 and 2: every candidate pair at its best alignment (None when there is none)."""
    if len(queries) == 0 or len(refs) == 0:
        return None
    # Concatenating the small per-fingerprint arrays is cheaper than np.stack.
    q_probes = np.concatenate([fp.probes for fp in queries]).reshape(-1, 2)
    q_probe_d = np.concatenate([fp.probe_dhashes for fp in queries]).reshape(-1, 2)
    qi, ri = _candidates(q_probes, q_probe_d, refs, th, self_join, executor)
    # Stage 2 needs the grids of the candidate references only.
    used, r_pos = np.unique(ri, return_inverse=True)
    aligned = _align(
        qi,
        r_pos.astype(np.intp),
        q_probes,
        q_probe_d,
        _gather(refs, used, "grid"),
        _gather(refs, used, "grid_dhash"),
    )
    return replace(aligned, r=ri)


def _run(
    queries: Sequence[Fingerprint],
    refs: Sequence[Fingerprint],
    th: SimilarityThresholds,
    self_join: bool,
    executor: Executor | None,
) -> MatchResult:
    aligned = _aligned(queries, refs, th, self_join, executor)
    if aligned is None:
        return MatchResult([], [])
    return _decide(aligned, queries, refs, th)


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
    return _run(queries, refs, th, False, executor)


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
    result = _run(fingerprints, fingerprints, th, True, executor)

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


# --- Candidates for geometric verification ------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A pair the hashes found (stage 1) at its best alignment (stage 2), to be verified.

    Attributes:
        query: Index into the query sequence.
        ref: Index into the reference sequence.
        distance: pHash bits at the best alignment.
        dhash_distance: dHash bits at the same alignment.
        mirrored: True when the query's mirrored probe aligned best.
        box: The reference's grid box of the best alignment (see :func:`hashing.grid_box`).
        whole_frame: Whole-frame pHash bits (in the same orientation).
    """

    query: int
    ref: int
    distance: int
    dhash_distance: int
    mirrored: bool
    box: int
    whole_frame: int

    def clear_cut(self, th: SimilarityThresholds) -> bool:
        """True when the hashes are so close that no verification is needed."""
        return self.distance <= th.clear_cut and self.dhash_distance <= th.clear_cut_dhash

    def hash_match(self, th: SimilarityThresholds) -> bool:
        """True when the hashes alone call the pair a copy (the rule of :func:`match`)."""
        return self.distance <= th.strong or (
            self.distance <= th.match and self.dhash_distance <= th.match_dhash
        )

    def hash_evidence(self) -> dict[str, Any]:
        """What the hashes found, JSON-serialisable."""
        return {
            "distance": self.distance,
            "dhash_distance": self.dhash_distance,
            "reference_region": list(hashing.grid_box(self.box)),
            "whole_frame_phash_distance": self.whole_frame,
        }


def _candidate_list(
    aligned: _Aligned | None, queries: Sequence[Fingerprint], refs: Sequence[Fingerprint]
) -> list[Candidate]:
    if aligned is None:
        return []
    out = []
    for i in range(len(aligned.q)):
        q, r, mirrored = int(aligned.q[i]), int(aligned.r[i]), bool(aligned.mirrored[i])
        out.append(
            Candidate(
                q,
                r,
                int(aligned.phash[i]),
                int(aligned.dhash[i]),
                mirrored,
                int(aligned.box[i]),
                _whole_frame(queries[q], refs[r], mirrored),
            )
        )
    return out


def candidates(
    queries: Sequence[Fingerprint],
    refs: Sequence[Fingerprint],
    thresholds: SimilarityThresholds | None = None,
    executor: Executor | None = None,
) -> list[Candidate]:
    """Every pair the candidate stage finds, each to be confirmed by :func:`decide`.

    The band is loose on purpose (every pair whose hashes agree at some alignment within
    ``candidate`` (+ :data:`CANDIDATE_SLACK`) bits): geometric verification, not the hash
    distance, decides. Sorted by query, then reference.
    """
    th = thresholds or SimilarityThresholds()
    return _candidate_list(_aligned(queries, refs, th, False, executor), queries, refs)


def self_candidates(
    fingerprints: Sequence[Fingerprint],
    thresholds: SimilarityThresholds | None = None,
    executor: Executor | None = None,
) -> list[Candidate]:
    """Candidates within one batch: each unordered pair once, sorted.

    Both directions are joined (a crop of B is found from B's side only); the direction whose
    hashes align closer is kept as it is (``query`` may be the larger index).
    """
    th = thresholds or SimilarityThresholds()
    found = _candidate_list(
        _aligned(fingerprints, fingerprints, th, True, executor), fingerprints, fingerprints
    )
    best: dict[tuple[int, int], Candidate] = {}
    for c in found:
        key = (min(c.query, c.ref), max(c.query, c.ref))
        if key not in best or c.distance < best[key].distance:
            best[key] = c
    return [best[k] for k in sorted(best)]


def decide(
    cand: Candidate,
    verification: geometry.Verification | None,
    thresholds: SimilarityThresholds | None = None,
    *,
    unverified: str = "too few keypoints to verify",
) -> Match | None:
    """Turn a candidate and its geometric verification into a match, or None.

    - A clear-cut candidate (:meth:`Candidate.clear_cut`) is a copy whatever ``verification``
      says; the scan does not verify it. On the real portraits of the face corpus no two
      different photos come near the clear-cut band (tests/test_similarity_corpus.py), while
      most re-encodes and light retouches fall in it.
    - A verified pair is a copy when at least ``min_inliers`` keypoint matches agree with one
      transform and at least ``min_agreement`` percent of the overlap shows the same detail.
    - When verification was not possible (``verification`` is None, or an image has fewer
      than :data:`geometry.MIN_KEYPOINTS` keypoints: a tiny or flat picture), the hashes
      decide alone, as :func:`match` does, and the evidence says so (``unverified`` gives the
      reason when ``verification`` is None).

    Returns:
        The match; ``Match.mirrored`` and the evidence's homography are the verified
        orientation's. Evidence: the hash figures, ``verification`` ("geometry", or why it
        was not needed or not possible), and for a verified pair ``inliers``,
        ``min_inliers``, ``agreement``, ``min_agreement`` (both 0-1), ``homography`` (asset
        fractions to reference fractions, 3 x 3) and ``asset_region`` (the asset's corners
        in the reference, fractions).
    """
    th = thresholds or SimilarityThresholds()
    if cand.clear_cut(th):
        evidence: dict[str, Any] = {
            "hash": "phash_region",
            "threshold": th.clear_cut,
            "mirrored": cand.mirrored,
            "dhash_threshold": th.clear_cut_dhash,
            **cand.hash_evidence(),
            "verification": "not needed: clear-cut hash match",
        }
        return Match(cand.query, cand.ref, cand.distance, cand.mirrored, evidence)
    if verification is None or not verification.possible:
        if not cand.hash_match(th):
            return None
        strong = cand.distance <= th.strong
        why = unverified if verification is None else "too few keypoints to verify"
        evidence = {
            "hash": "phash_region",
            "threshold": th.strong if strong else th.match,
            "mirrored": cand.mirrored,
            "dhash_threshold": None if strong else th.match_dhash,
            **cand.hash_evidence(),
            "verification": f"not possible: {why}",
            "keypoints": None if verification is None else list(verification.keypoints),
        }
        return Match(cand.query, cand.ref, cand.distance, cand.mirrored, evidence)
    v = verification
    if v.inliers < th.min_inliers or v.agreement is None:
        return None
    if v.agreement * 100 < th.min_agreement:
        return None
    evidence = {
        "hash": "phash_region",
        "mirrored": v.mirrored,
        **cand.hash_evidence(),
        "verification": "geometry",
        "inliers": v.inliers,
        "min_inliers": th.min_inliers,
        "agreement": v.agreement,
        "min_agreement": th.min_agreement / 100,
        "homography": [list(r) for r in v.homography] if v.homography else None,
        "asset_region": v.asset_region(),
        "keypoints": list(v.keypoints),
    }
    return Match(cand.query, cand.ref, cand.distance, v.mirrored, evidence)


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
