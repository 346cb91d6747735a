"""A copy's evidence: one definition, read back from JSON as strictly as it is written."""

from __future__ import annotations

import json

import pytest

from twinreview.core.similarity.evidence import CopyEvidence

FULL = CopyEvidence(
    distance=11,
    dhash_distance=14,
    mirrored=True,
    reference_region=(0.09, 0.12, 0.81, 0.91),
    whole_frame_phash_distance=30,
    candidate="local features",
    votes=120,
    support=96,
    verification="geometry",
    inliers=140,
    min_inliers=20,
    agreement=0.97,
    min_agreement=0.88,
    homography=((-0.5, 0.0, 0.8), (0.0, 0.5, 0.1), (0.0, 0.0, 1.0)),
    asset_region=((0.8, 0.1), (0.3, 0.1), (0.3, 0.6), (0.8, 0.6)),
    keypoints=(400, 1000),
)


def test_round_trip_through_json() -> None:
    text = json.dumps(FULL.to_json())
    assert CopyEvidence.from_json(json.loads(text)) == FULL
    assert FULL.verified
    bare = CopyEvidence(verification="not needed: clear-cut hash match", clear_cut=True)
    assert "homography" not in bare.to_json()
    assert CopyEvidence.from_json(bare.to_json()) == bare


def test_other_findings_keys_are_ignored() -> None:
    data = {**FULL.to_json(), "reference": "models/a/references/r.jpg", "model": "a"}
    assert CopyEvidence.from_json(data) == FULL


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("homography", [[1, 0, 0], [0, 1, 0]]),
        ("homography", [[1, 0, "x"], [0, 1, 0], [0, 0, 1]]),
        ("asset_region", [[0, 0], [1, 0], [1, 1]]),
        ("inliers", "140"),
        ("inliers", True),
        ("agreement", float("nan")),
        ("mirrored", 1),
        ("keypoints", [400]),
    ],
)
def test_a_damaged_or_forged_field_is_refused(key: str, value: object) -> None:
    with pytest.raises(ValueError, match=key):
        CopyEvidence.from_json({**FULL.to_json(), key: value})
    with pytest.raises(ValueError, match="JSON object"):
        CopyEvidence.from_json([1, 2])  # type: ignore[arg-type]
