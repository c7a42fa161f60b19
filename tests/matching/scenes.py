"""Test photos made in code: a textured "room", a re-post of it, and another viewpoint."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def room(seed: int, size: tuple[int, int] = (1200, 900)) -> np.ndarray:
    """A busy, distinctive scene: random rectangles and lines over noise (RGB uint8)."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = rng.integers(60, 200, (h // 30, w // 30, 3), dtype=np.uint8)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(80):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(20, 200)), y + int(rng.integers(20, 200))),
                      colour, int(rng.choice([-1, 3])))
        cv2.line(img, (x, y), (int(rng.integers(0, w)), int(rng.integers(0, h))), colour, 2)
    return img


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def repost(rgb: np.ndarray, quality: int = 70) -> bytes:
    """What a platform does to an upload: downscale to 1080 px wide and re-encode."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (1080, round(h * 1080 / w)), interpolation=cv2.INTER_AREA)
    return jpeg(small, quality=quality)


def other_viewpoint(rgb: np.ndarray) -> bytes:
    """The same room from a step to the side: a perspective warp and a little crop."""
    h, w = rgb.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[w * 0.06, h * 0.03], [w * 0.97, 0], [w, h], [w * 0.02, h * 0.96]])
    warped = cv2.warpPerspective(rgb, cv2.getPerspectiveTransform(src, dst), (w, h))
    return jpeg(warped[int(h * .05):int(h * .95), int(w * .05):int(w * .95)], quality=85)
