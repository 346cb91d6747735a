"""The local-feature index: who votes for whom, on synthetic descriptors."""

from __future__ import annotations

import numpy as np
import pytest

from twinreview.core.similarity import featureindex as fi

RNG = np.random.default_rng(0)


def _random(n: int) -> np.ndarray:
    return RNG.integers(0, 256, (n, 32), dtype=np.uint8)


def _noisy(desc: np.ndarray, bits: int) -> np.ndarray:
    """Flip ``bits`` random bits of each descriptor (a corner seen again after an edit)."""
    out = desc.copy()
    for row in out:
        for b in RNG.choice(256, bits, replace=False):
            row[b // 8] ^= np.uint8(1 << (b % 8))
    return out


def test_a_copy_draws_votes_and_an_unrelated_image_none() -> None:
    photos = [_random(400) for _ in range(5)]
    index = fi.FeatureIndex.build(photos)
    copy = _noisy(photos[3][:160], 20)  # a crop: 40 % of the corners, each 20 bits off
    votes = index.votes([copy, _random(400)])
    got = {
        (int(q), int(i)): int(n)
        for q, i, n in zip(votes.query, votes.image, votes.count, strict=True)
    }
    assert got.get((0, 3), 0) >= 100
    assert all(n < fi.MIN_VOTES for (q, i), n in got.items() if (q, i) != (0, 3))
    assert fi.candidates(votes) == [(0, 3, got[0, 3])]


def test_copies_among_the_indexed_images_share_the_votes_up_to_shared() -> None:
    photo = _random(300)
    index = fi.FeatureIndex.build([photo, _noisy(photo, 2), _random(300)])
    query = [_noisy(photo, 16)]
    alone = index.votes(query, shared=1)
    both = index.votes(query, shared=2)
    n_alone = dict(zip(alone.image.tolist(), alone.count.tolist(), strict=True))
    n_both = dict(zip(both.image.tolist(), both.count.tolist(), strict=True))
    # The ratio test alone cannot tell a photo from its copy: few votes for either.
    assert n_alone.get(0, 0) + n_alone.get(1, 0) < 100
    assert n_both[0] >= 200 and n_both[1] >= 200
    assert n_both.get(2, 0) < fi.MIN_VOTES


def test_a_batch_does_not_vote_for_itself_and_flat_patches_are_not_looked_up() -> None:
    photos = [_random(200) for _ in range(3)]
    photos[2] = np.vstack([photos[2], np.zeros((50, 32), np.uint8)])
    flat = np.zeros((50, 32), np.uint8)  # one chunk value in every position: skipped
    index = fi.FeatureIndex.build([*photos, flat, flat])
    votes = index.votes([*photos, flat, flat], exclude_self=True)
    assert not np.any(votes.query == votes.image)
    assert not np.any(votes.count >= fi.MIN_VOTES)


def test_candidates_keep_the_best_few_per_query() -> None:
    votes = fi.Votes(
        np.array([0, 0, 0, 0, 1, 1]),
        np.array([1, 2, 3, 4, 1, 2]),
        np.array([100, 60, 40, 7, 9, 8]),
    )
    assert fi.candidates(votes) == [(0, 1, 100), (0, 2, 60), (1, 1, 9), (1, 2, 8)]
    assert fi.candidates(votes, per_query=1) == [(0, 1, 100), (1, 1, 9)]
    assert fi.candidates(votes, relative=0.0)[:4] == [
        (0, 1, 100),
        (0, 2, 60),
        (0, 3, 40),
        (1, 1, 9),
    ]
    assert fi.candidates(fi.Votes(*(np.zeros(0, np.intp),) * 3)) == []


def test_no_votes_group_into_nothing() -> None:
    index = fi.FeatureIndex.build([_random(10)])
    votes = index.votes([np.zeros((0, 32), np.uint8)])
    assert index.grouped(votes, fi.owners([np.zeros((0, 32), np.uint8)])) == {}


def test_a_batch_self_join_finds_its_copies_and_nothing_else() -> None:
    """The batch's self-join votes as the index would: for a copy in the batch, both ways."""
    photos = [_random(400) for _ in range(6)]
    photos[4] = _noisy(photos[1][:160], 20)  # a 40 % crop of photo 1, each corner 20 bits off
    votes = fi.self_votes(photos, shared=fi.SHARED_BATCH)
    got = {
        (int(q), int(i)): int(n)
        for q, i, n in zip(votes.query, votes.image, votes.count, strict=True)
    }
    assert not np.any(votes.query == votes.image)
    assert got.get((4, 1), 0) >= 100 and got.get((1, 4), 0) >= 100
    assert all(n < fi.MIN_VOTES for pair, n in got.items() if pair not in {(4, 1), (1, 4)})
    # The votes name the descriptor pairs behind them, as the index's do.
    owner = fi.owners(photos)
    pairs = zip(owner[votes.voter].tolist(), owner[votes.voted].tolist(), strict=True)
    assert set(pairs) <= set(got)


def test_a_batch_self_join_leaves_out_keys_that_many_pictures_share() -> None:
    """A patch in every picture (a shared backdrop) makes runs longer than MAX_RUN: no votes."""
    backdrop = _random(100)
    batch = [np.vstack([backdrop, _random(100)]) for _ in range(fi.MAX_RUN + 2)]
    votes = fi.self_votes(batch, shared=fi.SHARED_BATCH)
    assert not np.any(votes.count >= fi.MIN_VOTES)


def test_the_index_looks_up_queries_a_block_at_a_time_with_the_same_votes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    photos = [_random(300) for _ in range(4)]
    queries = [_noisy(p[:200], 16) for p in photos] + [_random(300)]
    index = fi.FeatureIndex.build(photos)
    whole = index.votes(queries, shared=2)
    monkeypatch.setattr(fi, "QUERY_BLOCK", 97)
    blocks = index.votes(queries, shared=2)
    for name in ("query", "image", "count"):
        assert np.array_equal(getattr(whole, name), getattr(blocks, name))
    # Groups of query images too: the descriptors keep their place among all the queries,
    # and a batch against itself still casts no vote for itself.
    monkeypatch.setattr(fi, "QUERY_IMAGES", 2)
    groups = index.votes(queries, shared=2)
    for name in ("query", "image", "count", "voter", "voted"):
        assert np.array_equal(getattr(whole, name), getattr(groups, name))
    batch = fi.FeatureIndex.build(queries)
    own = batch.votes(queries, exclude_self=True)
    monkeypatch.setattr(fi, "QUERY_IMAGES", 10**6)
    assert np.array_equal(own.voter, batch.votes(queries, exclude_self=True).voter)
    assert not np.any(own.query == own.image)


def test_votes_grouped_for_the_wanted_pairs_only_are_the_same_votes() -> None:
    photos = [_random(300) for _ in range(3)]
    queries = [_noisy(photos[0][:200], 16), _noisy(photos[2][:200], 16)]
    index = fi.FeatureIndex.build(photos)
    votes = index.votes(queries)
    owner = fi.owners(queries)
    every = index.grouped(votes, owner)
    wanted = fi.group_votes(votes, owner, index.owner, index.images, [(1, 2), (0, 0), (1, 1)])
    assert set(wanted) == {(1, 2), (0, 0), (1, 1)}
    assert len(wanted[0, 0]) >= 100
    for pair in ((1, 2), (0, 0)):
        assert np.array_equal(wanted[pair], every[pair])
    assert len(wanted[1, 1]) == len(every.get((1, 1), ()))


def test_the_self_join_measures_its_pairs_a_block_at_a_time_with_the_same_votes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    photos = [_random(400) for _ in range(5)]
    photos[3] = _noisy(photos[0][:200], 16)
    whole = fi.self_votes(photos, shared=fi.SHARED_BATCH)
    monkeypatch.setattr(fi, "HAMMING_BLOCK", 7)
    blocks = fi.self_votes(photos, shared=fi.SHARED_BATCH)
    for name in ("query", "image", "count", "voter", "voted"):
        assert np.array_equal(getattr(whole, name), getattr(blocks, name))
    assert fi.candidates(blocks, relative=fi.RELATIVE_BATCH)[:1] == [
        (0, 3, int(whole.count[(whole.query == 0) & (whole.image == 3)][0]))
    ]


def test_the_self_join_packs_each_pair_into_one_word_and_back() -> None:
    top = (1 << 25) - 1
    q = np.array([0, 5, top, 123_456], dtype=np.int32)
    r = np.array([top, 0, 7, 654_321], dtype=np.int32)
    d = np.array([0, fi.MAX_DISTANCE, 127, 31], dtype=np.uint8)
    packed = fi._pack(q, r, d)
    back = fi._unpack(np.sort(packed))
    order = np.argsort(q, kind="stable")
    assert [x.tolist() for x in back] == [q[order].tolist(), r[order].tolist(), d[order].tolist()]


def test_the_self_join_refuses_a_distance_its_pairs_cannot_hold() -> None:
    with pytest.raises(ValueError, match="within 127 bits"):
        fi.self_votes([_random(10), _random(10)], max_distance=128)


def test_the_self_join_drops_pairs_that_can_never_be_candidates_and_keeps_the_rest() -> None:
    photos = [_random(300) for _ in range(8)]
    photos[5] = _noisy(photos[1][:150], 16)
    photos[6] = np.vstack([_noisy(photos[1][150:], 20), photos[2][:3]])  # a few chance votes
    every = fi.self_votes(photos, shared=fi.SHARED_BATCH)
    some = fi.self_votes(photos, shared=fi.SHARED_BATCH, min_votes=fi.MIN_VOTES)
    assert every.count.min() < fi.MIN_VOTES <= some.count.min()
    assert fi.candidates(some, relative=fi.RELATIVE_BATCH) == fi.candidates(
        every, relative=fi.RELATIVE_BATCH
    )
    owner = fi.owners(photos)
    kept = fi.group_votes(some, owner, owner, len(photos))
    full = fi.group_votes(every, owner, owner, len(photos))
    assert kept and set(kept) <= set(full)
    for pair, at in kept.items():
        assert np.array_equal(some.voter[at], every.voter[full[pair]])
        assert np.array_equal(some.voted[at], every.voted[full[pair]])
