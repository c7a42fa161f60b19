"""A cheap picture of a cell, for the many cells of the demo no story needs: drawn in 2D
(back wall, side walls, floor and ceiling in perspective, a barred window, a door, a bed, a
poster, graffiti, grime) in a few milliseconds instead of the 3D render's fraction of a second.
Each seed gives a different room, busy enough that matching never mistakes one for another.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.demo.room_textures import PALETTE_CLOTH, PALETTE_WALL, WORDS


def _colour(rng: np.random.Generator, base: tuple[int, ...], spread: float = 18
            ) -> tuple[float, ...]:
    return tuple(float(c) for c in np.clip(np.array(base) + rng.normal(0, spread, 3), 0, 255))


def sketch_room(seed: int, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """RGB uint8 picture of a made-up cell."""
    rng = np.random.default_rng(seed)
    w, h = size
    wall = _colour(rng, PALETTE_WALL[rng.integers(len(PALETTE_WALL))])
    img = np.empty((h, w, 3), np.float32)
    img[:] = wall
    # back wall rectangle and the vanishing lines to the corners
    bx0, by0 = int(w * rng.uniform(0.25, 0.38)), int(h * rng.uniform(0.18, 0.3))
    bx1, by1 = int(w * rng.uniform(0.62, 0.75)), int(h * rng.uniform(0.62, 0.72))
    corners = {"left": [(0, 0), (bx0, by0), (bx0, by1), (0, h)],
               "right": [(w, 0), (bx1, by0), (bx1, by1), (w, h)],
               "floor": [(0, h), (bx0, by1), (bx1, by1), (w, h)],
               "ceiling": [(0, 0), (bx0, by0), (bx1, by0), (w, 0)]}
    shade = {"left": 0.82, "right": 0.9, "ceiling": 1.08}
    for name, pts in corners.items():
        colour = (_colour(rng, (120, 115, 105), 25) if name == "floor"
                  else tuple(c * shade[name] for c in wall))
        cv2.fillPoly(img, [np.array(pts, np.int32)], colour, cv2.LINE_AA)
    for x, y in ((bx0, by0), (bx1, by0), (bx0, by1), (bx1, by1)):
        cv2.line(img, (x, y), (0 if x == bx0 else w, 0 if y == by0 else h), (60, 60, 60), 1,
                 cv2.LINE_AA)
    cv2.rectangle(img, (bx0, by0), (bx1, by1), (70, 70, 70), 1)
    # barred window high on the back wall
    ww, wh = int((bx1 - bx0) * rng.uniform(0.3, 0.5)), int((by1 - by0) * rng.uniform(0.25, 0.4))
    wx = int(rng.uniform(bx0 + 8, bx1 - ww - 8))
    wy = by0 + int((by1 - by0) * rng.uniform(0.08, 0.2))
    cv2.rectangle(img, (wx, wy), (wx + ww, wy + wh), _colour(rng, (215, 220, 230), 15), -1)
    for i in range(1, int(rng.integers(3, 7))):
        x = wx + i * ww // int(rng.integers(4, 8))
        cv2.line(img, (x, wy), (x, wy + wh), (50, 50, 55), 3)
    cv2.rectangle(img, (wx, wy), (wx + ww, wy + wh), (45, 45, 45), 3)
    # a bed along one side wall, a door on the other
    bed_left = rng.random() < 0.5
    blanket = _colour(rng, PALETTE_CLOTH[rng.integers(len(PALETTE_CLOTH))])
    bed = [(0, int(h * 0.72)), (bx0, by1 - 10), (bx0 + 40, by1 + 5), (int(w * 0.3), h)]
    if not bed_left:
        bed = [(w - x, y) for x, y in bed]
    cv2.fillPoly(img, [np.array(bed, np.int32)], blanket, cv2.LINE_AA)
    door_x = int(w * rng.uniform(0.04, 0.12))
    door = [(door_x, int(h * 0.12)), (door_x + int(w * 0.12), int(h * 0.2)),
            (door_x + int(w * 0.12), int(h * 0.78)), (door_x, int(h * 0.9))]
    if bed_left:
        door = [(w - x, y) for x, y in door]
    cv2.fillPoly(img, [np.array(door, np.int32)], _colour(rng, (110, 110, 120), 35),
                 cv2.LINE_AA)
    # posters and graffiti: what makes one cell's photo unlike another's (OpenCV draws text
    # on 8-bit pictures only)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(2, 5))):
        px, py = int(rng.uniform(bx0, bx1 - 40)), int(rng.uniform(by0 + 20, by1 - 50))
        pw, ph = int(rng.integers(25, 70)), int(rng.integers(30, 80))
        cv2.rectangle(img, (px, py), (px + pw, py + ph), _colour(rng, (128, 128, 128), 70), -1)
        for _ in range(int(rng.integers(2, 6))):
            cx, cy = px + int(rng.integers(0, pw)), py + int(rng.integers(0, ph))
            cv2.circle(img, (cx, cy), int(rng.integers(3, 12)),
                       _colour(rng, (128, 128, 128), 90), -1)
    for _ in range(int(rng.integers(2, 5))):
        x, y = int(rng.integers(10, w - 120)), int(rng.integers(40, h - 40))
        cv2.putText(img, str(rng.choice(WORDS)), (x, y), cv2.FONT_HERSHEY_SIMPLEX,
                    float(rng.uniform(0.5, 1.2)), _colour(rng, (60, 60, 60), 40), 2, cv2.LINE_AA)
    noise = cv2.resize(rng.normal(0, 1, (h // 8, w // 8)).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_CUBIC)
    grain = noise[:, :, None] * 9 + rng.normal(0, 3, (h, w, 1)).astype(np.float32)
    return np.clip(img + grain, 0, 255).astype(np.uint8)
