"""The local-feature index: who votes for whom, on synthetic descriptors."""

from __future__ import annotations

import numpy as np

from twinreview.core import featureindex as fi

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
