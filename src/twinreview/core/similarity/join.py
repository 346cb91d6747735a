"""The hash stages of copy detection: a bucketed join of region hashes, then alignment.

:mod:`twinreview.core.similarity.match` decides; this module finds which (query, reference) pairs
are worth deciding and at which alignment their hashes agree best (see
:mod:`twinreview.core.similarity.hashing` for the probes and the grid)::

    al = hashjoin.align_candidates(queries, refs, band, self_join=False, executor=None)
    # al.q, al.r: the pairs; al.phash, al.dhash: distances at the best alignment;
    # al.mirrored, al.box: which probe and which grid box aligned best.

1. Candidates (a bucket join, near-linear instead of all pairs): ten 16-bit keys
   (:data:`CANDIDATE_KEYS`, bytes of the pHash and dHash) are taken from both probes of every
   query (as is and mirrored) and from all 256 grid boxes of every reference. Queries are
   bucketed by key (a counting sort); the references' keys are looked up in blocks of
   :data:`BLOCK_REFS` references. Each collision is one alignment (probe, box) whose two
   hashes agree on 16 bits; it is verified on the full hashes at once (:func:`_verified`).
   Random 16-bit collisions cost one lookup each: ~0.08 per pair for random hashes, ~0.13
   on real photos; ~0.02 % of unrelated pairs pass the verification. Near-identical images
   collide at many alignments, which costs up to a few hundred lookups per such pair; exact
   duplicates among the queries are joined once.
2. Alignment (candidates only): both probes against all 256 grid boxes of the reference; the
   best box is the alignment, with its pHash and dHash distances.

Every alignment is looked at, not a few fixed boxes, so a copy is missed only when none of
its close alignments keeps any of the keys intact: mostly textures (brick, gravel), whose
hashes are unstable under crop and rotation. tests/benchmarks/bench_match.py measures the
cost (10,000 assets x 2,000 references; figures in tests/benchmarks/RESULTS.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from twinreview.core.similarity import hashing
from twinreview.core.similarity.hashing import Fingerprint


class Band(Protocol):
    """The thresholds the candidate stage reads (``SimilarityThresholds`` has them)."""

    @property
    def candidate(self) -> int:
        """The pHash bits at a colliding alignment for the pair to be a candidate."""
        ...

    @property
    def match_dhash(self) -> int:
        """The dHash bits that let a collision be :data:`CANDIDATE_SLACK` pHash bits looser."""
        ...


# --- Stage 1: candidates ----------------------------------------------------------------

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
dHash is unstable. More keys find a few more copies for proportionally more time."""

CANDIDATE_SLACK = 4
"""Stage 1 also passes an alignment whose pHash is up to this many bits beyond
``candidate`` when its dHash is within ``match_dhash``: the key may collide on a box next
to the best one, where the pHash is a little worse."""

_N_KEYS = 1 << 16
BLOCK_REFS = 512
"""References per block of the candidate stage (131,072 grid boxes): bounds the temporary
arrays of a block to a few hundred KB, which numpy takes from reused heap memory (a fresh page
can cost more than the work done on it), while keeping numpy calls few; several blocks let an
executor share the work."""

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
    th: Band,
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


def candidate_pairs(
    q_probes: U64Array,
    q_probe_d: U64Array,
    refs: Sequence[Fingerprint],
    th: Band,
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
        chunk = refs[start : start + BLOCK_REFS]
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

    starts = range(0, n_ref, BLOCK_REFS)
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


# --- Stage 2: alignment -----------------------------------------------------------------


@dataclass(frozen=True)
class Aligned:
    """Candidate pairs at their best alignment, one entry per pair (parallel arrays)."""

    q: IntArray
    r: IntArray
    phash: npt.NDArray[np.intp]
    dhash: npt.NDArray[np.intp]
    mirrored: npt.NDArray[np.bool_]
    box: IntArray


_ALIGN_STEP = 64  # pairs per step: (64 x 256) uint64 temporaries stay in L2


def align(
    q_idx: IntArray,
    r_idx: IntArray,
    q_probes: U64Array,
    q_probe_d: U64Array,
    r_grid: U64Array,
    r_grid_d: U64Array,
) -> Aligned:
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
    return Aligned(q_idx, r_idx, best_p, best_d, probe == 1, box)


def whole_frame(q: Fingerprint, r: Fingerprint, mirrored: bool) -> int:
    """Whole-frame pHash bits between ``q`` (mirrored or not) and ``r``."""
    return ((q.phash_mirror if mirrored else q.phash) ^ r.phash).bit_count()


def _gather(fps: Sequence[Fingerprint], indices: IntArray, name: str) -> U64Array:
    """Stack one array field of the fingerprints at ``indices`` into (len(indices), width)."""
    width = hashing.GRID_SIZE if name.startswith("grid") else 2
    if indices.size == 0:
        return np.zeros((0, width), dtype=np.uint64)
    return np.concatenate([getattr(fps[i], name) for i in indices.tolist()]).reshape(-1, width)


def align_candidates(
    queries: Sequence[Fingerprint],
    refs: Sequence[Fingerprint],
    th: Band,
    self_join: bool,
    executor: Executor | None,
) -> Aligned | None:
    """Stages 1 and 2: every candidate pair at its best alignment (None when there is none)."""
    if len(queries) == 0 or len(refs) == 0:
        return None
    # Concatenating the small per-fingerprint arrays is cheaper than np.stack.
    q_probes = np.concatenate([fp.probes for fp in queries]).reshape(-1, 2)
    q_probe_d = np.concatenate([fp.probe_dhashes for fp in queries]).reshape(-1, 2)
    qi, ri = candidate_pairs(q_probes, q_probe_d, refs, th, self_join, executor)
    # Stage 2 needs the grids of the candidate references only.
    used, r_pos = np.unique(ri, return_inverse=True)
    aligned = align(
        qi,
        r_pos.astype(np.intp),
        q_probes,
        q_probe_d,
        _gather(refs, used, "grid"),
        _gather(refs, used, "grid_dhash"),
    )
    return replace(aligned, r=ri)
