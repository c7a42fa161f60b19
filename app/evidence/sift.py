"""SIFT keypoints of a working image and their verification: the second stage's second look.

Pure: no DB, no disk. Not stored: computed in a match worker for the few shortlisted pairs
that ORB's score leaves just under the threshold (app/matching/second_look.py), from the
same working image the stored ORB features were measured on (hashing.working_content).
Why SIFT: on real photographs of one scene taken again from another place, ORB's 500
keypoints found too few agreeing points (a street photographed twice with a strong change
of exposure and viewpoint: 8; books seen by two cameras: 10, and 0 after the scene check),
SIFT's 1,000 enough (33; 23, from the display copies a worker reads), and between different
photographs no more than ORB (bench/matching_accuracy_real.py; app/matching/thresholds.py).
OpenCV's SIFT is in the opencv-python-headless already required (AKAZE is not, in 5.x).
The score is hashing's: homography inliers, at most 3 a grid cell, then the scene check.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from app.evidence import cell_cap, scene_check
from app.evidence.agreement import NONE, Agreement, as_agreement
from app.evidence.hashing import (
    _ROBUST,
    _content,
    _detectors,
    check_comparable,
    load_working_image,
)

SIFT_FEATURES = 1000  # 500 left the two-camera pair at 21 and inside one band (calibration)
_RATIO, _REPROJ_PX = 0.8, 4.0  # as the ORB verification's
_L2 = cv2.BFMatcher(cv2.NORM_L2)
_PER_THREAD = threading.local()  # OpenCV's objects keep working buffers: one per thread


def _sift() -> Any:
    made = getattr(_PER_THREAD, "sift", None)
    if made is None:
        made = _PER_THREAD.sift = cv2.SIFT_create(nfeatures=SIFT_FEATURES)
    return made


@dataclass(frozen=True, slots=True)
class Keypoints:
    """SIFT keypoints (x, y), their descriptors, the working image's size and thumbnail."""

    xy: np.ndarray  # float32 N x 2
    desc: np.ndarray  # float32 N x 128
    size: tuple[int, int]
    thumbnail: np.ndarray  # scene_check.THUMB square, uint8


def working_content(data: bytes) -> np.ndarray:
    """The working image the stored features of `data` are measured on (borders trimmed)."""
    gray, _ = load_working_image(data)
    return _content(data, gray)


def keypoints(gray: np.ndarray, mirrored: bool = False) -> Keypoints:
    """SIFT keypoints of the contrast-equalised working image (as ORB's), or of its mirror
    image (a front-camera selfie)."""
    check_comparable(gray)
    if mirrored:
        gray = gray[:, ::-1]
    gray = np.ascontiguousarray(gray)
    found, desc = _sift().detectAndCompute(_detectors()[1].apply(gray), None)
    size = (gray.shape[1], gray.shape[0])
    thumb = np.frombuffer(scene_check.thumbnail(gray), np.uint8).reshape(
        scene_check.THUMB, scene_check.THUMB)
    if desc is None or not found:
        return Keypoints(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32), size,
                         thumb)
    return Keypoints(np.array([k.pt for k in found], np.float32), desc, size, thumb)


# A left-right flip, seen from a keypoint's own frame (rotated to its orientation, which the
# flip turns from a to 180 - a), turns the 4 x 4 grid of the descriptor upside down and each
# orientation bin k into -k: the mirror image's descriptors without running SIFT again (on
# real photographs, 0.2 of a mean element of 25 from those SIFT computes on the flipped
# picture, at the same keypoints; tests/evidence/test_sift.py).
_FLIP_ROWS, _FLIP_BINS = slice(None, None, -1), (-np.arange(8)) % 8


def mirror(points: Keypoints, gray: np.ndarray) -> Keypoints:
    """`keypoints(gray, mirrored=True)` from `points = keypoints(gray)`: SIFT at the same
    places of the mirror image (x -> width - 0.5 - x, SIFT's pixel centres), a third less
    work for a look at both orientations."""
    xy = points.xy.copy()
    xy[:, 0] = points.size[0] - 0.5 - xy[:, 0]
    desc = points.desc.reshape(-1, 4, 4, 8)[:, _FLIP_ROWS][:, :, :, _FLIP_BINS]
    thumb = np.frombuffer(scene_check.thumbnail(np.ascontiguousarray(gray[:, ::-1])),
                          np.uint8).reshape(scene_check.THUMB, scene_check.THUMB)
    return Keypoints(xy, np.ascontiguousarray(desc.reshape(-1, 128)), points.size, thumb)


def raw_score(found: tuple) -> int:
    """The capped inliers (a's, b's, a's size, b's size) before the scene check (hashing's
    score: app/evidence/cell_cap.py)."""
    return cell_cap.score(*found) if found else 0


def _inliers(a: Keypoints, b: Keypoints) -> tuple[np.ndarray, np.ndarray] | None:
    """As hashing's ORB inliers, with SIFT's distance: ratio test, then the homography."""
    if len(a.desc) < 8 or len(b.desc) < 8:
        return None
    good = [p[0] for p in _L2.knnMatch(a.desc, b.desc, k=2)
            if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
    if len(good) < 8:
        return None
    src, dst = a.xy[[m.queryIdx for m in good]], b.xy[[m.trainIdx for m in good]]
    _, mask = cv2.findHomography(src, dst, _ROBUST, _REPROJ_PX, maxIters=2000)
    if mask is None or mask.sum() < 4:
        return None
    keep = mask.ravel().astype(bool)
    return src[keep], dst[keep]


def verify(a: Keypoints, b: Keypoints) -> int:
    """Score of `a` against `b` on hashing's scale (0 = unrelated): ratio-test matches,
    homography inliers counted at most 3 a grid cell (app/evidence/cell_cap.py), 0 when
    they sit in a band the rest of the picture contradicts (a shared caption)."""
    return _verified(a, b)[0]


def _verified(a: Keypoints, b: Keypoints) -> tuple[int, tuple[np.ndarray, np.ndarray] | None]:
    """`verify`'s score with the inliers it counted (None: no homography)."""
    found = _inliers(a, b)
    if found is None:
        return 0, None
    score = raw_score((*found, a.size, b.size))
    if score and not scene_check.confirmed(a.thumbnail, b.thumbnail, *found, a.size, b.size):
        return 0, found
    return score, found


def agreement(a: np.ndarray, b: np.ndarray) -> Agreement:
    """`verify` of working images `a` (either way round) and `b`, with the pairs it counted,
    as agreement.agreeing_points gives ORB's: what the comparison page draws for a pair the
    second look linked."""
    theirs, best = keypoints(b), NONE
    plain = keypoints(a)
    for mirrored in (False, True):
        mine = mirror(plain, a) if mirrored else plain
        score, found = _verified(mine, theirs)
        if found is not None and score > best.score:
            best = as_agreement(score, mirrored, *found, mine.size, theirs.size)
    return best
