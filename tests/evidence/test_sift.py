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
