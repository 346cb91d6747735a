"""Unit tests of the similarity engine (fingerprints, thresholds, matching)."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import imagehash
import numpy as np
import pytest
from PIL import Image

import photos as P
from twinreview.core.similarity import geometry, hashing
from twinreview.core.similarity import join as hashjoin
from twinreview.core.similarity import match as similarity
from twinreview.core.similarity.evidence import CopyEvidence
from twinreview.core.similarity.hashing import Fingerprint
from twinreview.core.similarity.match import SimilarityThresholds

REF_NAMES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "brick", "moon")


def _same(a: Fingerprint, b: Fingerprint) -> bool:
    """True when every hash of ``a`` equals ``b``'s (the JSON form holds them all)."""
    return a.to_json() == b.to_json()


def _pair(c: similarity.Candidate) -> tuple[int, int]:
    return min(c.query, c.ref), max(c.query, c.ref)


@pytest.fixture(scope="module")
def originals() -> dict[str, Image.Image]:
    return {n: P.load_photo(n) for n in REF_NAMES}


@pytest.fixture(scope="module")
def refs(originals: dict[str, Image.Image]) -> list[Fingerprint]:
    return [hashing.fingerprint(originals[n]) for n in REF_NAMES]


def _matches(query: Image.Image, refs: list[Fingerprint]) -> list[similarity.Match]:
    return similarity.match([hashing.fingerprint(query)], refs).matches


EDITS = {
    "crop": lambda im: P.crop(im, 0.1, 0.05, 0.0, 0.1),
    "downscale": P.downscale,
    "jpeg55": lambda im: P.jpeg(im, 55),
    "brighter": lambda im: P.brightness(im, 1.2),
    "darker": lambda im: P.brightness(im, 0.8),
    "grey": lambda im: P.saturation(im, 0.0),
    "saturated": lambda im: P.saturation(im, 1.6),
    "mirror": P.mirror,
    "label": P.label,
    "rotate2": lambda im: P.rotate(im, 2),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_each_edit_alone_is_found(
    edit: str, originals: dict[str, Image.Image], refs: list[Fingerprint]
) -> None:
    for name in ("astronaut", "coffee", "rocket"):
        found = _matches(EDITS[edit](originals[name]), refs)
        assert [m.ref for m in found] == [REF_NAMES.index(name)], f"{edit} of {name}: {found}"


def test_mirror_sets_the_mirrored_flag(
    originals: dict[str, Image.Image], refs: list[Fingerprint]
) -> None:
    (plain,) = _matches(P.jpeg(originals["chelsea"], 80), refs)
    (mirrored,) = _matches(P.mirror(originals["chelsea"]), refs)
    assert not plain.mirrored and not plain.evidence.mirrored
    assert mirrored.mirrored and mirrored.evidence.mirrored


def test_unrelated_photos_do_not_match(refs: list[Fingerprint]) -> None:
    others = [hashing.fingerprint(P.load_photo(n)) for n in ("grass", "gravel", "text", "page")]
    result = similarity.match(others, refs)
    assert result.matches == []
    # The references among themselves: only each with itself.
    own = similarity.match(refs, refs)
    assert sorted((m.query, m.ref) for m in own.matches) == [(i, i) for i in range(len(refs))]


def test_evidence_is_json_serialisable(
    originals: dict[str, Image.Image], refs: list[Fingerprint]
) -> None:
    (m,) = _matches(P.label(P.crop(originals["coffee"], 0.05, 0.05, 0.05, 0.05)), refs)
    evidence = json.loads(json.dumps(m.evidence.to_json()))
    assert CopyEvidence.from_json(evidence) == m.evidence
    assert evidence["hash"] == "phash_region"
    assert isinstance(evidence["distance"], int) and evidence["distance"] == m.distance
    assert evidence["distance"] <= evidence["threshold"]
    assert evidence["mirrored"] is False


def test_self_candidates_find_duplicates_once(originals: dict[str, Image.Image]) -> None:
    images = [
        originals["astronaut"],
        originals["coffee"],
        P.crop(originals["astronaut"], 0.08, 0.0, 0.0, 0.08),
        originals["moon"],
    ]
    found = similarity.self_candidates([hashing.fingerprint(im) for im in images])
    th = SimilarityThresholds()
    assert [_pair(c) for c in found if c.hash_match(th)] == [(0, 2)]


def test_empty_inputs() -> None:
    assert similarity.match([], []).matches == []
    fp = hashing.fingerprint(P.load_photo("camera"))
    assert similarity.match([fp], []).matches == []
    assert similarity.match([], [fp]).matches == []
    assert similarity.self_candidates([fp]) == []


def test_fingerprint_round_trips_through_json() -> None:
    fp = hashing.fingerprint(P.load_photo("astronaut"))
    data = json.loads(json.dumps(fp.to_json()))
    again = Fingerprint.from_json(data)
    assert _same(again, fp)
    assert again.grid.shape == (hashing.GRID_SIZE,)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 999}, "version"),
        ({"phash": "xyz"}, "phash"),
        ({"phash": "1" * 17}, "phash"),
        ({"grid": "AAAA"}, "grid"),
        ({"probes": 5}, "probes"),
        ({"grid": "!!notbase64!!"}, "grid"),
    ],
)
def test_fingerprint_from_json_rejects_bad_data(change: dict[str, object], message: str) -> None:
    data = hashing.fingerprint(P.load_photo("camera")).to_json()
    data.update(change)
    with pytest.raises(ValueError, match=message):
        Fingerprint.from_json(data)


def test_fingerprint_of_tiny_and_odd_images() -> None:
    for img in (Image.new("RGB", (1, 1)), Image.new("L", (3, 500)), Image.new("RGBA", (40, 30))):
        fp = hashing.fingerprint(img)
        assert _same(Fingerprint.from_json(fp.to_json()), fp)


def test_fingerprint_does_not_depend_much_on_decode_size() -> None:
    big = P.load_photo("astronaut")
    small = big.resize((300, 300), Image.Resampling.LANCZOS)
    a, b = hashing.fingerprint(big), hashing.fingerprint(small)
    assert int(np.bitwise_count(a.probes ^ b.probes).max()) <= 4
    assert int(np.bitwise_count(a.grid ^ b.grid).mean()) <= 2


def test_region_hashes_agree_with_imagehash() -> None:
    """The batched region pHash/dHash are imagehash's constructions on the same box.

    They differ only by the reduction kernel (exact area averages here, Lanczos in imagehash)
    and by the probe box edges (6.4..57.6 px of 64 here, whole pixels for a Pillow crop).
    """
    ph_bits, dh_bits = [], []
    for name in ("coffee", "astronaut", "rocket", "camera", "chelsea"):
        img = P.load_photo(name)
        fp = hashing.fingerprint(img)
        grey = img.convert("L").resize(
            (hashing.WORK_SIZE, hashing.WORK_SIZE), Image.Resampling.LANCZOS, reducing_gap=2.0
        )
        crop = grey.crop((6, 6, 58, 58))
        ph = hashing._imagehash_to_int(imagehash.phash(crop))
        dh = hashing._imagehash_to_int(imagehash.dhash(crop))
        ph_bits.append((ph ^ int(fp.probes[0])).bit_count())
        dh_bits.append((dh ^ int(fp.probe_dhashes[0])).bit_count())
        assert hashing._imagehash_to_int(imagehash.phash(grey)) == fp.phash
    # Unrelated images differ by ~32 bits.
    assert max(ph_bits) <= 8 and sum(ph_bits) / len(ph_bits) <= 4, ph_bits
    assert max(dh_bits) <= 12 and sum(dh_bits) / len(dh_bits) <= 8, dh_bits


def test_thresholds_from_config() -> None:
    default = SimilarityThresholds()
    assert SimilarityThresholds.from_config({}) == default
    assert SimilarityThresholds.from_config(None) == default
    assert SimilarityThresholds.from_config({"strong": 6}).strong == 6
    tuned = SimilarityThresholds.from_config({"min_inliers": 30, "min_agreement": 90})
    assert (tuned.min_inliers, tuned.min_agreement) == (30, 90)
    # Sub-tables belong to other settings (e.g. [similarity.severity]).
    assert SimilarityThresholds.from_config({"severity": {"duplicate_in_batch": "info"}}) == default


def test_keys_read_by_nothing_are_accepted_and_ignored() -> None:
    """Older signed policies set ``undecided``, ``detail_bits`` and ``detail_segments``: they
    still open, whatever the values, and the keys that are used are validated on their own."""
    old = {"undecided": 99, "detail_bits": "x", "detail_segments": 0}
    assert SimilarityThresholds.from_config(old) == SimilarityThresholds()
    assert SimilarityThresholds.from_config({"strong": 12}).strong == 12
    assert SimilarityThresholds.from_config({"match": 9}).match == 9
    assert SimilarityThresholds.from_config({"strong": 12, "undecided": 10}).strong == 12


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"strong": "8"}, "similarity.strong must be an integer"),
        ({"strong": True}, "similarity.strong must be an integer"),
        ({"match": 65}, "between 0 and 64"),
        ({"candidate": -1}, "between 0 and 64"),
        ({"strong": 12, "match": 10}, "strong .* must not exceed similarity.match"),
        ({"match": 20}, "match .* must not exceed similarity.candidate"),
        ({"treshold": 3}, "unknown key.*treshold"),
        ({"min_inliers": 3}, "min_inliers must be between 4 and"),
        ({"min_agreement": 101}, "min_agreement must be between 0 and 100"),
    ],
)
def test_thresholds_validation(table: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimilarityThresholds.from_config(table)
    with pytest.raises(ValueError, match="must be a table"):
        SimilarityThresholds.from_config(["strong"])  # type: ignore[arg-type]


# --- Candidates and their geometric verification -------------------------------------


def test_candidates_hold_every_hash_match_and_self_candidates_each_pair_once(
    originals: dict[str, Image.Image], refs: list[Fingerprint]
) -> None:
    queries = [
        hashing.fingerprint(edit(originals[n])) for n in REF_NAMES for edit in EDITS.values()
    ]
    matched = {(m.query, m.ref) for m in similarity.match(queries, refs).matches}
    cands = similarity.candidates(queries, refs)
    assert matched <= {(c.query, c.ref) for c in cands}
    for c in cands:
        assert c.hash_match(SimilarityThresholds()) == ((c.query, c.ref) in matched)
    batch = similarity.self_candidates(queries + refs)
    keys = [frozenset((c.query, c.ref)) for c in batch]
    assert len(keys) == len(set(keys))
    assert all(len(k) == 2 for k in keys)
    # An edited copy and its original are a candidate pair of the batch.
    first = REF_NAMES.index("astronaut") * len(EDITS)
    assert frozenset((first, len(queries) + REF_NAMES.index("astronaut"))) in keys


def test_the_candidates_touching_some_images_are_those_of_the_whole_join(
    originals: dict[str, Image.Image],
) -> None:
    """What an incremental rescan joins: the same candidates, pair for pair, field for field."""
    batch = [hashing.fingerprint(edit(originals[n])) for n in REF_NAMES for edit in EDITS.values()]
    batch.append(batch[3])  # the same picture twice
    whole = similarity.self_candidates(batch)
    assert len(whole) > 10
    for among in ([0], [3, len(batch) - 1], [1, 5, 6, 20], list(range(len(batch)))):
        want = [c for c in whole if c.query in among or c.ref in among]
        assert similarity.self_candidates_touching(batch, among) == want
    assert similarity.self_candidates_touching(batch, []) == []


def _candidate(distance: int, dhash: int = 30) -> similarity.Candidate:
    return similarity.Candidate(0, 1, distance, dhash, False, 0, distance)


def _verification(
    inliers: int, agreement: float | None, keypoints: tuple[int, int] = (400, 400)
) -> geometry.Verification:
    rows = ((0.8, 0.0, 0.1), (0.0, 0.8, 0.1), (0.0, 0.0, 1.0))
    return geometry.Verification(inliers, inliers + 10, True, rows, agreement, keypoints)


def test_decide_by_geometry_whatever_the_hash_distance() -> None:
    th = SimilarityThresholds()
    close, far = _candidate(th.clear_cut + 1, 0), _candidate(18)
    assert close.hash_match(th) and not close.clear_cut(th)
    assert similarity.decide(close, _verification(th.min_inliers - 1, None), th) is None
    assert similarity.decide(close, _verification(300, 0.80), th) is None  # another subject
    match = similarity.decide(far, _verification(th.min_inliers, 0.9), th)
    assert match is not None
    assert match.mirrored  # the verified orientation, not the hashes' guess
    ev = match.evidence.to_json()
    assert CopyEvidence.from_json(json.loads(json.dumps(ev))) == match.evidence
    assert ev["verification"] == "geometry"
    assert (ev["inliers"], ev["min_inliers"], ev["agreement"]) == (th.min_inliers, 20, 0.9)
    assert ev["min_agreement"] == th.min_agreement / 100
    assert ev["homography"] == [[0.8, 0.0, 0.1], [0.0, 0.8, 0.1], [0.0, 0.0, 1.0]]
    assert ev["asset_region"] == [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
    json.dumps(ev)


def test_a_clear_cut_candidate_needs_no_verification() -> None:
    th = SimilarityThresholds()
    clear = _candidate(th.clear_cut, th.clear_cut_dhash)
    assert clear.clear_cut(th)
    match = similarity.decide(clear, None, th)
    assert match is not None
    assert match.evidence.verification == "not needed: clear-cut hash match"
    assert not _candidate(th.clear_cut, th.clear_cut_dhash + 1).clear_cut(th)
    everything = SimilarityThresholds.from_config({"clear_cut": -1})
    assert not _candidate(0, 0).clear_cut(everything)
    with pytest.raises(ValueError, match="clear_cut must be between -1 and 8"):
        SimilarityThresholds.from_config({"clear_cut": 9})


def test_the_same_picture_by_hashes_alone_agrees_on_both_whole_frame_hashes() -> None:
    """Among thousands of plain pictures two mirrored gradients agree on their pHash by chance
    (two pairs of 480 smooth images in the 10,000-asset benchmark, dHash 53 bits apart): a
    batch pair is the same picture by its hashes only when both whole-frame hashes agree."""
    th = SimilarityThresholds()
    same = replace(_candidate(th.clear_cut, th.clear_cut_dhash), whole_frame_dhash=3)
    assert same.clear_cut_frame(th)
    assert not replace(same, whole_frame_dhash=th.clear_cut_dhash + 1).clear_cut_frame(th)
    assert not replace(same, whole_frame_dhash=53).clear_cut_frame(th)
    # A mirrored pair keeps no whole-frame dHash: verification decides.
    assert not replace(same, mirrored=True, whole_frame_dhash=None).clear_cut_frame(th)
    assert not replace(same, whole_frame=th.clear_cut + 1).clear_cut_frame(th)


def test_decide_by_the_hashes_when_verification_is_not_possible() -> None:
    th = SimilarityThresholds()
    plain = _verification(0, None, keypoints=(400, geometry.MIN_KEYPOINTS - 1))
    match = similarity.decide(_candidate(th.strong), plain, th)
    assert not _candidate(th.strong).clear_cut(th)
    assert match is not None
    assert match.evidence.verification == "not possible: too few keypoints to verify"
    assert similarity.decide(_candidate(th.match + 1), plain, th) is None
    unread = similarity.decide(_candidate(th.strong), None, th, unverified="file gone")
    assert unread is not None
    assert unread.evidence.verification == "not possible: file gone"


# --- Candidate stage (bucket join) -----------------------------------------------------


def _random_fps(rng: np.random.Generator, n: int) -> list[Fingerprint]:
    def bits(k: int) -> np.ndarray:
        return rng.integers(0, 2**64, size=k, dtype=np.uint64)

    return [
        Fingerprint(
            phash=0,
            phash_mirror=0,
            dhash=0,
            colorhash=0,
            probes=bits(2),
            probe_dhashes=bits(2),
            grid=bits(hashing.GRID_SIZE),
            grid_dhash=bits(hashing.GRID_SIZE),
        )
        for _ in range(n)
    ]


def test_candidate_key_is_the_named_bytes() -> None:
    rng = np.random.default_rng(3)
    ph, dh = (
        rng.integers(0, 2**64, 50, dtype=np.uint64),
        rng.integers(0, 2**64, 50, dtype=np.uint64),
    )
    found = {"phash": hashjoin._bytes(ph), "dhash": hashjoin._bytes(dh)}
    values = {"phash": [int(v) for v in ph], "dhash": [int(v) for v in dh]}
    for spec in hashjoin.CANDIDATE_KEYS:
        (a, row_a), (b, row_b) = spec
        want = [
            ((x >> (56 - 8 * row_a)) & 0xFF) << 8 | ((y >> (56 - 8 * row_b)) & 0xFF)
            for x, y in zip(values[a], values[b], strict=True)
        ]
        assert hashjoin._key(found, spec).tolist() == want


def test_query_index_join_lists_every_equal_key_pair() -> None:
    rng = np.random.default_rng(4)
    # Few distinct values: buckets with one, several and many members, and empty ones.
    queries = rng.choice(np.array([0, 1, 7, 7, 7, 300, 65535], dtype=np.uint16), 60)
    lookups = rng.choice(np.array([0, 1, 2, 7, 300, 65535, 9], dtype=np.uint16), 80)
    index = hashjoin._QueryIndex.build(queries)
    got = sorted(
        (int(q), int(p))
        for entries, pos in index.join(lookups)
        for q, p in zip(entries, pos, strict=True)
    )
    want = sorted(
        (q, p) for q in range(len(queries)) for p in range(len(lookups)) if queries[q] == lookups[p]
    )
    assert got == want
    empty = hashjoin._QueryIndex.build(np.zeros(0, dtype=np.uint16))
    assert empty.join(lookups)[0][0].size == 0


def test_identical_groups_merge_exact_duplicates_only() -> None:
    rng = np.random.default_rng(6)
    probes = rng.integers(0, 2**64, (6, 2), dtype=np.uint64)
    probe_d = rng.integers(0, 2**64, (6, 2), dtype=np.uint64)
    assert hashjoin._identical_groups(probes, probe_d) is None
    probes[3], probe_d[3] = probes[1], probe_d[1]
    # Row 5 differs from row 0 by two bits that cancel in the mixing hash: not a duplicate.
    probes[5], probe_d[5] = probes[0] ^ np.uint64(1), probe_d[0] ^ np.uint64(1 << 7)
    probes[5, 1], probe_d[5, 1] = probes[0, 1], probe_d[0, 1]
    group = hashjoin._identical_groups(probes, probe_d)
    assert group is not None
    assert group[3] == group[1] and len(set(group.tolist())) == 5


def _brute_force_candidates(
    queries: list[Fingerprint], refs: list[Fingerprint], th: SimilarityThresholds, self_join: bool
) -> set[tuple[int, int]]:
    """Definition of stage 1, pair by pair: some key collides at an alignment that verifies."""
    out = set()
    for qi, q in enumerate(queries):
        for ri, r in enumerate(refs):
            if self_join and qi == ri:
                continue
            for o in range(2):
                qb = {"phash": hashjoin._bytes(q.probes[o : o + 1])}
                qb["dhash"] = hashjoin._bytes(q.probe_dhashes[o : o + 1])
                rb = {"phash": hashjoin._bytes(r.grid), "dhash": hashjoin._bytes(r.grid_dhash)}
                ph = np.bitwise_count(r.grid ^ q.probes[o])
                dh = np.bitwise_count(r.grid_dhash ^ q.probe_dhashes[o])
                slack = hashjoin.CANDIDATE_SLACK
                # Collisions on pHash-only keys must be closer (see hashjoin._verified).
                ok_any = (ph <= th.candidate) | (
                    (ph <= th.candidate + slack) & (dh <= th.match_dhash)
                )
                ok_phash_key = (ph <= th.candidate - slack) | (
                    (ph <= th.candidate) & (dh <= th.match_dhash + slack)
                )
                hit = np.zeros(hashing.GRID_SIZE, dtype=bool)
                for spec in hashjoin.CANDIDATE_KEYS:
                    phash_key = spec[0][0] == spec[1][0] == "phash"
                    same = hashjoin._key(rb, spec) == hashjoin._key(qb, spec)[0]
                    hit |= same & (ok_phash_key if phash_key else ok_any)
                if hit.any():
                    out.add((qi, ri))
    return out


@pytest.mark.parametrize("self_join", [False, True])
def test_candidates_equal_their_pair_by_pair_definition(
    self_join: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(5)
    refs = _random_fps(rng, 12 if self_join else 9)
    queries = refs if self_join else _random_fps(rng, 12)
    # Plant near copies: a query probe equal to a grid box up to some flipped bits, so that
    # keys collide, some alignments verify and some do not; plus an exact duplicate. Queries
    # 6 and 7 collide on the pHash-only key (rows 2, 6) alone, 14 and 10 bits away.
    row = [0xFF << (56 - 8 * r) for r in range(8)]
    plants = [
        (0, 3, 17, (1 << 3) - 1, True),
        (1, 3, 200, (1 << 12) - 1, True),
        (2, 8, 0, 0, True),
        (5, 1, 99, (1 << 30) - 1, True),
        (6, 4, 50, row[1] | (0xF << 32) | 0x3, False),
        (7, 5, 51, row[1] | (0x1 << 32) | 0x1, False),
    ]
    for q, r, box, mask, same_dhash in plants:
        probes = queries[q].probes.copy()
        probes[q % 2] = refs[r].grid[box] ^ np.uint64(mask)
        probe_d = queries[q].probe_dhashes.copy()
        if same_dhash:
            probe_d[q % 2] = refs[r].grid_dhash[box]
        grids = queries[q].grid, queries[q].grid_dhash
        queries[q] = Fingerprint(0, 0, 0, 0, probes, probe_d, *grids)
    # Exact duplicates (the same file twice): joined once, candidates shared.
    queries[9], queries[10] = queries[0], queries[2]
    if self_join:
        refs = queries
    th = SimilarityThresholds()
    want = _brute_force_candidates(queries, refs, th, self_join)
    assert {(0, 3), (2, 8), (7, 5), (9, 3), (10, 8)} <= want and not {(5, 1), (6, 4)} & want
    monkeypatch.setattr(hashjoin, "BLOCK_REFS", 4)  # several blocks, a short last one
    q_probes = np.stack([fp.probes for fp in queries])
    q_probe_d = np.stack([fp.probe_dhashes for fp in queries])
    for executor in (None, ThreadPoolExecutor(2)):
        qi, ri = hashjoin.candidate_pairs(q_probes, q_probe_d, refs, th, self_join, executor)
        assert set(zip(qi.tolist(), ri.tolist(), strict=True)) == want
        assert len(qi) == len(want)


def test_match_with_an_executor_gives_the_same_result(refs: list[Fingerprint]) -> None:
    # Photos only: a crop of the brick texture is beyond the candidate keys (see hashjoin).
    names = [n for n in REF_NAMES if n != "brick"]
    copies = [hashing.fingerprint(P.crop(P.load_photo(n), 0.05, 0, 0.02, 0.1)) for n in names]
    plain = similarity.match(copies, refs)
    with ThreadPoolExecutor(2) as pool:
        threaded = similarity.match(copies, refs, executor=pool)
    assert [(m.query, m.ref, m.distance) for m in plain.matches] == [
        (m.query, m.ref, m.distance) for m in threaded.matches
    ]
    assert sorted((m.query, m.ref) for m in plain.matches) == [
        (i, REF_NAMES.index(n)) for i, n in enumerate(names)
    ]


def test_self_candidates_pair_every_exact_duplicate(refs: list[Fingerprint]) -> None:
    # The same file 30 times (joined once in the candidate stage) plus two other photos.
    batch = [refs[0]] * 30 + [refs[1], refs[2]]
    th = SimilarityThresholds()
    found = similarity.self_candidates(batch, th)
    assert [_pair(c) for c in found if c.clear_cut(th)] == [
        (i, j) for i in range(30) for j in range(i + 1, 30)
    ]


def _crowd(n: int, seed: int) -> list[Fingerprint]:
    """``n`` fingerprints whose region hashes all lie within a few bits of one another.

    Every pair is a hash candidate (the neighbourhood of each grows with the crowd), while the
    whole frames differ (no pair is clear-cut over the whole frame).
    """
    rng = np.random.default_rng(seed)
    base_p, base_d = (int(v) for v in rng.integers(0, 2**63, 2, dtype=np.uint64))

    def near(base: int) -> int:
        for bit in rng.choice(64, 3, replace=False):
            base ^= 1 << int(bit)
        return base

    out = []
    for _ in range(n):
        p, d = near(base_p), near(base_d)
        whole = [int(v) for v in rng.integers(0, 2**63, 4, dtype=np.uint64)]
        out.append(
            Fingerprint(
                whole[0], whole[1], whole[2], whole[3],
                np.array([p, whole[1]], dtype=np.uint64),
                np.array([d, whole[2]], dtype=np.uint64),
                np.full(hashing.GRID_SIZE, p, dtype=np.uint64),
                np.full(hashing.GRID_SIZE, d, dtype=np.uint64),
            )
        )  # fmt: skip
    return out


@pytest.mark.parametrize("n", [40, 160])
def test_batch_candidates_per_asset_stay_bounded_as_the_neighbourhood_grows(n: int) -> None:
    th = SimilarityThresholds()
    crowd = _crowd(n, seed=n)
    everything = similarity.self_candidates(crowd, th)
    assert len(everything) > n * similarity.BATCH_PER_ASSET * 2  # grows with the crowd
    found = similarity.batch_candidates(crowd, th)
    assert found.proposed == len(everything)
    per_asset = np.bincount([x for c in found.candidates for x in (c.query, c.ref)], minlength=n)
    assert per_asset.max() <= similarity.BATCH_PER_ASSET
    degree = np.bincount([x for c in everything for x in (c.query, c.ref)], minlength=n)
    for a in range(n):
        # What was left out of each asset is said (for its findings' evidence), exactly.
        assert found.left_out.get(a, 0) == degree[a] - per_asset[a]
    # Each kept pair is among the closest of both its assets.
    for c in found.candidates:
        for side in (c.query, c.ref):
            closer = [
                o
                for o in everything
                if side in (o.query, o.ref)
                and (o.distance, o.dhash_distance) < (c.distance, c.dhash_distance)
            ]
            assert len(closer) < similarity.BATCH_PER_ASSET


@pytest.mark.parametrize("n", [40, 160])
def test_a_rescans_ranking_of_the_batch_is_the_whole_joins(n: int) -> None:
    th = SimilarityThresholds()
    crowd = _crowd(n, seed=n + 1)
    whole = similarity.batch_candidates(crowd, th)
    # A rescan ranks the kept pairs of the last scan plus the pairs of its new files.
    fresh = {1, n // 2, n - 1}
    everything = similarity.self_candidates(crowd, th)
    kept = [c for c in everything if c.query not in fresh and c.ref not in fresh]
    touching = similarity.self_candidates_touching(crowd, fresh, th)
    listed = sorted([*kept, *touching], key=lambda c: (min(c.query, c.ref), max(c.query, c.ref)))
    again = similarity.rank_batch(listed, th)
    assert again.candidates == whole.candidates
    assert again.left_out == whole.left_out
    assert again.proposed == whole.proposed


def test_batch_candidates_keep_a_pair_that_is_each_others_nearest() -> None:
    th = SimilarityThresholds()
    crowd = _crowd(120, seed=7)
    twin = crowd[5]
    # Another version of asset 5 (mirrored, so not clear-cut over the whole frame), added
    # to a crowd where every asset has a hundred candidates.
    mirrored = Fingerprint(
        twin.phash_mirror, twin.phash, twin.dhash ^ 0xFF, twin.colorhash,
        twin.probes[::-1].copy(), twin.probe_dhashes[::-1].copy(), twin.grid, twin.grid_dhash,
    )  # fmt: skip
    found = similarity.batch_candidates([*crowd, mirrored], th)
    assert (5, 120) in {_pair(c) for c in found.candidates}


def test_batch_candidates_keep_every_clear_cut_pair(refs: list[Fingerprint]) -> None:
    batch = [refs[0]] * 30 + [refs[1], refs[2]]
    th = SimilarityThresholds()
    found = similarity.batch_candidates(batch, th)
    assert [_pair(c) for c in found.candidates if c.clear_cut_frame(th)] == [
        (i, j) for i in range(30) for j in range(i + 1, 30)
    ]
    assert found.left_out == {}


def _edge_saturations(rng: np.random.Generator) -> np.ndarray:
    """Colours whose saturation lies about the colour hash's bin edges (85 and 170 of 255)."""
    low = rng.integers(60, 140, (40, 40))  # saturation (200 - low) / 200 * 255: 77 to 179
    mid = rng.integers(0, 201, (40, 40))
    mid = np.maximum(mid, low)
    return np.stack([np.full((40, 40), 200), mid, low], -1)[:, :, rng.permutation(3)]


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: rng.integers(0, 256, (37, 53, 3)),  # every colour
        lambda rng: np.full((20, 30, 3), rng.integers(0, 256, 3)),  # one colour
        lambda rng: rng.integers(0, 40, (25, 25, 3)),  # near black
        lambda rng: np.repeat(rng.integers(0, 256, (30, 20, 1)), 3, axis=2),  # grey
        _edge_saturations,
        lambda rng: rng.integers(0, 256, (1, 1, 3)),  # one pixel
    ],
)
def test_the_colour_hash_is_imagehash_s(make: Callable[[np.random.Generator], np.ndarray]) -> None:
    """The fingerprint's colour hash has imagehash's bits, on every kind of picture."""
    rng = np.random.default_rng(7)
    images = [Image.fromarray(make(rng).astype(np.uint8)) for _ in range(30)]
    images += [P.load_photo(name) for name in ("astronaut", "coffee", "chelsea")]
    for img in images:
        expected = hashing._imagehash_to_int(imagehash.colorhash(img, binbits=3))
        assert hashing._colour_hash(img) == expected
