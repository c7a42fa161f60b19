"""A match's confidence in words follows the measured thresholds, and keeps its numbers."""

from app.matching.confidence import confidence
from app.matching.thresholds import GLOBAL_MAX_DISTANCE, VERIFY_MIN_SCORE


def test_near_duplicates_read_from_the_same_picture_to_a_close_copy():
    assert confidence("phash", 0, None).words == "Same picture: identical copy"
    assert confidence("phash", 2, None).words == "Near-identical copy"
    assert confidence("phash_mirror", 1, None).words == "Near-identical mirror-image copy"
    close = confidence("phash_trim", GLOBAL_MAX_DISTANCE, None)
    assert close.words.startswith("Close copy inside a screenshot or border")
    assert close.detail.startswith(f"{GLOBAL_MAX_DISTANCE} of 64 bits")
    assert [confidence("phash", d, None).level for d in range(5)] == [4, 4, 4, 3, 1]


def test_feature_matches_read_strong_possible_or_weak_with_the_score_as_detail():
    strong = confidence("features", 14, 77)
    assert strong.words == "Strong: 77 matching points agree (same scene)"
    assert strong.level == 3 and strong.meter == "3 of 4"
    assert strong.detail.startswith("score 77 of 192")
    assert confidence("features", 40, VERIFY_MIN_SCORE).level == 2
    assert confidence("features", 40, 2 * VERIFY_MIN_SCORE - 1).words.startswith("Possible")
    assert confidence("features", 60, VERIFY_MIN_SCORE - 1).words.startswith("Weak")
    assert confidence("features", 64, None).words == "Weak: only 0 matching points agree"
