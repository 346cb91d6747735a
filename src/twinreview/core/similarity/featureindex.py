"""Candidates for copy detection from local features: an index of ORB descriptors.

Whole-frame and region hashes (:mod:`twinreview.core.similarity.join`) find copies that keep most of
the frame. A crop down to 40 % of the area, an outpainted copy (the photo extended on every side) or
a copy mixing crop, rotation and a label moves every such hash as far as an unrelated photo. The
photo's *local features* survive all of these: the same corners and edges, at another place and
scale. This module finds, for every query image, the indexed images that share many of them; each
pair it proposes is then verified geometrically
(:func:`twinreview.core.similarity.geometry.verify`), which alone decides.

The index is multi-index hashing on packed bits, vectorised with numpy (no per-pair Python loop):

- every ORB descriptor (256 bits) is cut into :data:`N_CHUNKS` 16-bit chunks; two descriptors
  closer than :data:`N_CHUNKS` bits share at least one chunk exactly, and a pair of the same
  corner in two versions of one photo (20-50 bits apart) shares one with good odds;
- per chunk position the indexed chunks are sorted once, with where each of the 65,536 values
  starts among them (a table, so a query chunk is looked up by indexing, not searching); every
  collision is checked on the whole descriptor (within :data:`MAX_DISTANCE`
  bits), and each query descriptor votes once for every indexed image it has such a neighbour in;
- chunks shared by too many descriptors (flat, repetitive texture: :data:`MAX_BUCKET`) are
  skipped, which bounds the work per query whatever the index holds.

API::

    index = FeatureIndex.build(descriptor_arrays)      # one (n, 32) uint8 array per image
    votes = index.votes(query_arrays)                  # (query, image, votes) triples
    pairs = candidates(votes, min_votes=MIN_VOTES, per_query=PER_QUERY)

Pure numpy; tests: tests/test_featureindex.py, tests/test_crops.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

N_CHUNKS = 16
"""16-bit chunks per 256-bit descriptor."""

MAX_DISTANCE = 64
"""Hamming bits (of 256) within which two descriptors count as the same local feature: unrelated
ORB descriptors lie about 128 bits apart."""

RATIO = 0.8
"""A query descriptor votes for its nearest image when no other image comes within this fraction
of that distance (Lowe's ratio test, over images)."""

SHARED_REFERENCES = 2
SHARED_BATCH = 4
"""How many images one descriptor may vote for (see :meth:`FeatureIndex.votes`): among
reference photos a photo and one copy of it; within a batch a photo and a few copies."""

MAX_BUCKET = 4
BUCKET_FACTOR = 8
"""Indexed chunks with one value beyond ``max(MAX_BUCKET, BUCKET_FACTOR x the mean)`` are not
looked up (a flat or repetitive patch): it bounds the work per query descriptor."""

MIN_VOTES = 6
"""Query descriptors that must vote for an indexed image for the pair to be a candidate."""

PER_QUERY = 3
RELATIVE = 0.5
"""At most PER_QUERY indexed images per query, those with the most votes, and only those with
at least RELATIVE times the votes of the query's best: a copy's photo draws far more votes than
any other, and a new picture's few candidates are verified at small cost."""

RELATIVE_BATCH = 0.25
"""RELATIVE within one batch, where several copies of one photo share the votes."""

QUERY_BLOCK = 16384
QUERY_IMAGES = 256
"""Query descriptors looked up at a time (512 KB of them), from a group of query images at a
time: bounds the memory of their collisions (tens of MB) whatever the number of queries."""

SELF_KEYS = 16
MAX_RUN = SHARED_BATCH + 1
"""The self-join of :func:`self_votes`: 24-bit keys per descriptor, and the longest run of equal
keys that is joined. A key shared by more descriptors than a photo and the copies a descriptor
may vote for (plus the one image beyond, which its ratio test compares with) marks a common
patch (a backdrop, a flat tone): its votes mostly fail the ratio test, and joining it costs
work quadratic in the run. A copy's corner is still found by its other keys."""

TOUCH_BLOCK = 1024
"""Images whose descriptors :func:`touched` looks at a time."""

HAMMING_BLOCK = 1 << 18
"""Descriptor pairs whose distance is computed at a time (16 MB of them)."""

U8Array = npt.NDArray[np.uint8]
U64Array = npt.NDArray[np.uint64]
I64Array = npt.NDArray[np.int64]
IntArray = npt.NDArray[np.intp]


def _words(desc: U8Array) -> npt.NDArray[np.uint16]:
    return np.ascontiguousarray(desc, dtype=np.uint8).view("<u2").reshape(len(desc), N_CHUNKS)


def _concat(arrays: Sequence[U8Array]) -> tuple[U8Array, IntArray]:
    """All descriptors as one (n, 32) array, and the image each row comes from."""
    sizes = np.array([len(a) for a in arrays], dtype=np.intp)
    if sizes.sum() == 0:
        return np.zeros((0, 32), dtype=np.uint8), np.zeros(0, dtype=np.intp)
    rows = np.concatenate([np.asarray(a, dtype=np.uint8).reshape(-1, 32) for a in arrays])
    return rows, np.repeat(np.arange(len(arrays), dtype=np.intp), sizes)


def _hamming(a: U8Array, b: U8Array) -> npt.NDArray[np.intp]:
    """Row-wise Hamming distances of two (n, 32) arrays."""
    x = np.ascontiguousarray(a).view(np.uint64) ^ np.ascontiguousarray(b).view(np.uint64)
    out: npt.NDArray[np.intp] = np.bitwise_count(x).sum(axis=1, dtype=np.intp)
    return out


def _none() -> IntArray:
    return np.zeros(0, dtype=np.intp)


@dataclass(frozen=True)
class Votes:
    """Votes per (query image, indexed image) pair with at least one vote (parallel arrays).

    ``voter`` and ``voted`` are the descriptor pairs behind the votes: the query descriptor
    (an index into all query descriptors, in order) and the indexed descriptor it voted by.
    """

    query: IntArray
    image: IntArray
    count: IntArray
    voter: IntArray = field(default_factory=_none)
    voted: IntArray = field(default_factory=_none)


@dataclass(frozen=True)
class FeatureIndex:
    """ORB descriptors of several images, sorted per 16-bit chunk for lookups."""

    descriptors: U8Array
    owner: IntArray
    bounds: tuple[npt.NDArray[np.int32], ...]
    """Per chunk position: where each chunk value's run starts in ``order`` (65,537 entries)."""
    order: tuple[IntArray, ...]
    images: int

    @classmethod
    def build(cls, arrays: Sequence[U8Array]) -> FeatureIndex:
        """Index the descriptors of each image (``arrays[i]``: image ``i``'s, shape (n, 32))."""
        desc, owner = _concat(arrays)
        words = _words(desc)
        orders, bounds = [], []
        for k in range(N_CHUNKS):
            order = np.argsort(words[:, k], kind="stable").astype(np.intp)
            orders.append(order)
            counts = np.bincount(words[:, k], minlength=1 << 16)
            bounds.append(np.concatenate(([0], np.cumsum(counts))).astype(np.int32))
        return cls(desc, owner, tuple(bounds), tuple(orders), len(arrays))

    def votes(
        self,
        queries: Sequence[U8Array],
        *,
        max_distance: int = MAX_DISTANCE,
        exclude_self: bool = False,
        shared: int = 1,
    ) -> Votes:
        """How many descriptors of each query image have a neighbour in each indexed image.

        Args:
            queries: One (m, 32) uint8 descriptor array per query image.
            max_distance: Hamming bits within which two descriptors are neighbours.
            exclude_self: Query ``i`` is indexed image ``i`` (a batch against itself): no votes
                for itself.
            shared: A descriptor may vote for up to this many images (those clearly nearer than
                the next): the number of copies of one photo expected among the indexed
                images. 1 is Lowe's ratio test.
        """
        sizes = np.array([len(q) for q in queries], dtype=np.intp)
        qowner = np.repeat(np.arange(len(queries), dtype=np.intp), sizes)
        empty = np.zeros(0, dtype=np.intp)
        if len(qowner) == 0 or len(self.descriptors) == 0:
            return Votes(empty, empty, empty)
        first = np.concatenate([[0], np.cumsum(sizes)])
        # Chunk values far more frequent than the mean are not looked up.
        max_bucket = max(MAX_BUCKET, -(-BUCKET_FACTOR * len(self.descriptors) // (1 << 16)))
        voters, voted = [], []
        # A group of query images, then a block of their descriptors, at a time: each
        # descriptor is looked up on its own, so the blocks give the same votes as one pass,
        # and the memory stays bounded whatever the number of queries.
        for img0 in range(0, len(queries), QUERY_IMAGES):
            qdesc, _ = _concat(queries[img0 : img0 + QUERY_IMAGES])
            qwords = _words(qdesc)
            offset = int(first[img0])
            for start in range(0, len(qdesc), QUERY_BLOCK):
                stop = min(len(qdesc), start + QUERY_BLOCK)
                qi, ri, dist = self._near(qdesc, qwords, start, stop, max_bucket, max_distance)
                qi += offset
                if exclude_self:
                    keep = qowner[qi] != self.owner[ri]
                    qi, ri, dist = qi[keep], ri[keep], dist[keep]
                vote_q, vote_r = _ratio_votes(
                    qi, ri, dist, self.owner, self.images, shared, max_distance
                )
                voters.append(vote_q)
                voted.append(vote_r)
        return _count(
            np.concatenate(voters), np.concatenate(voted), qowner, self.owner, self.images
        )

    def _near(
        self,
        qdesc: U8Array,
        qwords: npt.NDArray[np.uint16],
        start: int,
        stop: int,
        max_bucket: int,
        max_distance: int,
    ) -> tuple[IntArray, IntArray, IntArray]:
        """(query descriptor, indexed descriptor, bits) of the neighbours of a block of queries."""
        q_parts, r_parts = [], []
        for k in range(N_CHUNKS):
            value = qwords[start:stop, k].astype(np.intp)
            lo = self.bounds[k][value].astype(np.intp)
            n = self.bounds[k][value + 1] - lo
            n[n > max_bucket] = 0
            total = int(n.sum())
            if total == 0:
                continue
            qi = np.repeat(np.arange(start, stop, dtype=np.intp), n)
            ends = np.cumsum(n)
            rank = np.arange(total, dtype=np.intp) - np.repeat(ends - n, n)
            q_parts.append(qi)
            r_parts.append(self.order[k][np.repeat(lo, n) + rank])
        if not q_parts:
            return _none(), _none(), _none()
        qi, ri = np.concatenate(q_parts), np.concatenate(r_parts)
        dist = _hamming(qdesc[qi], self.descriptors[ri])
        near = dist <= max_distance
        return qi[near], ri[near], dist[near]

    def grouped(self, votes: Votes, query_owner: IntArray) -> dict[tuple[int, int], IntArray]:
        """Where each (query image, indexed image) pair's votes are in ``votes.voter``.

        Args:
            votes: What :meth:`votes` returned.
            query_owner: Each query descriptor's image (:func:`owners` of the queries).
        """
        return group_votes(votes, query_owner, self.owner, self.images)


def _ratio_votes(
    qi: IntArray,
    ri: IntArray,
    dist: IntArray,
    owner: IntArray,
    images: int,
    shared: int,
    max_distance: int,
) -> tuple[IntArray, IntArray]:
    """The (query descriptor, indexed descriptor) pairs that vote, from all near pairs.

    Per query descriptor and indexed image the nearest neighbour counts; a descriptor votes for
    each of its ``shared`` nearest images that is clearly nearer (:data:`RATIO`) than the next
    image beyond (Lowe's ratio test, allowing for copies). A corner of a flat or repetitive
    patch is near many images and votes for none; one shared by a photo and its few copies
    votes for each of them.
    """
    if len(qi) == 0:
        return _none(), _none()
    rimg = owner[ri]
    # One int64 sort key instead of a lexsort over three arrays: (query, image, distance).
    span = max_distance + 1
    key = (qi.astype(np.int64) * (images + 1) + rimg) * span + dist
    order = np.argsort(key, kind="stable")
    key, ri = key[order], ri[order]
    # The nearest neighbour per (query descriptor, image): the first of each group.
    group = key // span
    first = np.flatnonzero(np.diff(group, prepend=-1))
    key, ri = key[first], ri[first]
    dist = key % span
    qi = key // span // (images + 1)
    # Per query descriptor, its images nearest first.
    order = np.argsort(qi.astype(np.int64) * span + dist, kind="stable")
    qi, ri, dist = qi[order], ri[order], dist[order]
    starts = np.flatnonzero(np.diff(qi, prepend=-1))
    sizes = np.diff(np.append(starts, len(qi)))
    rank = np.arange(len(qi)) - np.repeat(starts, sizes)
    beyond = np.where(
        sizes > shared, dist[np.minimum(starts + shared, len(qi) - 1)], max_distance + 1
    )
    vote = (rank < shared) & (dist <= RATIO * np.repeat(beyond, sizes))
    return qi[vote].astype(np.intp), ri[vote].astype(np.intp)


def _count(
    voter: IntArray, voted: IntArray, query_owner: IntArray, owner: IntArray, images: int
) -> Votes:
    """Votes per (query image, indexed image) from the voting descriptor pairs."""
    return _count_parts([voter], [voted], query_owner, owner, images)


def _count_parts(
    voter_parts: Sequence[npt.NDArray[np.integer[Any]]],
    voted_parts: Sequence[npt.NDArray[np.integer[Any]]],
    query_owner: IntArray,
    owner: IntArray,
    images: int,
    min_votes: int = 1,
) -> Votes:
    """:func:`_count` of votes given in parts, keeping the pairs with ``min_votes`` or more.

    A large batch has millions of votes, most of them single votes between unrelated images
    (never candidates): one key per vote is sorted in place and counted by runs, and the
    votes of the pairs left out are dropped part by part, never all copied at once.
    """
    total = sum(len(v) for v in voter_parts)
    if total == 0:
        return Votes(_none(), _none(), _none())
    n_img = max(images, 1)

    def keys(vq: npt.NDArray[np.integer[Any]], vr: npt.NDArray[np.integer[Any]]) -> I64Array:
        k = np.take(query_owner, vq).astype(np.int64, copy=False)
        k *= n_img
        k += np.take(owner, vr)
        return k

    key = np.empty(total, dtype=np.int64)
    at = 0
    for vq, vr in zip(voter_parts, voted_parts, strict=True):
        key[at : at + len(vq)] = keys(vq, vr)
        at += len(vq)
    key.sort()
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    counts = np.diff(np.append(starts, len(key)))
    pairs = key[starts]
    del key
    if min_votes > 1:
        ok = counts >= min_votes
        pairs, counts = pairs[ok], counts[ok]
    kept_q, kept_r = [], []
    for vq, vr in zip(voter_parts, voted_parts, strict=True):
        if min_votes > 1:
            k = keys(vq, vr)
            at_pair = np.minimum(np.searchsorted(pairs, k), max(len(pairs) - 1, 0))
            hit = pairs[at_pair] == k if len(pairs) else np.zeros(len(k), dtype=bool)
            vq, vr = vq[hit], vr[hit]
        kept_q.append(vq.astype(np.intp, copy=False))
        kept_r.append(vr.astype(np.intp, copy=False))
    q, r = np.divmod(pairs, n_img)
    return Votes(
        q.astype(np.intp),
        r.astype(np.intp),
        counts.astype(np.intp),
        np.concatenate(kept_q),
        np.concatenate(kept_r),
    )


def group_votes(
    votes: Votes,
    query_owner: IntArray,
    owner: IntArray,
    images: int,
    pairs: Sequence[tuple[int, int]] | None = None,
) -> dict[tuple[int, int], IntArray]:
    """Where each (query image, indexed image) pair's votes are in ``votes.voter``.

    Args:
        votes: Votes of query descriptors for indexed descriptors.
        query_owner: Each query descriptor's image.
        owner: Each indexed descriptor's image.
        images: How many indexed images there are.
        pairs: Only these (query image, indexed image) pairs (None: every pair with votes);
            a large batch has millions of pairs with a vote or two.
    """
    if len(votes.voter) == 0:
        return {}
    n_img = max(images, 1)
    key = query_owner[votes.voter].astype(np.int64) * n_img + owner[votes.voted]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    if pairs is None:
        wanted = np.unique(sorted_key)
    else:
        wanted = np.array([q * n_img + r for q, r in pairs], dtype=np.int64)
    starts = np.searchsorted(sorted_key, wanted, side="left")
    ends = np.searchsorted(sorted_key, wanted, side="right")
    return {
        (int(k // n_img), int(k % n_img)): order[s0:e0]
        for k, s0, e0 in zip(wanted.tolist(), starts.tolist(), ends.tolist(), strict=True)
    }


def _self_keys(desc: U8Array, k: int) -> npt.NDArray[np.uint32]:
    """Key ``k`` of :func:`self_votes`: the 24 bits of three bytes from byte ``2k`` on."""
    out = desc[:, 2 * k].astype(np.uint32)
    out |= desc[:, (2 * k + 1) % 32].astype(np.uint32) << np.uint32(8)
    out |= desc[:, (2 * k + 2) % 32].astype(np.uint32) << np.uint32(16)
    return out


def _run_pairs(sorted_keys: npt.NDArray[np.uint32], max_run: int) -> tuple[IntArray, IntArray]:
    """Positions (i, j), i < j, of equal values in a sorted array, in runs of 2 to ``max_run``."""
    n = len(sorted_keys)
    if n < 2:
        return _none(), _none()
    starts = np.flatnonzero(np.diff(sorted_keys, prepend=sorted_keys[0] ^ 1))
    sizes = np.diff(np.append(starts, n))
    ok = (sizes >= 2) & (sizes <= max_run)
    starts, sizes = starts[ok], sizes[ok]
    if len(starts) == 0:
        return _none(), _none()
    # Every member of the runs kept, with its run's number; then pairs at each offset.
    pos = np.repeat(starts, sizes) + (
        np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    )
    run = np.repeat(np.arange(len(starts)), sizes)
    a_parts, b_parts = [], []
    for d in range(1, int(sizes.max())):
        same = np.flatnonzero(run[:-d] == run[d:])
        a_parts.append(pos[same])
        b_parts.append(pos[same + d])
    return np.concatenate(a_parts), np.concatenate(b_parts)


_QUERY_SHIFT = np.uint64(32)
_DIST_SHIFT = np.uint64(25)
_FIELD = (1 << 25) - 1
"""A directed neighbour pair of :func:`self_votes` in one word: query descriptor (bits 32 on),
distance (bits 25-31: at most :data:`MAX_DISTANCE`), neighbour descriptor (bits 0-24)."""


def _pack(q: npt.NDArray[np.int32], r: npt.NDArray[np.int32], d: U8Array) -> U64Array:
    out = q.astype(np.uint64) << _QUERY_SHIFT
    out |= d.astype(np.uint64) << _DIST_SHIFT
    out |= r.astype(np.uint64)
    return out


def _unpack(packed: U64Array) -> tuple[IntArray, IntArray, IntArray]:
    """(query descriptor, neighbour descriptor, distance) of packed pairs (see :func:`_pack`)."""
    qi = (packed >> _QUERY_SHIFT).astype(np.intp)
    dist = ((packed >> _DIST_SHIFT) & np.uint64(0x7F)).astype(np.intp)
    ri = (packed & np.uint64(_FIELD)).astype(np.intp)
    return qi, ri, dist


def self_votes(
    arrays: Sequence[U8Array],
    *,
    max_distance: int = MAX_DISTANCE,
    shared: int = 1,
    max_run: int = MAX_RUN,
    min_votes: int = 1,
) -> Votes:
    """:meth:`FeatureIndex.votes` of a batch against itself (no votes for itself), for any size.

    Within one batch both the queries and the indexed images grow with it: with the 16-bit
    chunks of the index, each descriptor's look-ups would grow with the batch too (quadratic
    work and memory). Here the neighbours come from a self-join on :data:`SELF_KEYS` 24-bit
    keys (three bytes, one key from every other byte): the descriptors are sorted by each key
    in turn and every run of equal keys is a group of candidate neighbours; a run longer than
    ``max_run`` (a flat or repetitive patch, a backdrop many pictures share) is left out, as
    its descriptors vote for no image anyway. The expected run of unrelated descriptors stays
    below one up to millions of descriptors, so the work per descriptor does not grow with the
    batch. Two versions of one corner 20 bits apart share a key with odds of about 9 in 10.

    ``voter`` and ``voted`` index the concatenated ``arrays``. Pairs of images with fewer
    than ``min_votes`` votes are left out (with their votes): :func:`candidates` with that
    ``min_votes`` finds the same pairs.
    """
    desc, owner = _concat(arrays)
    images = len(arrays)
    if len(desc) < 2:
        return Votes(_none(), _none(), _none())
    if len(desc) > _FIELD + 1 or not 0 <= max_distance < 128:
        raise ValueError(
            f"self_votes joins at most {_FIELD + 1:,} descriptors (about 80,000 images) within "
            f"127 bits, not {len(desc):,} within {max_distance}"
        )
    lows, highs, dists = [], [], []
    for k in range(SELF_KEYS):
        keys = _self_keys(desc, k)
        order = np.argsort(keys)
        a, b = _run_pairs(keys[order], max_run)
        a, b = order[a], order[b]
        keep = owner[a] != owner[b]
        a, b = a[keep], b[keep]
        dist = np.concatenate(
            [_hamming(desc[a[i : i + HAMMING_BLOCK]], desc[b[i : i + HAMMING_BLOCK]])
             for i in range(0, len(a), HAMMING_BLOCK)] or [_none()]
        )  # fmt: skip
        near = dist <= max_distance
        # Compact (9 bytes a pair): every key's pairs are kept until the ratio test.
        lows.append(a[near].astype(np.int32))
        highs.append(b[near].astype(np.int32))
        dists.append(dist[near].astype(np.uint8))
    n_desc = len(desc)
    del desc, keys, order, a, b, dist, near  # the ratio test needs the pairs only
    # Each pair is a neighbour both ways (a pair found by several keys is listed several
    # times: the ratio test keeps one per query descriptor and image), packed into one
    # 64-bit word per direction and sorted in place: grouped by query descriptor at 8 bytes
    # a pair and direction, with no index arrays beside it.
    packed = np.empty(2 * sum(len(x) for x in lows), dtype=np.uint64)
    at = 0
    while lows:
        lo, hi, d = lows.pop(), highs.pop(), dists.pop()
        n = len(lo)
        packed[at : at + n] = _pack(lo, hi, d)
        packed[at + n : at + 2 * n] = _pack(hi, lo, d)
        at += 2 * n
        del lo, hi, d
    packed.sort()
    bounds = np.searchsorted(
        packed, np.arange(0, n_desc + QUERY_BLOCK, QUERY_BLOCK, dtype=np.uint64) << _QUERY_SHIFT
    )
    voters, voted = [], []
    for s0, e0 in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if e0 > s0:
            qi, ri, dist = _unpack(packed[s0:e0])
            vq, vr = _ratio_votes(qi, ri, dist, owner, images, shared, max_distance)
            voters.append(vq.astype(np.int32))  # descriptors number fewer than 2**25
            voted.append(vr.astype(np.int32))
    del packed
    return _count_parts(voters, voted, owner, owner, images, min_votes)


def touched(
    arrays: Sequence[U8Array], new: Sequence[int], *, limit: int, min_hits: int = MIN_VOTES
) -> IntArray:
    """The images (not in ``new``) that share the most keys of :func:`self_votes` with ``new``.

    A cheap look-up for a batch that gained a few images: every descriptor's 24-bit keys are
    checked against those of the new images' descriptors (a bitmap per key), and the images
    with at least ``min_hits`` hits, at most ``limit`` of them (the most hits first), are the
    ones worth joining with the new images.
    """
    wanted = {int(i) for i in new}
    if not wanted:
        return _none()
    new_desc, _ = _concat([arrays[i] for i in sorted(wanted)])
    hits = np.zeros(len(arrays), dtype=np.intp)
    bitmap = np.zeros(1 << 24, dtype=bool)
    for k in range(SELF_KEYS):
        bitmap[:] = False
        bitmap[_self_keys(new_desc, k)] = True
        for start in range(0, len(arrays), TOUCH_BLOCK):
            part = arrays[start : start + TOUCH_BLOCK]
            desc, owner = _concat(part)
            if len(desc):
                hit = bitmap[_self_keys(desc, k)]
                hits[start : start + len(part)] += np.bincount(owner[hit], minlength=len(part))
    hits[sorted(wanted)] = 0
    found = np.flatnonzero(hits >= min_hits)
    order = np.argsort(-hits[found], kind="stable")[:limit]
    return np.sort(found[order]).astype(np.intp)


def owners(arrays: Sequence[U8Array]) -> IntArray:
    """The image each row of the concatenated ``arrays`` comes from (nothing is concatenated)."""
    sizes = np.array([len(a) for a in arrays], dtype=np.intp)
    return np.repeat(np.arange(len(arrays), dtype=np.intp), sizes)


def candidates(
    votes: Votes,
    *,
    min_votes: int = MIN_VOTES,
    per_query: int = PER_QUERY,
    relative: float = RELATIVE,
) -> list[tuple[int, int, int]]:
    """(query, indexed image, votes) of the pairs worth verifying.

    For each query, the indexed images with at least ``min_votes`` votes and at least
    ``relative`` times its best image's, at most ``per_query`` of them (most votes first).
    Sorted by query, then votes (descending).
    """
    keep = votes.count >= min_votes
    q, r, c = votes.query[keep], votes.image[keep], votes.count[keep]
    order = np.lexsort((r, -c, q))
    q, r, c = q[order], r[order], c[order]
    if len(q) == 0:
        return []
    starts = np.flatnonzero(np.diff(q, prepend=q[0] - 1))
    sizes = np.diff(np.append(starts, len(q)))
    rank = np.arange(len(q)) - np.repeat(starts, sizes)
    best = np.repeat(c[starts], sizes)
    top = (rank < per_query) & (c >= relative * best)
    return [(int(a), int(b), int(n)) for a, b, n in zip(q[top], r[top], c[top], strict=True)]
