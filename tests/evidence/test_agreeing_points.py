"""The agreeing points behind a verification score: the same score, and pairs that really lie
on the same spot of the scene (checked against the known transform between two pictures)."""

import io

import cv2
import numpy as np
from PIL import Image

from app.evidence import cell_cap
from app.evidence.agreement import agreeing_points
from app.evidence.hashing import compute_features, verify_features
from tests.evidence.test_hashing import PHOTOS, jpeg

ORIGINAL = np.asarray(Image.open(io.BytesIO(PHOTOS[0])))  # 800 x 600


def _pixels(pairs, size_a, size_b):
    a = np.array([p[0] for p in pairs]) * np.array(size_a)
    b = np.array([p[1] for p in pairs]) * np.array(size_b)
    return a, b


def test_the_pairs_give_the_score_and_land_on_the_same_spot():
    turn = cv2.getRotationMatrix2D((400, 300), 5, 1.1)
    blob = compute_features(PHOTOS[0])
    rotated = compute_features(jpeg(cv2.warpAffine(ORIGINAL, turn, (800, 600)), 70))
    found = agreeing_points(blob, rotated)
    assert found.score == verify_features(blob, rotated) >= 40
    assert not found.mirrored
    assert len(found.pairs) >= found.score  # the score caps them per grid cell
    a, b = _pixels(found.pairs, (800, 600), (800, 600))
    # the score is the capped count of exactly these points (in the working image's pixels)
    assert found.score == cell_cap.score(a * 512 / 800, b * 512 / 800, (512, 384), (512, 384))
    moved = a @ turn[:, :2].T + turn[:, 2]
    error = np.linalg.norm(moved - b, axis=1)
    assert np.median(error) < 4 and np.percentile(error, 95) < 10  # pixels of 800 x 600


def test_a_mirrored_selfie_is_drawn_on_the_picture_itself():
    crop = np.ascontiguousarray(ORIGINAL[40:560, 60:740, :][:, ::-1])  # 680 x 520, mirrored
    selfie = compute_features(jpeg(crop))
    original = compute_features(PHOTOS[0])
    found = agreeing_points(selfie, original)
    assert found.mirrored and found.score == verify_features(selfie, original) >= 40
    a, b = _pixels(found.pairs, (680, 520), (800, 600))
    back = np.column_stack([60 + 679 - a[:, 0], 40 + a[:, 1]])  # selfie pixel -> original
    error = np.linalg.norm(back - b, axis=1)
    assert np.median(error) < 4 and np.percentile(error, 95) < 10


def test_unrelated_pictures_give_the_same_low_score_and_stale_blobs_nothing():
    blob, other = compute_features(PHOTOS[0]), compute_features(PHOTOS[1])
    found = agreeing_points(blob, other)
    assert found.score == verify_features(blob, other) < 15
    assert (found.score == 0) == (found.pairs == [])
    old = bytes([1]) + blob[1:]
    assert agreeing_points(old, blob).pairs == [] and agreeing_points(old, blob).score == 0
    for (ua, va), (ub, vb) in agreeing_points(blob, blob).pairs:
        assert 0 <= ua <= 1 and 0 <= va <= 1 and abs(ua - ub) < 1e-6 and abs(va - vb) < 1e-6
