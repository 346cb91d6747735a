"""Candidates for copy detection from local features: an index of ORB descriptors.

Whole-frame and region hashes (:mod:`twinreview.core.hashjoin`) find copies that keep most of the
frame. A crop down to 40 % of the area, an outpainted copy (the photo extended on every side) or
a copy mixing crop, rotation and a label moves every such hash as far as an unrelated photo. The
photo's *local features* survive all of these: the same corners and edges, at another place and
scale. This module finds, for every query image, the indexed images that share many of them; each
pair it proposes is then verified geometrically (:func:`twinreview.core.geometry.verify`), which
alone decides.

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

U8Array = npt.NDArray[np.uint8]
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
        qdesc, qowner = _concat(queries)
        empty = np.zeros(0, dtype=np.intp)
        if len(qdesc) == 0 or len(self.descriptors) == 0:
            return Votes(empty, empty, empty)
        qwords = _words(qdesc)
        # Chunk values far more frequent than the mean are not looked up.
        max_bucket = max(MAX_BUCKET, -(-BUCKET_FACTOR * len(self.descriptors) // (1 << 16)))
        q_parts, r_parts = [], []
        for k in range(N_CHUNKS):
            value = qwords[:, k].astype(np.intp)
            lo = self.bounds[k][value].astype(np.intp)
            n = self.bounds[k][value + 1] - lo
            n[n > max_bucket] = 0
            total = int(n.sum())
            if total == 0:
                continue
            qi = np.repeat(np.arange(len(qdesc), dtype=np.intp), n)
            ends = np.cumsum(n)
            rank = np.arange(total, dtype=np.intp) - np.repeat(ends - n, n)
            ri = self.order[k][np.repeat(lo, n) + rank]
            q_parts.append(qi)
            r_parts.append(ri)
        if not q_parts:
            return Votes(empty, empty, empty)
        qi, ri = np.concatenate(q_parts), np.concatenate(r_parts)
        dist = _hamming(qdesc[qi], self.descriptors[ri])
        near = dist <= max_distance
        qi, ri, dist = qi[near], ri[near], dist[near]
        rimg = self.owner[ri]
        if exclude_self:
            keep = qowner[qi] != rimg
            qi, ri, dist, rimg = qi[keep], ri[keep], dist[keep], rimg[keep]
        if len(qi) == 0:
            return Votes(empty, empty, empty)
        # Per query descriptor and indexed image: the nearest distance.
        order = np.lexsort((dist, rimg, qi))
        qi, ri, dist, rimg = qi[order], ri[order], dist[order], rimg[order]
        first = np.flatnonzero(np.diff(qi * (self.images + 1) + rimg, prepend=-1))
        qi, ri, dist, rimg = qi[first], ri[first], dist[first], rimg[first]
        # Lowe's ratio test over images, allowing for copies: a descriptor votes for each of
        # its ``shared`` nearest images that is clearly nearer than the next image beyond. A
        # corner of a flat or repetitive patch is near many images and votes for none; one
        # shared by a photo and its few copies votes for each of them.
        order = np.lexsort((dist, qi))
        qi, ri, dist, rimg = qi[order], ri[order], dist[order], rimg[order]
        starts = np.flatnonzero(np.diff(qi, prepend=-1))
        sizes = np.diff(np.append(starts, len(qi)))
        rank = np.arange(len(qi)) - np.repeat(starts, sizes)
        beyond = np.where(
            sizes > shared, dist[np.minimum(starts + shared, len(qi) - 1)], max_distance + 1
        )
        vote = (rank < shared) & (dist <= RATIO * np.repeat(beyond, sizes))
        q_img, r_img = qowner[qi[vote]], rimg[vote]
        n_img = max(self.images, 1)
        pairs, counts = np.unique(q_img.astype(np.int64) * n_img + r_img, return_counts=True)
        q, r = np.divmod(pairs, n_img)
        return Votes(
            q.astype(np.intp),
            r.astype(np.intp),
            counts.astype(np.intp),
            qi[vote].astype(np.intp),
            ri[vote].astype(np.intp),
        )

    def grouped(self, votes: Votes, query_owner: IntArray) -> dict[tuple[int, int], IntArray]:
        """Where each (query image, indexed image) pair's votes are in ``votes.voter``.

        Args:
            votes: What :meth:`votes` returned.
            query_owner: Each query descriptor's image (:func:`owners` of the queries).
        """
        if len(votes.voter) == 0:
            return {}
        n_img = max(self.images, 1)
        key = query_owner[votes.voter].astype(np.int64) * n_img + self.owner[votes.voted]
        order = np.argsort(key, kind="stable")
        uniq, starts = np.unique(key[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        return {
            (int(k // n_img), int(k % n_img)): order[s0:e0]
            for k, s0, e0 in zip(uniq.tolist(), starts.tolist(), ends.tolist(), strict=True)
        }


def owners(arrays: Sequence[U8Array]) -> IntArray:
    """The image each row of the concatenated ``arrays`` comes from."""
    return _concat(arrays)[1]


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
