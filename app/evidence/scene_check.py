"""Is a geometric agreement the scene's, or only an overlay's? Pure: no DB, no disk.

Two different photographs that carry the same caption at the same place (one account's
watermark or running caption) agree, keypoint for keypoint, on the caption alone: the inliers
of the homography sit in one thin band. A real photograph can agree only in a band too (a
skyline in fog, a horizon at night), and then what keeps them apart is the rest of the
picture: under the same homography it agrees where the scene is one, and not where two
different photographs lie under a shared caption. So when the inliers are confined to a band,
the two pictures' thumbnails are compared outside the inliers' box, after a robust fit of the
brightness change (a filter, an exposure) that tolerates an overlay of the copy; too little
agreement there and the band is not evidence of the scene.

Measured on the calibration half of bench/matching_accuracy_real.py (5 caption placements):
every false caption pair's agreement outside the band is at most 0.63, the true band-like
matches of named changes at least 0.78 (one captioned copy whose caption covers 40% of what
is left: 0.59).
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB = 32  # side of the stored thumbnail (THUMB * THUMB bytes a feature blob)
_GRID = 8  # as hashing's keypoint grid
_BAND = 3  # inliers in at most this many grid rows (or columns): confined to a band
_CELL_MIN = 2  # a cell counts as occupied from this many inliers (a stray inlier does not)
_MIN_REGION = 0.15  # less of the thumbnail than this left outside the band: nothing to check
_KEEP = 0.6  # the brightness change is fitted on the best-agreeing 60% (an overlay is the rest)
_TOLERANCE = 0.12  # agreeing pixels: within 12% of the thumbnail's brightness range
AGREEMENT_MIN = 0.70  # between false caption pairs (<= 0.63) and true band matches (>= 0.78)


def thumbnail(gray: np.ndarray) -> bytes:
    """THUMB x THUMB grey thumbnail of the working image the keypoints were measured on."""
    return cv2.resize(gray, (THUMB, THUMB), interpolation=cv2.INTER_AREA).tobytes()


def _occupied(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    scale = np.array([_GRID / max(size[0], 1), _GRID / max(size[1], 1)], dtype=np.float32)
    cells = np.clip((points * scale).astype(np.int64), 0, _GRID - 1)
    counts = np.bincount(cells[:, 1] * _GRID + cells[:, 0], minlength=_GRID * _GRID)
    return counts.reshape(_GRID, _GRID) >= _CELL_MIN


def _warp_into_a(thumb_b: np.ndarray, src: np.ndarray, dst: np.ndarray,
                 size_a: tuple[int, int], size_b: tuple[int, int]
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """b's thumbnail seen in a's thumbnail frame through the inliers' homography, and where
    it is defined (the overlap)."""
    h, _ = cv2.findHomography(src, dst, 0)  # least squares over the inliers only
    if h is None:
        return None
    to_a = np.diag([size_a[0] / THUMB, size_a[1] / THUMB, 1.0])
    to_b = np.diag([size_b[0] / THUMB, size_b[1] / THUMB, 1.0])
    centre = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])  # pixel centres
    m = np.linalg.inv(centre) @ np.linalg.inv(to_b) @ h @ to_a @ centre
    flags = cv2.WARP_INVERSE_MAP
    warped = cv2.warpPerspective(thumb_b.astype(np.float32), m, (THUMB, THUMB),
                                 flags=flags | cv2.INTER_LINEAR)
    valid = cv2.warpPerspective(np.ones((THUMB, THUMB), np.float32), m, (THUMB, THUMB),
                                flags=flags | cv2.INTER_NEAREST) > 0.5
    return warped, valid


def agreement(thumb_a: np.ndarray, thumb_b: np.ndarray, src: np.ndarray, dst: np.ndarray,
              size_a: tuple[int, int], size_b: tuple[int, int]) -> float | None:
    """Fraction (0-1) of a's thumbnail outside the inliers' box, inside the overlap, that b
    agrees with after the fitted brightness change; None: too little left to judge."""
    found = _warp_into_a(thumb_b, src, dst, size_a, size_b)
    if found is None:
        return None
    warped, valid = found
    ys, xs = np.nonzero(_occupied(src, size_a))
    box = np.zeros((THUMB, THUMB), dtype=bool)
    box[ys.min() * THUMB // _GRID:(ys.max() + 1) * THUMB // _GRID,
        xs.min() * THUMB // _GRID:(xs.max() + 1) * THUMB // _GRID] = True
    region = valid & ~box
    if region.mean() < _MIN_REGION:
        return None
    x = thumb_a[region].astype(np.float64)
    y = warped[region].astype(np.float64)
    keep = np.ones(len(x), dtype=bool)
    gain, offset = 1.0, 0.0
    for _ in range(3):  # least squares, then again on the best-agreeing part
        gain = float(np.clip(np.polyfit(x[keep], y[keep], 1)[0], 0.3, 3.0)) \
            if np.ptp(x[keep]) > 0 else 1.0
        offset = float(np.median(y[keep] - gain * x[keep]))
        residual = np.abs(y - gain * x - offset)
        keep = residual <= np.quantile(residual, _KEEP)
    spread = float(np.quantile(y, 0.95) - np.quantile(y, 0.05))
    tolerance = max(3.0, _TOLERANCE * spread)
    return float((np.abs(y - gain * x - offset) <= tolerance).mean())


def confirmed(thumb_a: np.ndarray, thumb_b: np.ndarray, src: np.ndarray, dst: np.ndarray,
              size_a: tuple[int, int], size_b: tuple[int, int]) -> bool:
    """False when the inliers sit in one band (as a shared caption's do) and the rest of the
    picture disagrees; True otherwise (spread inliers, or nothing left to contradict them)."""
    occupied = _occupied(src, size_a)
    if not occupied.any():
        return True
    rows, cols = int(occupied.any(axis=1).sum()), int(occupied.any(axis=0).sum())
    if rows > _BAND and cols > _BAND:
        return True
    found = agreement(thumb_a, thumb_b, src, dst, size_a, size_b)
    return found is None or found >= AGREEMENT_MIN
