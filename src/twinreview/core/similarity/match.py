"""Finding derived copies among fingerprinted images: candidates, then a decision per pair.

API (what the scan service calls)::

    from twinreview.core.similarity import geometry
    from twinreview.core.similarity import hashing
    from twinreview.core.similarity import match as similarity

    fp = hashing.fingerprint(img)                 # every image, cheap; cache fp.to_json()
    th = ws.settings.similarity                   # parsed once, when the workspace opened
    cands = similarity.candidates(asset_fps, reference_fps, th)
    dups = similarity.batch_candidates(asset_fps, th)  # the same within one batch, ranked
    for c in cands:                               # each candidate verified geometrically
        v = geometry.verify(prepared[c.query], ...)   # clear-cut ones only when they match
        m = similarity.decide(c, v, th)           # Match or None

Candidates come from the hash stages of :mod:`twinreview.core.similarity.join` (a bucketed join
of region hashes, then the best alignment of each pair), and, for crops, outpaintings and heavy
mixes whose hashes move as far as an unrelated photo's, from the local features
(:func:`crop_candidates`, :func:`self_crop_candidates`: an ORB descriptor index,
:mod:`twinreview.core.similarity.featureindex`), verified against the reference's fine image. Hashes
alone do not decide a candidate: on portraits (centred heads on similar backdrops) they would
raise false blocks. A candidate becomes a finding when geometric verification confirms it
(:func:`decide`, :mod:`twinreview.core.similarity.geometry`), or when it is clear-cut (within
``clear_cut`` / ``clear_cut_dhash`` bits: no two different photos of the face corpus come near), or,
for a picture with too few keypoints to verify, by the hash rule of :meth:`Candidate.hash_match`.

The hash rule alone is :func:`match`, for comparisons with images whose bytes may be gone
(``resubmitted_rejected``)::

    res = similarity.match(asset_fps, reference_fps, th)
    res.matches     # list[Match]: Match.query / .ref index the two sequences

A match needs pHash distance <= ``strong`` at the best alignment, or pHash <= ``match`` AND
dHash <= ``match_dhash`` at the same alignment (the minimum over 512 alignments of one hash
is easily lowish, two independent hashes agreeing is not). ``Match.evidence`` is
JSON-serialisable: ``hash`` (which hash decided), ``distance`` (bits), ``threshold``,
``mirrored`` and supporting figures.

Perceptual hashes find derived copies, not identity: never present a match as "same person".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from concurrent.futures import Executor
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from twinreview.core.similarity import featureindex, geometry, hashing
from twinreview.core.similarity import join as hashjoin
from twinreview.core.similarity.evidence import CopyEvidence
from twinreview.core.similarity.hashing import Fingerprint

IGNORED_KEYS = frozenset({"undecided", "detail_bits", "detail_segments"})
"""Keys of ``[similarity]`` that older policies set and nothing reads: accepted, ignored."""


@dataclass(frozen=True)
class SimilarityThresholds:
    """Decision thresholds in bits (Hamming distances of 64-bit hashes).

    Defaults are calibrated by tests/test_similarity_calibration.py (see its docstring for
    the measured recall and margins). The ``[similarity]`` table of twinreview.toml can
    override any of them.

    Attributes:
        candidate: pHash bits at a colliding alignment for the pair to be a candidate (up
            to ``candidate`` + :data:`hashjoin.CANDIDATE_SLACK` when the dHash there is
            within ``match_dhash``).
        strong: Hash rule: best-aligned pHash bits that match on their own.
        match: Hash rule: best-aligned pHash bits that match when dHash agrees.
        match_dhash: Hash rule: dHash bits at the same alignment for a match.
        min_inliers: Geometric verification (:func:`decide`): keypoint matches that must agree
            with one transform for a candidate to be a derived copy.
        min_agreement: Geometric verification: percentage of the textured overlap where the
            placed copy must show the same detail as the original.
        clear_cut: A candidate whose best alignment is within ``clear_cut`` pHash bits and
            ``clear_cut_dhash`` dHash bits is a copy whatever geometric verification says
            (a re-encode, a light retouch); the verification then only gives the evidence.
            -1 lets verification decide every candidate.
        clear_cut_dhash: See ``clear_cut``.
    """

    candidate: int = 16
    strong: int = 8
    match: int = 14
    match_dhash: int = 16
    min_inliers: int = 20
    min_agreement: int = 88
    clear_cut: int = 4
    clear_cut_dhash: int = 8

    def __post_init__(self) -> None:
        bounds = {
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
        if self.match > self.candidate:
            raise ValueError(
                f"similarity.match ({self.match}) must not exceed "
                f"similarity.candidate ({self.candidate})"
            )

    def confirms(self, v: geometry.Verification) -> bool:
        """True when the verification confirms a copy under these thresholds."""
        return v.confirms(self.min_inliers, self.min_agreement / 100)

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
        # Sub-tables such as [similarity.severity] belong to other settings; keys that nothing
        # reads any more are accepted and ignored, so that signed policies setting them open.
        table = {
            k: v for k, v in table.items() if not isinstance(v, Mapping) and k not in IGNORED_KEYS
        }
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(
                f"unknown key(s) in [similarity]: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(known))})"
            )
        return cls(**{k: table[k] for k in table})


@dataclass(frozen=True)
class Match:
    """A confirmed derived copy: ``query`` is (an edit of) ``ref``.

    Attributes:
        query: Index into the query sequence.
        ref: Index into the reference sequence.
        distance: The deciding Hamming distance in bits.
        mirrored: True when the query is a mirror image of the reference.
        evidence: Why (:class:`~twinreview.core.similarity.evidence.CopyEvidence`).
    """

    query: int
    ref: int
    distance: int
    mirrored: bool
    evidence: CopyEvidence = field(default_factory=CopyEvidence)


@dataclass(frozen=True)
class MatchResult:
    """What :func:`match` found."""

    matches: list[Match]


# --- The hash rule ---------------------------------------------------------------------


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
        executor: Optional executor to spread the candidate stage over threads (numpy
            releases the GIL); None runs it in the calling thread.

    Returns:
        The pairs the hash rule calls copies.
    """
    th = thresholds or SimilarityThresholds()
    found = _candidate_list(
        hashjoin.align_candidates(queries, refs, th, False, executor), queries, refs
    )
    return MatchResult(
        [
            Match(c.query, c.ref, c.distance, c.mirrored, c.hash_rule(th))
            for c in found
            if c.hash_match(th)
        ]
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
        whole_frame_dhash: Whole-frame dHash bits, for a pair as is (None for a mirrored
            pair: the fingerprint keeps no whole-frame dHash of the mirrored frame).
        votes: For a pair the local features found (:func:`crop_candidates`): how many
            features of the query voted for the reference; None for a pair the hashes found.
        support: How many of those votes agree on where the query lies in the reference.
    """

    query: int
    ref: int
    distance: int
    dhash_distance: int
    mirrored: bool
    box: int
    whole_frame: int
    votes: int | None = None
    support: int | None = None
    whole_frame_dhash: int | None = None

    def clear_cut(self, th: SimilarityThresholds) -> bool:
        """True when the hashes are so close that no verification is needed."""
        return self.distance <= th.clear_cut and self.dhash_distance <= th.clear_cut_dhash

    def clear_cut_frame(self, th: SimilarityThresholds) -> bool:
        """Clear-cut over the whole frame too: the same picture by its hashes alone.

        Within a batch a region of one plain picture (a gradient, a soft blob) can align
        within the clear-cut band with a region of another by chance, and among thousands
        of plain pictures two whole frames can agree on one hash by chance too (a mirrored
        gradient's pHash); the same picture re-encoded or lightly retouched keeps both its
        whole-frame hashes. A mirrored pair, whose whole-frame dHash is not kept, is left to
        verification.
        """
        return (
            self.clear_cut(th)
            and self.whole_frame <= th.clear_cut
            and self.whole_frame_dhash is not None
            and self.whole_frame_dhash <= th.clear_cut_dhash
        )

    def hash_match(self, th: SimilarityThresholds) -> bool:
        """True when the hashes alone call the pair a copy (the rule of :func:`match`)."""
        return self.distance <= th.strong or (
            self.distance <= th.match and self.dhash_distance <= th.match_dhash
        )

    def evidence(self, **more: Any) -> CopyEvidence:
        """What the hashes found, and ``more`` (the verification's fields)."""
        return CopyEvidence(
            distance=self.distance,
            dhash_distance=self.dhash_distance,
            mirrored=self.mirrored,
            reference_region=hashing.grid_box(self.box),
            whole_frame_phash_distance=self.whole_frame,
            candidate="hashes" if self.votes is None else "local features",
            votes=self.votes,
            support=self.support,
            **more,
        )

    def hash_rule(self, th: SimilarityThresholds, **more: Any) -> CopyEvidence:
        """The evidence of a pair the hash rule (:meth:`hash_match`) calls a copy."""
        strong = self.distance <= th.strong
        return self.evidence(
            threshold=th.strong if strong else th.match,
            dhash_threshold=None if strong else th.match_dhash,
            **more,
        )


def _candidate_list(
    aligned: hashjoin.Aligned | None, queries: Sequence[Fingerprint], refs: Sequence[Fingerprint]
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
                hashjoin.whole_frame(queries[q], refs[r], mirrored),
                whole_frame_dhash=_whole_frame_dhash(queries[q], refs[r], mirrored),
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
    ``candidate`` (+ :data:`hashjoin.CANDIDATE_SLACK`) bits): geometric verification, not the hash
    distance, decides. Sorted by query, then reference.
    """
    th = thresholds or SimilarityThresholds()
    return _candidate_list(
        hashjoin.align_candidates(queries, refs, th, False, executor), queries, refs
    )


def _self_aligned(
    fingerprints: Sequence[Fingerprint], th: SimilarityThresholds, executor: Executor | None
) -> hashjoin.Aligned | None:
    """The batch's hash candidates, each unordered pair once, sorted by pair.

    Both directions are joined (a crop of B is found from B's side only); the direction whose
    hashes align closer is kept (on a tie the one from the smaller index).
    """
    al = hashjoin.align_candidates(fingerprints, fingerprints, th, True, executor)
    if al is None or al.q.size == 0:
        return None
    lo, hi = np.minimum(al.q, al.r), np.maximum(al.q, al.r)
    order = np.lexsort((al.q != lo, al.phash, hi, lo))
    code = lo[order].astype(np.int64) * len(fingerprints) + hi[order]
    first = order[np.flatnonzero(np.diff(code, prepend=-1))]
    return hashjoin.Aligned(
        al.q[first], al.r[first], al.phash[first], al.dhash[first], al.mirrored[first],
        al.box[first],
    )  # fmt: skip


def self_candidates(
    fingerprints: Sequence[Fingerprint],
    thresholds: SimilarityThresholds | None = None,
    executor: Executor | None = None,
) -> list[Candidate]:
    """Every candidate within one batch: each unordered pair once, sorted.

    Both directions are joined (a crop of B is found from B's side only); the direction whose
    hashes align closer is kept as it is (``query`` may be the larger index). The number of
    pairs grows with the square of the batch (chance pairs among unrelated pictures): a scan
    verifies those :func:`rank_batch` keeps.
    """
    th = thresholds or SimilarityThresholds()
    return _candidate_list(_self_aligned(fingerprints, th, executor), fingerprints, fingerprints)


def self_candidates_touching(
    fingerprints: Sequence[Fingerprint],
    among: Iterable[int],
    thresholds: SimilarityThresholds | None = None,
    executor: Executor | None = None,
) -> list[Candidate]:
    """The candidates of :func:`self_candidates` that involve one of ``among``, the same ones.

    A pair's candidate depends on its two fingerprints alone, so a batch that gained or changed
    a few images keeps the candidates of its other pairs and joins only these with the whole
    batch, both ways (their probes against every grid, every probe against their grids): the
    cost follows the images joined, not the pairs of the batch. ``executor`` spreads their
    probes' look-up in the batch's grids (every grid box of the batch) over threads.
    """
    th = thresholds or SimilarityThresholds()
    idx = sorted({int(i) for i in among})
    if not idx or len(fingerprints) < 2:
        return []
    sub = [fingerprints[i] for i in idx]
    found: dict[tuple[int, int], Candidate] = {}
    for c in _candidate_list(
        hashjoin.align_candidates(sub, fingerprints, th, False, executor), sub, fingerprints
    ):
        q = idx[c.query]
        if q != c.ref:
            found[q, c.ref] = replace(c, query=q)
    for c in _candidate_list(
        hashjoin.align_candidates(fingerprints, sub, th, False, None), fingerprints, sub
    ):
        r = idx[c.ref]
        if c.query != r:
            found.setdefault((c.query, r), replace(c, ref=r))
    # As self_candidates: the pairs in (query, ref) order, the closer direction of each.
    best: dict[tuple[int, int], Candidate] = {}
    for qr in sorted(found):
        c = found[qr]
        key = (min(c.query, c.ref), max(c.query, c.ref))
        if key not in best or c.distance < best[key].distance:
            best[key] = c
    return [best[k] for k in sorted(best)]


BATCH_PER_ASSET = 2
"""Batch candidates (:func:`batch_candidates`) verified per asset: its closest few. The hash
band finds chance pairs among unrelated pictures in proportion to the batch (about 5 per asset
in 2,000, 26 in 10,000, tests/benchmarks/RESULTS.md), while a re-encode or retouch of one
picture is the closest candidate of its asset by far. Pairs clear-cut over the whole frame
(:meth:`Candidate.clear_cut_frame`) need no verification and are not counted; crops of each
other are the local features' (:func:`self_crop_candidates`)."""


@dataclass(frozen=True)
class BatchCandidates:
    """The batch's candidates worth deciding, and what the bound left out.

    Attributes:
        candidates: Pairs clear-cut over the whole frame, and the ranked pairs to verify
            (each unordered pair once, sorted by pair).
        left_out: Per asset whose candidates were cut, how many of its pairs were left out.
        proposed: How many pairs the hashes proposed in all (each unordered pair once).
    """

    candidates: list[Candidate]
    left_out: dict[int, int]
    proposed: int


def batch_candidates(
    fingerprints: Sequence[Fingerprint],
    thresholds: SimilarityThresholds | None = None,
    limit: int = BATCH_PER_ASSET,
    executor: Executor | None = None,
) -> BatchCandidates:
    """Candidates within one batch, ranked so that their number does not grow with the batch.

    Every pair of :func:`self_candidates` is ranked per asset by its hash distances at the
    best alignment (pHash, then dHash); a pair is kept when it is among the ``limit`` closest
    of BOTH its assets (each is among the other's nearest). Among unrelated pictures an
    asset's chance candidates grow with the batch, and the odds that its closest chance
    partner has it among its own closest fall as fast: the kept pairs per asset stay at most
    ``limit`` and do not grow with the batch, while two versions of one picture are each
    other's nearest. Pairs clear-cut over the whole frame (:meth:`Candidate.clear_cut_frame`:
    the same picture by its hashes) are kept whatever their rank, and not counted.
    """
    th = thresholds or SimilarityThresholds()
    return rank_batch(self_candidates(fingerprints, th, executor), th, limit)


def _mutual_near(
    q: npt.NDArray[np.intp],
    r: npt.NDArray[np.intp],
    phash: npt.NDArray[Any],
    dhash: npt.NDArray[Any],
    limit: int,
) -> npt.NDArray[np.bool_]:
    """Which pairs are among the ``limit`` closest of both their assets (pHash, then dHash).

    The pairs come sorted by pair; on a tie the earlier pair ranks first, so that a list of
    the same pairs ranks the same wherever it came from (a whole join, or a rescan's).
    """
    n = len(q)
    ends = np.concatenate((q, r))
    pair = np.concatenate((np.arange(n), np.arange(n)))
    order = np.lexsort((pair, dhash[pair], phash[pair], ends))
    ends_sorted = ends[order]
    starts = np.flatnonzero(np.diff(ends_sorted, prepend=-1))
    sizes = np.diff(np.append(starts, len(order)))
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order)) - np.repeat(starts, sizes)
    near: npt.NDArray[np.bool_] = (rank[:n] < limit) & (rank[n:] < limit)
    return near


def rank_batch(
    cands: Sequence[Candidate], th: SimilarityThresholds, limit: int = BATCH_PER_ASSET
) -> BatchCandidates:
    """The candidates :func:`batch_candidates` keeps, from a list of the batch's candidates.

    ``cands`` are every pair of the batch (:func:`self_candidates`, or a rescan's kept pairs
    with :func:`self_candidates_touching`), each unordered pair once, sorted by pair.
    """
    if not cands:
        return BatchCandidates([], {}, 0)
    keep, left = rank_pairs(pair_table(cands), th, limit)
    return BatchCandidates([cands[i] for i in keep.tolist()], left, len(cands))


PAIR_FIELDS = 8
"""Columns of a :func:`pair_table`: query, ref, pHash and dHash bits at the best alignment,
mirrored (0 or 1), box, whole-frame pHash bits, whole-frame dHash bits (-1: none)."""

PairTable = npt.NDArray[np.int32]


def pair_table(cands: Sequence[Candidate]) -> PairTable:
    """Hash candidates as rows of :data:`PAIR_FIELDS` integers (their votes and support left out).

    A batch holds candidates in proportion to the square of its size (over 100,000 pairs at
    10,000 images): as a table they are kept, moved, sorted and ranked without a Python
    object per pair.
    """
    rows = [
        (
            c.query, c.ref, c.distance, c.dhash_distance, int(c.mirrored), c.box, c.whole_frame,
            -1 if c.whole_frame_dhash is None else c.whole_frame_dhash,
        )
        for c in cands
    ]  # fmt: skip
    return np.array(rows, dtype=np.int32).reshape(-1, PAIR_FIELDS)


def pair_candidates(table: PairTable, rows: Iterable[int] | None = None) -> list[Candidate]:
    """The candidates of some rows of a :func:`pair_table` (None: of every row)."""
    chosen = table if rows is None else table[np.fromiter(rows, dtype=np.intp)]
    out = []
    for q, r, dist, dh, mirrored, box, whole, whole_dh in chosen.tolist():
        out.append(
            Candidate(
                q, r, dist, dh, bool(mirrored), box, whole,
                whole_frame_dhash=None if whole_dh < 0 else whole_dh,
            )
        )  # fmt: skip
    return out


def sort_pairs(table: PairTable) -> PairTable:
    """The rows of a :func:`pair_table` sorted by unordered pair (smaller index, then larger)."""
    lo = np.minimum(table[:, 0], table[:, 1])
    hi = np.maximum(table[:, 0], table[:, 1])
    return table[np.lexsort((hi, lo))]


def rank_pairs(
    table: PairTable, th: SimilarityThresholds, limit: int = BATCH_PER_ASSET
) -> tuple[npt.NDArray[np.intp], dict[int, int]]:
    """:func:`rank_batch` of a :func:`pair_table` (each unordered pair once, sorted by pair).

    Returns:
        The rows kept (sorted), and per asset whose pairs were cut, how many were left out.
    """
    if len(table) == 0:
        return np.zeros(0, dtype=np.intp), {}
    q, r = table[:, 0].astype(np.intp), table[:, 1].astype(np.intp)
    phash, dhash = table[:, 2].astype(np.int64), table[:, 3].astype(np.int64)
    whole, whole_dh = table[:, 6], table[:, 7]
    # Candidate.clear_cut_frame, row by row.
    same = (
        (phash <= th.clear_cut)
        & (dhash <= th.clear_cut_dhash)
        & (whole <= th.clear_cut)
        & (whole_dh >= 0)
        & (whole_dh <= th.clear_cut_dhash)
    )
    ranked = np.flatnonzero(~same)
    q, r = q[ranked], r[ranked]
    near = _mutual_near(q, r, phash[ranked], dhash[ranked], limit)
    keep = np.sort(np.concatenate((np.flatnonzero(same), ranked[near])))
    sides = np.concatenate((q[~near], r[~near]))
    counts = np.bincount(sides) if len(sides) else np.zeros(0, dtype=np.intp)
    left = {int(i): int(counts[i]) for i in np.flatnonzero(counts).tolist()}
    return keep, left


DescriptorArray = npt.NDArray[np.uint8]


def _aligned_candidates(
    pairs: Sequence[tuple[int, int, int]],
    queries: Sequence[Fingerprint],
    refs: Sequence[Fingerprint],
) -> list[Candidate]:
    """(query, ref, votes) pairs as candidates, with their hash alignment for the evidence."""
    if not pairs:
        return []
    q_idx = np.array([p[0] for p in pairs], dtype=np.intp)
    r_idx = np.array([p[1] for p in pairs], dtype=np.intp)
    used, r_pos = np.unique(r_idx, return_inverse=True)
    al = hashjoin.align(
        q_idx,
        r_pos.astype(np.intp),
        np.stack([fp.probes for fp in queries]),
        np.stack([fp.probe_dhashes for fp in queries]),
        np.stack([refs[int(i)].grid for i in used]),
        np.stack([refs[int(i)].grid_dhash for i in used]),
    )
    out = _candidate_list(replace(al, r=r_idx), queries, refs)
    return [replace(c, votes=p[2]) for c, p in zip(out, pairs, strict=True)]


Keypoints = tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]
"""ORB descriptors (n, 32) and their positions (n, 2), in fractions of the image as it is."""

_NO_KEYPOINTS: Keypoints = (np.zeros((0, 32), np.uint8), np.zeros((0, 2), np.float32))

MIN_SUPPORT = 12
"""Votes of a crop candidate that must agree with one affine transform (placed by the voting
descriptors' positions) for it to be verified: a copy's votes agree (34 or more on the crops of
the face corpus, down to 6-14 on plain pictures), chance votes scatter (up to 10 between centred
portraits of different people, whose eyes and mouths sit alike)."""


def _supported(
    indexed_owner: npt.NDArray[np.intp],
    images: int,
    votes: featureindex.Votes,
    query_keypoints: Sequence[Keypoints],
    indexed_points: npt.NDArray[np.float32],
    *,
    relative: float,
    query_points: npt.NDArray[np.float32] | None = None,
) -> list[tuple[int, int, int, int]]:
    """(query, indexed image, votes, support) of the candidates whose votes agree on a place.

    The best-voted images of each query (:func:`featureindex.candidates`, more of them than
    are kept) are checked with :func:`geometry.support`; at most
    :data:`featureindex.PER_QUERY` per query are kept, the best supported first.
    ``query_points`` are the queries' points concatenated, when the caller has them (within a
    batch they are the indexed points: one array, not two).
    """
    if query_points is None:
        query_points = np.concatenate([k[1] for k in query_keypoints]).reshape(-1, 2)
    owner = featureindex.owners([k[0] for k in query_keypoints])
    proposed = featureindex.candidates(
        votes, per_query=3 * featureindex.PER_QUERY, relative=relative
    )
    groups = featureindex.group_votes(
        votes, owner, indexed_owner, images, [(q, image) for q, image, _n in proposed]
    )
    found: dict[int, list[tuple[int, int, int]]] = {}
    for q, image, n in proposed:
        at = groups[q, image]
        n_ok = geometry.support(query_points[votes.voter[at]], indexed_points[votes.voted[at]])
        if n_ok >= MIN_SUPPORT:
            found.setdefault(q, []).append((n_ok, n, image))
    out = []
    for q in sorted(found):
        best = sorted(found[q], reverse=True)[: featureindex.PER_QUERY]
        out += [(q, image, n, n_ok) for n_ok, n, image in best]
    return out


def rebuild(
    found: Sequence[tuple[int, int, int, int, bool]],
    queries: Sequence[Fingerprint],
    refs: Sequence[Fingerprint],
) -> list[Candidate]:
    """Local-feature candidates rebuilt from their figures (as :func:`figures` gives them).

    The figures: (query, ref, votes, support, mirrored), as cached.
    """
    out = _aligned_candidates([(q, r, n) for q, r, n, _s, _m in found], queries, refs)
    return [replace(c, support=f[3], mirrored=f[4]) for c, f in zip(out, found, strict=True)]


def figures(cands: Sequence[Candidate]) -> list[tuple[int, int, int, int, bool]]:
    """The (query, ref, votes, support, mirrored) of local-feature candidates, for a cache."""
    return [(c.query, c.ref, c.votes or 0, c.support or 0, c.mirrored) for c in cands]


def crop_candidates(
    queries: Sequence[Fingerprint],
    refs: Sequence[Fingerprint],
    query_keypoints: Sequence[Keypoints | None],
    ref_keypoints: Sequence[tuple[Keypoints | None, Keypoints | None]],
    *,
    skip: Set[tuple[int, int]] = frozenset(),
) -> list[Candidate]:
    """Pairs the local features find (:mod:`.featureindex`), to be verified.

    What whole-frame and region hashes miss: a crop down to 40 % of the area, an outpainted
    copy, a crop mixed with rotation and a label. A pair is proposed when many descriptors of
    the asset vote for the reference (a ratio test over all references) and the votes agree on
    where the asset lies in it (:data:`MIN_SUPPORT`). ``Candidate.mirrored`` is the orientation
    of the reference's features that was proposed.

    Args:
        queries: Fingerprints of the assets.
        refs: Fingerprints of the references.
        query_keypoints: Each asset's keypoints (of its working image), or None.
        ref_keypoints: Each reference's keypoints (of its fine image) as is and mirrored.
        skip: (query, ref) pairs the hashes proposed already.

    Returns:
        Candidates sorted by query, then reference; at most :data:`featureindex.PER_QUERY`
        references per query.
    """
    if not queries or not refs:
        return []
    indexed = [k if k is not None else _NO_KEYPOINTS for pair in ref_keypoints for k in pair]
    index = featureindex.FeatureIndex.build([k[0] for k in indexed])
    qk = [k if k is not None else _NO_KEYPOINTS for k in query_keypoints]
    votes = index.votes([k[0] for k in qk], shared=featureindex.SHARED_REFERENCES)
    points = np.concatenate([k[1] for k in indexed]).reshape(-1, 2)
    best: dict[tuple[int, int], tuple[int, int, bool]] = {}
    supported = _supported(
        index.owner, index.images, votes, qk, points, relative=featureindex.RELATIVE
    )
    for q, image, n, n_ok in supported:
        r, mirrored = divmod(image, 2)
        if (q, r) not in skip and ((q, r) not in best or n_ok > best[q, r][1]):
            best[q, r] = (n, n_ok, bool(mirrored))
    pairs = [(q, r, best[q, r][0]) for q, r in sorted(best)]
    out = _aligned_candidates(pairs, queries, refs)
    return [
        replace(c, mirrored=best[c.query, c.ref][2], support=best[c.query, c.ref][1]) for c in out
    ]


FINE_LOOK_INLIERS = 8
"""A crop candidate that the query's working image cannot confirm, but that keeps at least
this many inliers, is verified again from a fine image of the query too (a plain or soft
picture has few keypoints at working size). Different photos keep at most about 10
(tests/benchmarks/RESULTS.md): a few are looked at twice, none is confirmed."""


def worth_a_fine_look(v: geometry.Verification | None) -> bool:
    """True when a crop candidate's unconfirmed verification is worth repeating finer.

    It kept :data:`FINE_LOOK_INLIERS`, or the working image had too few keypoints to verify.
    """
    return v is not None and (not v.possible or v.inliers >= FINE_LOOK_INLIERS)


def self_crop_candidates(
    fingerprints: Sequence[Fingerprint],
    keypoints: Sequence[Keypoints | None],
    *,
    skip: Set[tuple[int, int]] = frozenset(),
) -> list[Candidate]:
    """Crop candidates within one batch: each unordered pair once (smaller index first).

    Args:
        fingerprints: The assets' fingerprints.
        keypoints: Their keypoints (of their working images, as is), or None.
        skip: Unordered pairs (smaller index first) the hashes proposed already.
    """
    if len(fingerprints) < 2:
        return []
    kp = [k if k is not None else _NO_KEYPOINTS for k in keypoints]
    desc = [k[0] for k in kp]
    votes = featureindex.self_votes(
        desc, shared=featureindex.SHARED_BATCH, min_votes=featureindex.MIN_VOTES
    )
    points = np.concatenate([k[1] for k in kp]).reshape(-1, 2)
    owner = featureindex.owners(desc)
    # A batch may hold several copies of one photo, each drawing votes: a lower bar relative
    # to a query's best image than among references.
    best: dict[tuple[int, int], tuple[int, int]] = {}
    supported = _supported(
        owner, len(kp), votes, kp, points, relative=featureindex.RELATIVE_BATCH, query_points=points
    )
    for q, r, n, n_ok in supported:
        key = (min(q, r), max(q, r))
        if key not in skip and (key not in best or n_ok > best[key][1]):
            best[key] = (n, n_ok)
    pairs = [(a, b, n) for (a, b), (n, _ok) in sorted(best.items())]
    out = _aligned_candidates(pairs, fingerprints, fingerprints)
    return [replace(c, support=best[c.query, c.ref][1]) for c in out]


def reverse(cand: Candidate, fingerprints: Sequence[Fingerprint]) -> Candidate:
    """A batch candidate seen from its other side, for that side's own hash evidence.

    ``cand.ref``'s probes aligned against the grid of ``cand.query`` (both index
    ``fingerprints``).
    """
    q, r = fingerprints[cand.ref], fingerprints[cand.query]
    al = hashjoin.align(
        np.zeros(1, dtype=np.intp),
        np.zeros(1, dtype=np.intp),
        q.probes.reshape(1, 2),
        q.probe_dhashes.reshape(1, 2),
        r.grid.reshape(1, -1),
        r.grid_dhash.reshape(1, -1),
    )
    mirrored = bool(al.mirrored[0])
    return replace(
        cand,
        query=cand.ref,
        ref=cand.query,
        distance=int(al.phash[0]),
        dhash_distance=int(al.dhash[0]),
        mirrored=mirrored,
        box=int(al.box[0]),
        whole_frame=hashjoin.whole_frame(q, r, mirrored),
        whole_frame_dhash=_whole_frame_dhash(q, r, mirrored),
    )


def _whole_frame_dhash(q: Fingerprint, r: Fingerprint, mirrored: bool) -> int | None:
    return None if mirrored else (q.dhash ^ r.dhash).bit_count()


def decide(
    cand: Candidate,
    verification: geometry.Verification | None,
    thresholds: SimilarityThresholds | None = None,
    *,
    unverified: str = "too few keypoints to verify",
) -> Match | None:
    """Turn a candidate and its geometric verification into a match, or None.

    - A clear-cut candidate (:meth:`Candidate.clear_cut`) is a copy whatever ``verification``
      says (the scan verifies it only for the evidence). On the real portraits of the face
      corpus no two different photos come near the clear-cut band
      (tests/test_similarity_corpus.py), while most re-encodes and light retouches fall in it.
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
        evidence = cand.evidence(
            threshold=th.clear_cut,
            dhash_threshold=th.clear_cut_dhash,
            verification="not needed: clear-cut hash match",
        )
        return Match(cand.query, cand.ref, cand.distance, cand.mirrored, evidence)
    if verification is None or not verification.possible:
        if not cand.hash_match(th):
            return None
        why = unverified if verification is None else "too few keypoints to verify"
        evidence = cand.hash_rule(
            th,
            verification=f"not possible: {why}",
            keypoints=None if verification is None else verification.keypoints,
        )
        return Match(cand.query, cand.ref, cand.distance, cand.mirrored, evidence)
    v = verification
    if not th.confirms(v):
        return None
    evidence = replace(cand.evidence(), **verified(v, th))
    return Match(cand.query, cand.ref, cand.distance, v.mirrored, evidence)


def verified(v: geometry.Verification, th: SimilarityThresholds) -> dict[str, Any]:
    """The evidence fields of a geometric verification.

    The transform only when it places the asset (at least ``min_inliers`` inliers).
    """
    placed = v.homography is not None and v.inliers >= th.min_inliers
    return {
        "verification": "geometry" if th.confirms(v) else "not confirmed by geometry",
        "mirrored": v.mirrored,
        "inliers": v.inliers,
        "min_inliers": th.min_inliers,
        "agreement": v.agreement,
        "min_agreement": th.min_agreement / 100,
        "homography": v.homography if placed else None,
        "asset_region": _corners(v.asset_region()) if placed else None,
        "keypoints": v.keypoints,
    }


def _corners(region: list[list[float]] | None) -> tuple[tuple[float, float], ...] | None:
    return None if region is None else tuple((float(x), float(y)) for x, y in region)
