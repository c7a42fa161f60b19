"""How much of two pictures agrees: homography inliers counted at most CELL_CAP a cell of a
GRID x GRID grid, on each picture, and the smaller of the two counts (hashing's and SIFT's
verification score before the scene check). The cap means the score measures how much of the
picture agrees, not how textured one object is: a barred window repeated in every cell photo
cannot win on its own.

Each picture is also counted on a grid over the part of it the other picture shows (the
other's outline through the inliers' homography), and the better count stands. A frame or
crop showing a third of a reference photo (a portrait story filmed across a landscape cell
photo, a zoom) then agrees in as many cells as the whole photo would, where the whole photo's
grid left it a third of them; no pair counts less than on the whole pictures. The part is
never narrower or shorter than SHARED_MIN of the picture, and a part under OBJECT_AREA of it
is counted on the whole picture only: a small thing two different pictures share (a poster,
a logo) stays a few cells of evidence. Measured in app/matching/thresholds.py.
"""

from __future__ import annotations

import cv2
import numpy as np

GRID = 8  # hashing spreads its keypoints over the same grid
CELL_CAP = 3  # inliers counted per grid cell
SHARED_MIN = 0.5  # of each side: cells at most a quarter of the whole grid's
OBJECT_AREA = 1 / 16  # of the picture: a part this small is an object, not the scene

Box = tuple[float, float, float, float]  # x, y, width, height


def capped(points: np.ndarray, size: tuple[int, int]) -> int:
    """Points (n, 2) in a picture of `size` (width, height), at most CELL_CAP a grid cell."""
    scale = np.array([GRID / max(size[0], 1), GRID / max(size[1], 1)], dtype=np.float32)
    cells = np.clip((points * scale).astype(np.int64), 0, GRID - 1)
    counts = np.bincount(cells[:, 1] * GRID + cells[:, 0], minlength=GRID * GRID)
    return int(np.minimum(counts, CELL_CAP).sum())


def shared_box(here: np.ndarray, there: np.ndarray, size_here: tuple[int, int],
               size_there: tuple[int, int]) -> Box:
    """The part of `here`'s picture that `there`'s picture shows (inliers pairwise), widened
    to SHARED_MIN of each side; the whole picture when the fit fails."""
    w, h = float(max(size_here[0], 1)), float(max(size_here[1], 1))
    whole = (0.0, 0.0, w, h)
    if len(here) < 4:
        return whole
    fit, _ = cv2.findHomography(there, here, 0)  # least squares over the inliers alone
    if fit is None or not np.all(np.isfinite(fit)):
        return whole
    tw, th = float(size_there[0]), float(size_there[1])
    outline = np.float32([[0, 0], [tw, 0], [tw, th], [0, th]]).reshape(-1, 1, 2)
    seen = cv2.perspectiveTransform(outline, fit).reshape(-1, 2)
    # a fit that folds the outline says nothing of where the other picture lies; a part
    # under OBJECT_AREA is an object (a close-up of a poster or a kettle every cell has),
    # counted on the whole picture as such
    if (not np.all(np.isfinite(seen)) or not cv2.isContourConvex(seen)
            or abs(cv2.contourArea(seen)) < OBJECT_AREA * w * h):
        return whole
    # every inlier inside: none is pushed into an edge cell by how the fit lies
    low = np.clip(np.minimum(seen.min(axis=0), here.min(axis=0)), 0, (w, h))
    high = np.clip(np.maximum(seen.max(axis=0), here.max(axis=0)), 0, (w, h))
    spans = []
    for lo, hi, full in zip(low.tolist(), high.tolist(), (w, h), strict=True):
        span = max(hi - lo, SHARED_MIN * full)
        spans.append((min(max((lo + hi) / 2 - span / 2, 0.0), full - span), span))
    (x, width), (y, height) = spans
    return x, y, width, height


def score(pa: np.ndarray, pb: np.ndarray, size_a: tuple[int, int],
          size_b: tuple[int, int]) -> int:
    """Inliers pa (in a) and pb (in b), pairwise: on each picture the better of its count on
    its whole grid and on the shared part's grid (another grid lies differently over the same
    points: alone, it took a few from crops the whole grid had counted), the smaller of the
    two pictures' counts."""
    sides = sorted(((capped(pa, size_a), pa, pb, size_a, size_b),
                    (capped(pb, size_b), pb, pa, size_b, size_a)), key=lambda side: side[0])
    best = len(pa)  # no count exceeds the points themselves
    for count, here, there, size_here, size_there in sides:  # the lower count first
        if count < min(len(here), best):  # else the part's grid cannot change the result
            x, y, w, h = shared_box(here, there, size_here, size_there)
            count = max(count, capped(here - np.float32([x, y]), (w, h)))
        best = min(best, count)
    return best
