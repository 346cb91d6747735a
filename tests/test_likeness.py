"""Likeness logic (core.likeness.model) on synthetic embeddings: no dlib, no images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twinreview.core.findings import (
    ALSO_LOOKS_LIKE_MODEL,
    LIKENESS_UNCONFIRMED,
    LOOKS_LIKE_OTHER_MODEL,
    REFERENCE_COPIES,
    UNKNOWN_PERSON,
    Severity,
)
from twinreview.core.likeness.model import (
    AMBIGUOUS,
    DEFAULT_SEVERITY,
    EMBEDDING_DIM,
    OTHER,
    OWN,
    UNKNOWN,
    Face,
    FaceScan,
    Gallery,
    Likeness,
    LikenessSettings,
    ReferenceFaces,
    findings,
    sentence,
)

RNG = np.random.default_rng(7)


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


# One random direction per person; a photo of a person is that point plus a small offset. Points
# of different people are ~1.4 apart (random unit vectors in 128-D are nearly orthogonal).
PEOPLE = {name: _unit(RNG.normal(size=EMBEDDING_DIM)) for name in ("ava", "bea", "cy", "dan")}


def at(base: np.ndarray, distance: float, seed: int = 0) -> np.ndarray:
    """A point exactly ``distance`` away from ``base``."""
    d = np.random.default_rng(seed).normal(size=EMBEDDING_DIM)
    return (base + distance * d / np.linalg.norm(d)).astype(np.float32)


def face(emb: np.ndarray, box: tuple[float, float, float, float] = (0.4, 0.2, 0.6, 0.5)) -> Face:
    return Face(box, emb, 1.0)


def scan(*embs: np.ndarray) -> FaceScan:
    return FaceScan(tuple(face(e, (0.1 * i, 0.2, 0.1 * i + 0.1, 0.4)) for i, e in enumerate(embs)))


def gallery(spread: float = 0.3, **people: int) -> Gallery:
    """``people[name]`` reference photos of each, one face each, ``spread`` from their point."""
    refs = [
        ReferenceFaces(name, f"models/{name}/references/{name}-{i:02d}.jpg", scan(at(p, spread, i)))
        for name, n in people.items()
        for i, p in [(i, PEOPLE[name]) for i in range(n)]
    ]
    return Gallery.build(refs)


def one(g: Gallery, model: str, s: FaceScan | None) -> Likeness:
    (lk,) = g.assess([(model, s)], known={m: 2 for m in ("ava", "bea", "cy")})
    return lk


def kinds(lk: Likeness) -> dict[str, Severity]:
    return {f.kind: f.severity for f in findings(lk, DEFAULT_SEVERITY)}


def test_own_model_accepted_with_no_finding() -> None:
    g = gallery(ava=2, bea=2)
    lk = one(g, "ava", scan(at(PEOPLE["ava"], 0.35, 99)))
    assert [f.verdict for f in lk.faces] == [OWN]
    assert lk.state == OWN
    assert kinds(lk) == {}
    own = lk.faces[0].own
    assert own is not None
    assert own.model == "ava"
    assert own.reference.startswith("models/ava/references/")
    assert 0.0 < own.distance <= 0.6
    assert lk.faces[0].other is not None
    assert lk.faces[0].other.model == "bea"


def test_misfiled_face_names_the_other_model_and_blocks() -> None:
    g = gallery(ava=2, bea=2)
    lk = one(g, "ava", scan(at(PEOPLE["bea"], 0.3, 5)))
    assert [f.verdict for f in lk.faces] == [OTHER]
    (f,) = findings(lk, DEFAULT_SEVERITY, {"ava": "Ava", "bea": "Bea"})
    assert f.kind == LOOKS_LIKE_OTHER_MODEL
    assert f.severity is Severity.BLOCK
    assert f.evidence["model"] == "bea"
    assert f.evidence["reference"].startswith("models/bea/references/")
    assert f.evidence["distance"] <= 0.6 < f.evidence["own_distance"]
    assert f.evidence["threshold"] == 0.6
    assert "Bea" in f.message
    assert "not Ava" in f.message
    assert len(f.evidence["box"]) == 4


def test_stranger_is_unconfirmed_and_unknown_never_another_model() -> None:
    g = gallery(ava=2, bea=2)
    lk = one(g, "ava", scan(at(PEOPLE["dan"], 0.2, 3)))
    assert [f.verdict for f in lk.faces] == [UNKNOWN]
    assert kinds(lk) == {LIKENESS_UNCONFIRMED: Severity.WARN, UNKNOWN_PERSON: Severity.WARN}
    by_kind = {f.kind: f for f in findings(lk, DEFAULT_SEVERITY)}
    assert by_kind[UNKNOWN_PERSON].evidence["faces"] == [list(lk.faces[0].box)]
    assert by_kind[LIKENESS_UNCONFIRMED].evidence["reason"] == "no matching face"
    assert by_kind[LIKENESS_UNCONFIRMED].evidence["distance"] > 0.6
    # The evidence: the closest face of her own model and of the closest other model.
    assert by_kind[LIKENESS_UNCONFIRMED].evidence["other_model"] == "bea"
    assert by_kind[LIKENESS_UNCONFIRMED].evidence["other_distance"] > 0.6


def test_group_photo_with_own_model_another_model_and_a_stranger() -> None:
    g = gallery(ava=2, bea=1)
    lk = one(
        g,
        "ava",
        scan(at(PEOPLE["ava"], 0.3, 1), at(PEOPLE["bea"], 0.3, 2), at(PEOPLE["dan"], 0.1, 3)),
    )
    assert [f.verdict for f in lk.faces] == [OWN, OTHER, UNKNOWN]
    found = {f.kind: f for f in findings(lk, DEFAULT_SEVERITY, {"bea": "Bea"})}
    assert set(found) == {LOOKS_LIKE_OTHER_MODEL, UNKNOWN_PERSON}
    assert found[LOOKS_LIKE_OTHER_MODEL].message.startswith("Besides ava, this image shows Bea")
    assert "One more person" in found[UNKNOWN_PERSON].message


def test_no_face_found_is_unconfirmed() -> None:
    g = gallery(ava=1)
    lk = one(g, "ava", FaceScan(()))
    assert lk.state == "no_face"
    (f,) = findings(lk, DEFAULT_SEVERITY)
    assert f.kind == LIKENESS_UNCONFIRMED
    assert f.evidence["reason"] == "no face found"
    assert "No face was found" in f.message
    assert sentence(lk).startswith("No face found")


def test_equally_close_to_two_models_needs_the_other_models_word() -> None:
    # Two look-alike models: bea's point is 0.5 from ava's; a face in between is 0.25 from both.
    bea_near = at(PEOPLE["ava"], 0.5, 11)
    refs = [
        ReferenceFaces("ava", "models/ava/references/a.jpg", scan(PEOPLE["ava"])),
        ReferenceFaces("bea", "models/bea/references/b.jpg", scan(bea_near)),
    ]
    g = Gallery.build(refs)
    mid = ((PEOPLE["ava"] + bea_near) / 2).astype(np.float32)
    lk = one(g, "ava", scan(mid))
    assert [f.verdict for f in lk.faces] == [AMBIGUOUS]
    also, f = findings(lk, DEFAULT_SEVERITY)
    assert f.kind == LIKENESS_UNCONFIRMED
    assert f.evidence["reason"] == "ambiguous"
    # Either of them: bea's own word is needed too, and until she gives it the image blocks.
    assert also.kind == ALSO_LOOKS_LIKE_MODEL
    assert also.severity is Severity.BLOCK
    assert also.evidence["model"] == "bea"
    assert also.message.startswith("This image also looks like bea: she must approve it too")
    # Clearly closer to bea than to ava (beyond the margin): another model.
    lk = one(g, "ava", scan(at(bea_near, 0.05, 4)))
    assert [f.verdict for f in lk.faces] == [OTHER]


def test_threshold_and_margin_come_from_settings() -> None:
    refs = [ReferenceFaces("ava", "models/ava/references/a.jpg", scan(PEOPLE["ava"]))]
    probe = scan(at(PEOPLE["ava"], 0.55, 1))
    assert one(Gallery.build(refs), "ava", probe).faces[0].verdict == OWN
    strict = Gallery.build(refs, LikenessSettings(threshold=0.5))
    lk = one(strict, "ava", probe)
    assert lk.faces[0].verdict == UNKNOWN
    assert lk.threshold == 0.5


def test_settings_from_config() -> None:
    assert LikenessSettings.from_config(None) == LikenessSettings()
    s = LikenessSettings.from_config({"likeness": {"threshold": 0.55, "enabled": False}})
    assert s.threshold == 0.55
    assert s.enabled is False
    with pytest.raises(ValueError, match="unknown key"):
        LikenessSettings.from_config({"likeness": {"treshold": 0.5}})
    with pytest.raises(ValueError, match="threshold"):
        LikenessSettings.from_config({"likeness": {"threshold": 3}})
    with pytest.raises(ValueError, match="threshold"):
        LikenessSettings.from_config({"likeness": {"threshold": "0.5"}})
    with pytest.raises(ValueError, match="enabled"):
        LikenessSettings.from_config({"likeness": {"enabled": "yes"}})
    with pytest.raises(ValueError, match="table"):
        LikenessSettings.from_config({"likeness": 1})


def test_severities_are_configurable() -> None:
    g = gallery(ava=1, bea=1)
    lk = one(g, "ava", scan(at(PEOPLE["bea"], 0.2, 1)))
    sev = {**DEFAULT_SEVERITY, LOOKS_LIKE_OTHER_MODEL: Severity.WARN}
    (f,) = findings(lk, sev)
    assert f.severity is Severity.WARN


def test_unknown_model_and_no_references_say_nothing_extra() -> None:
    g = gallery(ava=1, bea=1)
    # Filed under a model the workspace does not have: unknown_model covers it; a face that is
    # a model of the workspace is still named.
    (lk,) = g.assess([("zed", scan(at(PEOPLE["bea"], 0.2, 1)))], known={"ava": 1, "bea": 1})
    assert lk.known is False
    (f,) = findings(lk, DEFAULT_SEVERITY)
    assert f.kind == LOOKS_LIKE_OTHER_MODEL
    (lk,) = g.assess([("zed", scan(at(PEOPLE["dan"], 0.2, 1)))], known={"ava": 1, "bea": 1})
    assert findings(lk, DEFAULT_SEVERITY) == []
    # A model with no reference photos: no_references covers it.
    (lk,) = g.assess([("cy", scan(at(PEOPLE["cy"], 0.2, 1)))], known={"ava": 1, "cy": 0})
    assert findings(lk, DEFAULT_SEVERITY) == []


def test_references_without_faces_and_engine_problems_are_unconfirmed() -> None:
    refs = [
        ReferenceFaces("ava", "models/ava/references/shoe.jpg", FaceScan(())),
        ReferenceFaces("ava", "models/ava/references/bag.jpg", FaceScan(())),
        ReferenceFaces("bea", "models/bea/references/b.jpg", scan(PEOPLE["bea"])),
        ReferenceFaces("bea", "models/bea/references/back.jpg", FaceScan(())),
    ]
    g = Gallery.build(refs)
    # One line for a model with no face at all, one per faceless photo of the others.
    assert sorted(g.notices) == [
        "model 'ava': no face found in any reference photo; likeness not checked",
        "models/bea/references/back.jpg: no face found in this reference photo; it is not "
        "used for the likeness check",
    ]
    (lk,) = g.assess([("ava", scan(PEOPLE["ava"]))], known={"ava": 2, "bea": 2})
    assert lk.state == "not_checked"
    # The check does not apply to her: said in the sentence, not as a warning on every image.
    assert findings(lk, DEFAULT_SEVERITY) == []
    assert sentence(lk) == "Likeness not checked: no face found in ava's reference photos."
    # ... but another model's face is still named.
    (lk,) = g.assess([("ava", scan(PEOPLE["bea"]))], known={"ava": 2, "bea": 2})
    assert [f.kind for f in findings(lk, DEFAULT_SEVERITY)] == [LOOKS_LIKE_OTHER_MODEL]
    problem = FaceScan(error="the face model files are missing")
    (lk,) = gallery(ava=1).assess([("ava", problem)], known={"ava": 1})
    (f,) = findings(lk, DEFAULT_SEVERITY)
    assert f.kind == LIKENESS_UNCONFIRMED
    assert "model files are missing" in f.message
    assert sentence(lk).startswith("Likeness not checked")


def test_group_reference_keeps_only_the_models_face() -> None:
    ava1 = at(PEOPLE["ava"], 0.3, 1)
    refs = [
        ReferenceFaces("ava", "models/ava/references/solo.jpg", scan(ava1)),
        # The model with a friend (dan): dan's face must not become one of ava's.
        ReferenceFaces(
            "ava",
            "models/ava/references/with-friend.jpg",
            scan(at(PEOPLE["dan"], 0.1, 2), at(PEOPLE["ava"], 0.3, 3)),
        ),
    ]
    g = Gallery.build(refs)
    assert g.face_count("ava") == 2
    (lk,) = g.assess([("ava", scan(at(PEOPLE["dan"], 0.1, 4)))], known={"ava": 2})
    assert lk.faces[0].verdict == UNKNOWN


def test_sentences() -> None:
    g = gallery(spread=0.0, ava=1, bea=1)
    names = {"ava": "Ava", "bea": "Bea"}
    refs = {"ava": "ava-00.jpg", "bea": "bea-00.jpg"}
    own = one(g, "ava", scan(at(PEOPLE["ava"], 0.25, 1)))
    assert sentence(own, names, you=True) == (
        f"Looks like you: strong match with your photo {refs['ava']}."
    )
    assert sentence(own, names) == f"Looks like Ava: strong match with Ava's photo {refs['ava']}."
    weak = one(g, "ava", scan(at(PEOPLE["ava"], 0.58, 1)))
    assert sentence(weak, names, you=True).startswith("Looks like you: match with your photo")
    other = one(g, "ava", scan(at(PEOPLE["bea"], 0.25, 1)))
    assert sentence(other, names, you=True) == (
        f"Does not look like you: looks like Bea, another model: strong match with Bea's photo "
        f"{refs['bea']}."
    )
    assert sentence(other, names).startswith("Looks like Bea, another model, not Ava")
    stranger = one(g, "ava", scan(at(PEOPLE["dan"], 0.25, 1)))
    assert sentence(stranger, names, you=True).startswith(
        "Does not look like you: the person in it matches no model of this workspace"
    )


def test_json_shape() -> None:
    g = gallery(ava=1, bea=1)
    lk = one(g, "ava", scan(at(PEOPLE["ava"], 0.3, 1), at(PEOPLE["dan"], 0.3, 1)))
    doc = lk.to_json()
    assert doc["threshold"] == 0.6
    first = doc["faces"][0]
    assert len(first["box"]) == 4
    assert set(first["own"]) >= {"reference", "distance"}
    assert "model" not in first["own"]
    assert set(first["best"]) >= {"model", "reference", "distance"}
    assert doc["faces"][1]["verdict"] == UNKNOWN
    assert [f["verdict"] for f in doc["faces"]] == [f.verdict for f in lk.faces]
    assert lk.faces[0].own is not None
    assert first["own"]["reference"] == lk.faces[0].own.reference
    json.dumps(doc)


def test_face_scan_cache_form_round_trips_and_rejects_damage() -> None:
    s = scan(PEOPLE["ava"], PEOPLE["bea"])
    back = FaceScan.from_json(s.to_json())
    assert len(back.faces) == 2
    assert np.allclose(back.faces[0].embedding, PEOPLE["ava"])
    assert back.faces[1].box == pytest.approx(s.faces[1].box)
    bad = s.to_json()
    bad["faces"][0]["embedding"] = "AAAA"
    with pytest.raises(ValueError, match="embedding"):
        FaceScan.from_json(bad)
    with pytest.raises(ValueError, match="face scan"):
        FaceScan.from_json({"nope": 1})


def test_many_assets_in_one_vectorised_pass() -> None:
    g = gallery(ava=3, bea=3, cy=3)
    items = [
        (model, scan(at(PEOPLE[person], 0.3, i)))
        for i, (model, person) in enumerate(
            [("ava", "ava"), ("bea", "ava"), ("cy", "cy"), ("ava", "dan")] * 50
        )
    ]
    out = g.assess(items, known={"ava": 3, "bea": 3, "cy": 3})
    assert [lk.faces[0].verdict for lk in out] == [OWN, OTHER, OWN, UNKNOWN] * 50
    # No reference faces at all: nothing matches, nothing crashes.
    empty = Gallery.build([])
    (lk,) = empty.assess([("ava", scan(PEOPLE["ava"]))], known={"ava": 1})
    assert lk.faces[0].verdict == UNKNOWN
    assert lk.state == "not_checked"


def test_reference_photos_that_copy_another_models_block_her_images() -> None:
    refs = [
        ReferenceFaces("ava", "models/ava/references/a.jpg", scan(PEOPLE["ava"])),
        ReferenceFaces("mal", "models/mal/references/copy.jpg", scan(at(PEOPLE["ava"], 0.02, 3))),
        ReferenceFaces("bea", "models/bea/references/b.jpg", scan(PEOPLE["bea"])),
    ]
    names = {"ava": "Ava", "mal": "Mal", "bea": "Bea"}
    g = Gallery.build(refs)
    lk = one(g, "mal", scan(at(PEOPLE["bea"], 0.9, 5)))
    copies = [f for f in findings(lk, DEFAULT_SEVERITY, names) if f.kind == REFERENCE_COPIES]
    (f,) = copies
    assert f.severity is Severity.BLOCK
    assert f.message.startswith("Mal's reference photos are copies of Ava's (copy.jpg")
    assert f.evidence["models"] == ["ava"]
    # Bea's references copy nobody's: her images have no such finding.
    lk = one(g, "bea", scan(at(PEOPLE["bea"], 0.2, 5)))
    assert not [f for f in findings(lk, DEFAULT_SEVERITY, names) if f.kind == REFERENCE_COPIES]


def test_two_photos_of_one_person_filed_as_two_models_are_not_copies() -> None:
    # Another photo of the same person lies at 0.35 or more: far from copy level.
    refs = [
        ReferenceFaces("ava", "models/ava/references/a.jpg", scan(PEOPLE["ava"])),
        ReferenceFaces("twin", "models/twin/references/t.jpg", scan(at(PEOPLE["ava"], 0.35, 8))),
    ]
    assert Gallery.build(refs).copies == {}
