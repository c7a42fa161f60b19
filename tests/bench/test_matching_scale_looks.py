"""The scale benchmark's uploads are the second look's cases, as the product scores them: a
second photograph that ORB nearly links and SIFT links, and a caption-sharing distractor that
ORB nearly links and neither links."""

from app.evidence import sift
from app.evidence.hashing import analyse_image
from app.matching import thresholds
from app.matching.second_look import verify_detail
from bench.matching_scale_looks import _scene
from tests.matching.scenes import jpeg, photo_like, repost, running_caption, second_photograph


def _sift_score(a: bytes, b: bytes) -> int:
    theirs = sift.keypoints(sift.working_content(b))
    return max(sift.verify(sift.keypoints(sift.working_content(a), mirrored), theirs)
               for mirrored in (False, True))


def _orb(a: bytes, b: bytes) -> tuple[int, int]:
    features = analyse_image(a).features
    other = analyse_image(b).features
    assert features is not None and other is not None
    return verify_detail(features, other)


def test_a_second_photograph_is_left_to_the_look_and_linked_by_it() -> None:
    for scene in (1, 13):  # a rendered room, a photograph-like scene
        rgb = _scene(scene)
        reference, upload = jpeg(rgb), second_photograph(rgb)
        score, before_check = _orb(upload, reference)
        assert score < thresholds.VERIFY_MIN_SCORE, scene
        assert before_check >= thresholds.SECOND_LOOK_FROM, scene
        assert _sift_score(upload, reference) >= thresholds.VERIFY_MIN_SCORE, scene


def test_a_caption_sharing_distractor_is_nearly_linked_and_never_linked() -> None:
    upload = repost(running_caption(_scene(10)), 75)
    distractor = jpeg(running_caption(photo_like(8203)))  # as bench's library() makes it
    score, before_check = _orb(upload, distractor)
    assert before_check >= thresholds.SECOND_LOOK_FROM
    assert score < thresholds.VERIFY_MIN_SCORE
    assert _sift_score(upload, distractor) < thresholds.VERIFY_MIN_SCORE
