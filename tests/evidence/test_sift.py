"""SIFT's second look at a pair (app/evidence/sift.py): a real second photograph of a scene,
taken again from well to the side, turned and in darker light, is where ORB's stored features
fall short; SIFT must see it, and must still not link different photographs."""

from app.evidence import sift
from app.evidence.hashing import compute_features
from app.evidence.sift import working_content
from app.matching.second_look import verify_detail
from app.matching.thresholds import SECOND_LOOK_FROM, VERIFY_MIN_SCORE
from tests.matching import scenes


def _keypoints(data: bytes, mirrored: bool = False) -> sift.Keypoints:
    return sift.keypoints(working_content(data), mirrored)


def test_a_second_photograph_that_orb_leaves_under_the_threshold_verifies_with_sift():
    scene = scenes.photo_like(5)
    first, again = scenes.jpeg(scene, 90), scenes.second_photograph(scene)
    score, before_check = verify_detail(compute_features(again), compute_features(first))
    assert score < VERIFY_MIN_SCORE  # what the stored features alone decide: no link
    assert before_check >= SECOND_LOOK_FROM  # ... but near enough to be looked at again
    assert sift.verify(_keypoints(again), _keypoints(first)) >= VERIFY_MIN_SCORE


def test_different_photographs_stay_under_the_threshold():
    a, b = scenes.jpeg(scenes.photo_like(5), 90), scenes.jpeg(scenes.photo_like(6), 90)
    for mirrored in (False, True):
        assert sift.verify(_keypoints(a, mirrored), _keypoints(b)) < SECOND_LOOK_FROM


def test_a_shared_caption_is_not_a_shared_scene_for_sift_either():
    a = scenes.jpeg(scenes.running_caption(scenes.photo_like(71)), 85)
    b = scenes.jpeg(scenes.running_caption(scenes.photo_like(77)), 85)
    assert sift.verify(_keypoints(a), _keypoints(b)) < VERIFY_MIN_SCORE


def test_the_mirror_image_of_a_selfie_verifies_mirrored():
    scene = scenes.photo_like(8)
    data, mirror = scenes.jpeg(scene, 90), scenes.jpeg(scene[:, ::-1].copy(), 90)
    assert sift.verify(_keypoints(mirror, mirrored=True), _keypoints(data)) >= VERIFY_MIN_SCORE


def test_a_flat_picture_has_nothing_to_verify():
    flat = scenes.jpeg(scenes.photo_like(5) * 0 + 128, 90)
    assert sift.verify(_keypoints(flat), _keypoints(scenes.jpeg(scenes.photo_like(5)))) == 0


def test_the_mirror_image_keypoints_come_from_the_plain_ones():
    import numpy as np

    from app.evidence.hashing import _detectors

    gray = working_content(scenes.jpeg(scenes.photo_like(8), 90))
    derived = sift.mirror(sift.keypoints(gray), gray)
    # what they stand for: SIFT run again on the flipped, equalised picture
    flipped = np.ascontiguousarray(_detectors()[1].apply(gray)[:, ::-1])
    found, desc = sift._sift().detectAndCompute(flipped, None)
    xy = np.array([k.pt for k in found], np.float32)
    near = np.linalg.norm(derived.xy[:, None] - xy[None], axis=2)
    # the same places, to a fraction of a pixel (SIFT's own sums are not exactly symmetric)
    pairs = [(i, int(j)) for i, j in enumerate(near.argmin(1)) if near[i, j] < 0.5]
    assert len(pairs) >= 0.8 * len(derived.xy)
    # and the same descriptors (elements of about 25; a wrong flip of the grid or the bins
    # leaves them about as far apart as two unrelated keypoints); a place can hold
    # keypoints of two orientations, paired here with the wrong one
    close = [np.abs(derived.desc[i] - desc[j]).mean() < 3 for i, j in pairs]
    assert sum(close) >= 0.75 * len(pairs)
    assert np.array_equal(derived.thumbnail, sift.keypoints(gray, mirrored=True).thumbnail)


def test_a_mirrored_selfie_verifies_with_the_derived_mirror_keypoints():
    scene = scenes.photo_like(8)
    data, flipped = scenes.jpeg(scene, 90), scenes.jpeg(scene[:, ::-1].copy(), 90)
    gray = working_content(flipped)
    mine = sift.mirror(sift.keypoints(gray), gray)
    assert sift.verify(mine, _keypoints(data)) >= VERIFY_MIN_SCORE
    assert sift.verify(sift.keypoints(gray), _keypoints(data)) < SECOND_LOOK_FROM
