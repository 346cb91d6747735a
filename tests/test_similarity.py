"""Unit tests of the similarity engine (fingerprints, thresholds, matching)."""

from __future__ import annotations

import json

import imagehash
import numpy as np
import pytest
from PIL import Image

import photos as P
from twinreview.core import hashing, similarity
from twinreview.core.hashing import Detail, Fingerprint
from twinreview.core.similarity import SimilarityThresholds

REF_NAMES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "brick", "moon")


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
    assert not plain.mirrored and not plain.evidence["mirrored"]
    assert mirrored.mirrored and mirrored.evidence["mirrored"]


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
    evidence = json.loads(json.dumps(m.evidence))
    assert evidence["hash"] == "phash_region"
    assert isinstance(evidence["distance"], int) and evidence["distance"] == m.distance
    assert evidence["distance"] <= evidence["threshold"]
    assert evidence["mirrored"] is False


def test_self_match_finds_duplicates_once(originals: dict[str, Image.Image]) -> None:
    images = [
        originals["astronaut"],
        originals["coffee"],
        P.crop(originals["astronaut"], 0.08, 0.0, 0.0, 0.08),
        originals["moon"],
    ]
    result = similarity.self_match([hashing.fingerprint(im) for im in images])
    assert [(m.query, m.ref) for m in result.matches] == [(0, 2)]


def test_empty_inputs() -> None:
    assert similarity.match([], []).matches == []
    fp = hashing.fingerprint(P.load_photo("camera"))
    assert similarity.match([fp], []).matches == []
    assert similarity.match([], [fp]).matches == []
    assert similarity.self_match([fp]).matches == []


def test_fingerprint_round_trips_through_json() -> None:
    fp = hashing.fingerprint(P.load_photo("astronaut"))
    data = json.loads(json.dumps(fp.to_json()))
    again = Fingerprint.from_json(data)
    assert again.same_as(fp)
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
        assert Fingerprint.from_json(fp.to_json()).same_as(fp)


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


def test_detail_round_trips_and_matches_itself() -> None:
    img = P.load_photo("coins")
    d = hashing.detail(img)
    again = Detail.from_json(json.loads(json.dumps(d.to_json())))
    assert np.array_equal(again.segments, d.segments)
    assert np.array_equal(again.segments_mirror, d.segments_mirror)
    count, distance, mirrored = similarity.detail_matching_segments(d, d, 0)
    assert count == d.segments.size and distance == 0 and not mirrored
    with pytest.raises(ValueError, match="version"):
        Detail.from_json({**d.to_json(), "version": 0})


def test_confirm_uses_details_and_skips_missing_ones() -> None:
    img = P.load_photo("coins")
    d = hashing.detail(img)
    other = hashing.detail(P.load_photo("moon"))
    th = SimilarityThresholds()
    got = similarity.confirm([(0, 0), (1, 1), (2, 2)], {0: d, 1: d, 2: None}, {0: d, 1: other}, th)
    assert [(m.query, m.ref) for m in got] == [(0, 0)]
    assert got[0].evidence["hash"] == "crop_resistant"
    json.dumps(got[0].evidence)


def test_thresholds_from_config() -> None:
    default = SimilarityThresholds()
    assert SimilarityThresholds.from_config({}) == default
    assert SimilarityThresholds.from_config(None) == default
    assert SimilarityThresholds.from_config({"strong": 6}).strong == 6
    # Sub-tables belong to other settings (e.g. [similarity.severity]).
    assert SimilarityThresholds.from_config({"severity": {"duplicate_in_batch": "info"}}) == default


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"strong": "8"}, "similarity.strong must be an integer"),
        ({"strong": True}, "similarity.strong must be an integer"),
        ({"match": 65}, "between 0 and 64"),
        ({"candidate": -1}, "between 0 and 64"),
        ({"detail_segments": 0}, "between 1 and 16"),
        ({"strong": 12, "match": 10}, "strong .* must not exceed similarity.match"),
        ({"match": 20}, "match .* must not exceed similarity.candidate"),
        ({"undecided": 16}, "undecided .* must lie between"),
        ({"undecided": 6}, "undecided .* must lie between"),
        ({"treshold": 3}, "unknown key.*treshold"),
    ],
)
def test_thresholds_validation(table: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimilarityThresholds.from_config(table)
    with pytest.raises(ValueError, match="must be a table"):
        SimilarityThresholds.from_config(["strong"])  # type: ignore[arg-type]
