"""Is a geometric agreement the scene's, or only an overlay's? Pure: no DB, no disk.

Two different photographs that carry the same caption at the same place (one account's
watermark or running caption) agree, keypoint for keypoint, on the caption alone: the inliers
of the homography sit in one thin band. A real photograph can agree only in a band too (a
skyline in fog, a horizon at night), and then what keeps them apart is the rest of the
picture: under the same homography it agrees where the scene is one, and not where two
different photographs lie under a shared caption. So when the inliers are confined to a
horizontal band (captions run across the picture), the two pictures' thumbnails are compared
outside the inliers' box, cell by cell of the keypoint grid (a local correlation: blind to a
filter or an exposure change), and the median cell decides (an overlay of the copy spoils its
own cells only); too little agreement there and the band is not evidence of the scene.

Measured on the calibration half of bench/matching_accuracy_real.py (5 caption placements,
558 pairs of different captioned photographs whose inliers sit in a band): their agreement
is at most 0.70 (median 0.12); the true band-like matches of the named changes (28) at least
0.97. Where it can go wrong: a real other viewpoint whose inliers lie in a band (one pair:
0.47; the plane that agrees is not the whole scene), and a copy whose rest is nearly
featureless at thumbnail size (held out: a captioned copy of a defocused plank, 0.35).

A band with one stray cell elsewhere is a band too (features v4 gave a caption pair a stray
cell four rows below its caption, and a false link), judged outside the band's own box, with
a lower bar: the stray is weak evidence of the scene (a stormy sky's true matches: 0.73, 0.83).
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB = 32  # side of the stored thumbnail (THUMB * THUMB bytes a feature blob)
_GRID = 8  # as hashing's keypoint grid
_BAND = 3  # inliers in at most this many grid rows: confined to a band, as a caption's are
_STRAY = 1  # occupied cells outside a band that still leave it a band (calibration: a
            # caption's 9 cells and a stray one 4 rows below made a false link, score 28)
_CELL_MIN = 2  # a cell counts as occupied from this many inliers (a stray inlier does not)
_CELL_INSIDE = 0.75  # a thumbnail cell is compared when this much of it is outside the box
_MIN_CELLS = 3  # fewer cells than this to compare: nothing to contradict the inliers
_FLAT_STEP = 10  # two flat cells agree when their grey levels are this close
AGREEMENT_MIN = 0.85  # between false caption pairs (<= 0.70) and true band matches (>= 0.97)
# A band with one stray cell (calibration half, features v4): the false caption pair 0.16,
# the true matches of a stormy sky, whose scene is a band too, 0.73 and 0.83
AGREEMENT_STRAY_MIN = 0.5


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


def _correlations(a: np.ndarray, b: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Per grid cell, the normalised cross-correlation of a's and b's pixels that are `inside`
    (blind to a brightness or contrast change); two flat cells agree when their brightness
    does. Every cell at once: a loop over the cells was a quarter of a match worker's time."""
    step = THUMB // _GRID

    def cells(x: np.ndarray) -> np.ndarray:  # (GRID, GRID, step * step): one row a cell
        return x.reshape(_GRID, step, _GRID, step).swapaxes(1, 2).reshape(_GRID, _GRID, -1)

    x, y, m = cells(a.astype(np.float64)), cells(b.astype(np.float64)), cells(inside)
    n = np.maximum(m.sum(axis=2), 1)
    dx = np.where(m, x - (x * m).sum(axis=2, keepdims=True) / n[..., None], 0.0)
    dy = np.where(m, y - (y * m).sum(axis=2, keepdims=True) / n[..., None], 0.0)
    sxx, syy = (dx * dx).sum(axis=2), (dy * dy).sum(axis=2)
    flat = (np.sqrt(sxx / n) < 1) & (np.sqrt(syy / n) < 1)
    means_close = np.abs((x * m).sum(axis=2) - (y * m).sum(axis=2)) / n < _FLAT_STEP
    ncc = (dx * dy).sum(axis=2) / (np.sqrt(sxx * syy) + 1e-6)
    return np.where(flat, means_close.astype(np.float64), ncc)


def band_rows(occupied: np.ndarray) -> tuple[int, int] | None:
    """The rows (first, last) of the band of at most _BAND rows that holds the occupied
    cells, all but _STRAY of them (a stray agreement elsewhere, two texture patches that
    happen to line up, must not turn a caption into a spread); None: no such band."""
    per_row = occupied.sum(axis=1)
    total = int(per_row.sum())
    best, first = -1, 0
    for top in range(_GRID - _BAND + 1):
        held = int(per_row[top:top + _BAND].sum())
        if held > best:
            best, first = held, top
    if total - best > _STRAY:
        return None
    rows = np.nonzero(per_row[first:first + _BAND])[0] + first
    return int(rows.min()), int(rows.max())


def agreement(thumb_a: np.ndarray, thumb_b: np.ndarray, src: np.ndarray, dst: np.ndarray,
              size_a: tuple[int, int], size_b: tuple[int, int],
              band: tuple[int, int] | None = None) -> float | None:
    """How well b agrees with a outside the inliers' box (of the `band` rows' cells only, if
    given: a stray cell would stretch the box), inside the overlap: the median, over the
    grid cells there, of the two thumbnails' local correlation (a caption or sticker of the
    copy spoils its own cells, not the median); None: too little to judge."""
    found = _warp_into_a(thumb_b, src, dst, size_a, size_b)
    if found is None:
        return None
    warped, valid = found
    occupied = _occupied(src, size_a)
    if band is not None:
        occupied[:band[0]] = False
        occupied[band[1] + 1:] = False
    ys, xs = np.nonzero(occupied)
    if ys.size == 0:  # no cell holds two inliers: no band to look around
        return None
    step = THUMB // _GRID
    region = valid.copy()
    region[ys.min() * step:(ys.max() + 1) * step, xs.min() * step:(xs.max() + 1) * step] = False
    # a cell is compared when enough of it lies outside the box and inside the overlap
    compared = region.reshape(_GRID, step, _GRID, step).mean(axis=(1, 3)) >= _CELL_INSIDE
    if int(compared.sum()) < _MIN_CELLS:
        return None
    return float(np.median(_correlations(thumb_a, warped, region)[compared]))


def confirmed(thumb_a: np.ndarray, thumb_b: np.ndarray, src: np.ndarray, dst: np.ndarray,
              size_a: tuple[int, int], size_b: tuple[int, int]) -> bool:
    """False when the inliers sit in one horizontal band (as a shared caption's do) and the
    rest of the picture disagrees; True otherwise (spread inliers, or nothing left to
    contradict them)."""
    occupied = _occupied(src, size_a)
    if not occupied.any():
        return True
    # Horizontal bands only: captions are written along the lines of the picture, and a
    # tall narrow band is what another viewpoint of a wall or a door gives (one plane agrees,
    # parallax moves the rest; rendered cells, calibration scenes).
    if int(occupied.any(axis=1).sum()) <= _BAND:
        found = agreement(thumb_a, thumb_b, src, dst, size_a, size_b)
        return found is None or found >= AGREEMENT_MIN
    # a band and a stray cell: the stray is weak evidence of the scene, so the rest of the
    # picture need agree less, but must not contradict it
    band = band_rows(occupied)
    if band is None:
        return True
    found = agreement(thumb_a, thumb_b, src, dst, size_a, size_b, band)
    return found is None or found >= AGREEMENT_STRAY_MIN
