"""What happens to a cell photo on its way to a suspect account: re-posted (resized and
re-encoded), cropped, screenshotted inside an app, mirrored by a selfie camera, captioned
with a sticker. Each takes an RGB picture and returns the file an analyst would capture.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def jpeg(rgb: np.ndarray, quality: int = 88) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def repost(rgb: np.ndarray) -> bytes:
    """A platform's copy: a little smaller, re-encoded harder."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (w * 9 // 10, h * 9 // 10), interpolation=cv2.INTER_AREA)
    return jpeg(small, 68)


def crop(rgb: np.ndarray) -> bytes:
    """The poster cut most of the edges away."""
    h, w = rgb.shape[:2]
    return jpeg(rgb[int(h * 0.08):int(h * 0.94), int(w * 0.1):int(w * 0.93)], 80)


def mirrored_selfie(rgb: np.ndarray) -> bytes:
    """A front camera's picture: left and right swapped."""
    return jpeg(np.ascontiguousarray(rgb[:, ::-1]), 85)


def screenshot(rgb: np.ndarray, dark: bool = True) -> bytes:
    """The photo inside a phone app's frame: status bar, header, buttons, caption."""
    h, w = rgb.shape[:2]
    bar, header, footer = h // 20, h // 9, h // 6
    back = (18, 18, 18) if dark else (250, 250, 250)
    ink = (235, 235, 235) if dark else (20, 20, 20)
    canvas = np.empty((h + bar + header + footer, w, 3), np.uint8)
    canvas[:] = back
    canvas[bar + header:bar + header + h] = rgb
    cv2.putText(canvas, "21:47", (12, bar - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, ink, 1,
                cv2.LINE_AA)
    cv2.circle(canvas, (28, bar + header // 2), header // 3, (140, 90, 200), -1)
    cv2.putText(canvas, "wing_life", (60, bar + header // 2 + 6), cv2.FONT_HERSHEY_SIMPLEX,
                0.6, ink, 1, cv2.LINE_AA)
    y = bar + header + h
    for i in range(3):
        cv2.circle(canvas, (24 + i * 40, y + footer // 3), 10, ink, 2)
    cv2.putText(canvas, "another day inside", (12, y + footer * 3 // 4),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5, ink, 1, cv2.LINE_AA)
    return png(canvas)


def overlay(rgb: np.ndarray) -> bytes:
    """A caption on a dark band across a quarter of the frame, and a sticker."""
    out = rgb.copy()
    h, w = out.shape[:2]
    band = slice(h * 3 // 5, h * 3 // 5 + h // 5)
    out[band] = (out[band] * 0.35).astype(np.uint8)
    cv2.putText(out, "BACK SOON x", (w // 20, h * 3 // 5 + h // 8), cv2.FONT_HERSHEY_DUPLEX,
                w / 600, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.circle(out, (w * 4 // 5, h // 5), h // 12, (250, 205, 40), -1, cv2.LINE_AA)
    return jpeg(out, 85)


def unrelated(seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    """A picture of nothing held (a car, a meal, a sunset): soft colour blobs and noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = cv2.resize(rng.uniform(30, 230, (4, 5, 3)).astype(np.float32), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    for _ in range(12):
        colour = tuple(float(c) for c in rng.uniform(20, 235, 3))
        cv2.ellipse(img, (int(rng.integers(w)), int(rng.integers(h))),
                    (int(rng.integers(15, 120)), int(rng.integers(15, 90))),
                    float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), 1.5) + rng.normal(0, 4, (h, w, 3)).astype(np.float32)
    return jpeg(np.clip(img, 0, 255).astype(np.uint8), 85)
