"""Tests of geometric verification (core/similarity/geometry.py) on scikit-image's photos."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import photos as P
from copies import as_file
from twinreview.core.similarity import geometry

MIN_INLIERS = 20
MIN_AGREEMENT = 0.88


def prepared(img: Image.Image) -> geometry.Prepared:
    return geometry.Prepared(geometry.working_image(img))


def verify(query: Image.Image, ref: Image.Image, **kw: bool) -> geometry.Verification:
    return geometry.verify(
        prepared(query),
        prepared(ref),
        min_inliers=MIN_INLIERS,
        min_agreement=MIN_AGREEMENT,
        **kw,
    )


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return P.load_photo("astronaut")


def corners(v: geometry.Verification) -> np.ndarray:
    region = v.asset_region()
    assert region is not None
    return np.array(region)


def test_working_image_has_the_working_size() -> None:
    for size in ((1200, 800), (300, 900), (100, 60)):
        grey = geometry.working_image(Image.new("RGB", size, (90, 120, 30)))
        assert grey.dtype == np.uint8
        assert max(grey.shape) == geometry.WORK_SIDE
        h, w = grey.shape
        assert abs(w / h - size[0] / size[1]) < 0.02


def test_a_crop_verifies_and_maps_its_frame_onto_the_original(astronaut: Image.Image) -> None:
    v = verify(as_file(P.crop(astronaut, 0.1, 0.1, 0.1, 0.1), 80), astronaut)
    assert v.possible
    assert v.inliers >= 5 * MIN_INLIERS
    assert v.agreement is not None and v.agreement >= 0.9
    assert not v.mirrored
    expected = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
    np.testing.assert_allclose(corners(v), expected, atol=0.015)


def test_a_mirror_copy_verifies_as_mirrored_even_when_the_hashes_said_otherwise(
    astronaut: Image.Image,
) -> None:
    copy = as_file(P.mirror(astronaut), 85)
    for prefer in (True, False):
        v = verify(copy, astronaut, prefer_mirrored=prefer)
        assert v.mirrored
        assert v.inliers >= 5 * MIN_INLIERS
        assert v.agreement is not None and v.agreement >= 0.9
        # The copy's top-left corner lands at the original's top-right.
        np.testing.assert_allclose(corners(v), [[1, 0], [0, 0], [0, 1], [1, 1]], atol=0.015)
        assert v.homography is not None
        assert np.linalg.det(np.array(v.homography)[:2, :2]) < 0


def test_a_small_rotation_and_a_letterbox_verify(astronaut: Image.Image) -> None:
    rotated = verify(as_file(P.rotate(astronaut, 2)), astronaut)
    assert rotated.inliers >= 5 * MIN_INLIERS
    assert rotated.homography is not None
    angle = np.degrees(np.arctan2(rotated.homography[1][0], rotated.homography[0][0]))
    assert abs(abs(angle) - 2) < 0.5
    boxed = verify(as_file(P.letterbox(P.downscale(astronaut))), astronaut)
    assert boxed.inliers >= 2 * MIN_INLIERS
    assert boxed.agreement is not None and boxed.agreement >= MIN_AGREEMENT
    # The bars lie outside the original's frame.
    xs = corners(boxed)[:, 0]
    assert xs.min() < -0.2 and xs.max() > 1.2


@pytest.mark.parametrize("other", ["coffee", "chelsea", "camera", "rocket"])
def test_a_different_photo_does_not_verify(astronaut: Image.Image, other: str) -> None:
    v = verify(P.load_photo(other), astronaut)
    assert v.possible
    assert v.inliers < MIN_INLIERS // 2
    assert v.agreement is None


def on_backdrop(backdrop: Image.Image, subject: Image.Image) -> Image.Image:
    """A subject in front of a textured backdrop, framed the same way every time."""
    out = backdrop.resize((900, 600))
    out.paste(subject.resize((405, 480)), (247, 120))
    return out


def test_another_subject_on_the_same_textured_backdrop_is_not_a_copy() -> None:
    """A locked-off camera before a textured backdrop: the background alone gives enough
    inliers for a copy, but the subject (36 % of the frame) differs, and agreement sees it."""
    gravel = P.load_photo("gravel")
    one = as_file(on_backdrop(gravel, P.load_photo("astronaut")))
    other = as_file(on_backdrop(gravel, P.load_photo("coffee")))
    v = verify(one, other)
    assert v.inliers >= MIN_INLIERS
    assert v.agreement is not None and v.agreement < MIN_AGREEMENT - 0.05
    again = verify(as_file(P.brightness(one, 1.1), 70), one)
    assert again.agreement is not None and again.agreement >= 0.9


def test_too_few_keypoints_make_verification_impossible() -> None:
    flat = Image.new("RGB", (640, 480), (200, 190, 180))
    v = verify(flat, P.load_photo("astronaut"))
    assert not v.possible
    assert v.inliers == 0 and v.homography is None


def test_verification_is_deterministic_and_round_trips(astronaut: Image.Image) -> None:
    query, ref = prepared(as_file(P.crop(astronaut, 0.05, 0, 0.1, 0.02))), prepared(astronaut)
    first = geometry.verify(query, ref, min_inliers=MIN_INLIERS, min_agreement=MIN_AGREEMENT)
    second = geometry.verify(query, ref, min_inliers=MIN_INLIERS, min_agreement=MIN_AGREEMENT)
    assert first == second
    text = json.dumps(first.to_json())
    assert geometry.Verification.from_json(json.loads(text)) == first
    back = first.inverse()
    assert back.homography is not None and first.homography is not None
    product = np.array(back.homography) @ np.array(first.homography)
    np.testing.assert_allclose(product / product[2, 2], np.eye(3), atol=1e-4)


def test_the_inverse_swaps_the_keypoint_counts_with_or_without_a_transform() -> None:
    placed = geometry.Verification(30, 40, False, ((0.5, 0, 0.1), (0, 0.5, 0.2), (0, 0, 1)),
                                   0.95, (120, 300))  # fmt: skip
    unplaced = geometry.Verification(0, 5, True, None, None, (120, 300))
    assert placed.inverse().keypoints == (300, 120)
    assert unplaced.inverse().keypoints == (300, 120)
    assert unplaced.inverse().mirrored is True


def test_a_singular_cached_transform_has_no_inverse_and_no_region() -> None:
    """A damaged cache row may hold a transform that cannot be inverted: the reverse side of
    the pair then has no transform, instead of an exception."""
    damaged = geometry.Verification.from_json(
        {"inliers": 30, "matches": 40, "mirrored": False, "agreement": 0.95,
         "homography": [[0, 0, 0], [0, 0, 0], [0, 0, 1]], "keypoints": [120, 300]}
    )  # fmt: skip
    back = damaged.inverse()
    assert back.homography is None
    assert back.keypoints == (300, 120)
    nan = geometry.Verification(30, 40, False, ((float("nan"), 0, 0), (0, 1, 0), (0, 0, 1)))
    assert nan.inverse().homography is None


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"inliers": "3", "matches": 4, "mirrored": False, "homography": None, "agreement": None,
         "keypoints": [1, 2]},
        {"inliers": 3, "matches": 4, "mirrored": 1, "homography": None, "agreement": None,
         "keypoints": [1, 2]},
        {"inliers": 3, "matches": 4, "mirrored": False, "homography": [[1, 0, 0]],
         "agreement": None, "keypoints": [1, 2]},
    ],
)  # fmt: skip
def test_a_malformed_cached_verification_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="verification"):
        geometry.Verification.from_json(data)


def test_an_image_that_shed_its_agreement_images_verifies_alike(astronaut: Image.Image) -> None:
    query, ref = prepared(as_file(P.crop(astronaut, 0.1, 0.1, 0.1, 0.1), 80)), prepared(astronaut)

    def once() -> geometry.Verification:
        return geometry.verify(query, ref, min_inliers=MIN_INLIERS, min_agreement=MIN_AGREEMENT)

    first = once()
    assert first.agreement is not None and "small" in ref.__dict__
    ref.shed()
    query.shed()
    assert not {"small", "detail", "usable"} & (set(ref.__dict__) | set(query.__dict__))
    assert once() == first
