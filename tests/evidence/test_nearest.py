"""Ratio-test matches from faiss's exact binary search (app/evidence/nearest.py) are the ones
OpenCV's brute-force matcher gives: the same pairs, in the same order."""

import cv2
import numpy as np
import pytest

from app.evidence.hashing import compute_features, unpack_features
from app.evidence.nearest import ratio_pairs
from tests.matching import scenes


def _opencv(a: np.ndarray, b: np.ndarray, ratio: float) -> tuple[list[int], list[int]]:
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(a, b, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    return [m.queryIdx for m in good], [m.trainIdx for m in good]


def _descriptors(data: bytes, mirrored: bool = False) -> np.ndarray:
    return unpack_features(compute_features(data), mirrored=mirrored)[1]


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    room, other, photo = scenes.room(11), scenes.room(12), scenes.photo_like(13)
    return {"room": scenes.jpeg(room), "repost": scenes.repost(room),
            "viewpoint": scenes.other_viewpoint(room), "chain": scenes.repost_chain(room),
            "other room": scenes.jpeg(other), "photo": scenes.jpeg(photo),
            "photo again": scenes.second_photograph(photo)}


@pytest.mark.parametrize(("a", "b"), [("room", "repost"), ("room", "viewpoint"),
                                      ("chain", "room"), ("room", "other room"),
                                      ("photo", "photo again"), ("photo", "room")])
@pytest.mark.parametrize("ratio", [0.8, 0.9])
def test_the_same_pairs_as_opencv_on_pictures(photos, a, b, ratio):
    da, db = _descriptors(photos[a]), _descriptors(photos[b])
    mine, theirs = ratio_pairs(da, db, ratio)
    assert (mine.tolist(), theirs.tolist()) == _opencv(da, db, ratio)


def test_the_mirror_sets_match_the_same_way(photos):
    da, db = _descriptors(photos["room"], mirrored=True), _descriptors(photos["repost"])
    mine, theirs = ratio_pairs(da, db, 0.8)
    assert (mine.tolist(), theirs.tolist()) == _opencv(da, db, 0.8)


def test_a_near_duplicate_matches_itself_and_a_tie_for_nearest_never_passes():
    rng = np.random.default_rng(3)
    b = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    a = b[:10].copy()
    a[:, 0] ^= 1  # one bit away from its source
    b[20] = b[5]  # descriptor 5 now has two nearest at the same distance
    mine, theirs = ratio_pairs(a, b, 0.8)
    assert mine.tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert theirs.tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert (mine.tolist(), theirs.tolist()) == _opencv(a, b, 0.8)


def test_too_few_to_compare_gives_nothing():
    one = np.zeros((1, 32), np.uint8)
    assert [x.size for x in ratio_pairs(one, one, 0.8)] == [0, 0]
    assert [x.size for x in ratio_pairs(np.zeros((0, 32), np.uint8), one, 0.8)] == [0, 0]
