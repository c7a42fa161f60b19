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


def photo_like(seed: int, size: tuple[int, int] = (1280, 960)) -> np.ndarray:
    """A photograph-like picture: smooth lighting, soft-edged objects, fine texture, blur and
    sensor noise (no hard synthetic edges everywhere, unlike `room`)."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = np.zeros((h, w, 3), np.float32)
    for octave in range(6):  # fractal colour texture, coarse to fine
        s = 2 ** (octave + 2)
        small = rng.normal(0, 1, (s, max(2, s * w // h), 3)).astype(np.float32)
        img += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * 40 * 0.6 ** octave
    img += rng.uniform(70, 170, 3).astype(np.float32)
    for _ in range(30):  # shaded objects
        col = tuple(float(c) for c in rng.uniform(20, 235, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.ellipse(img, (x, y), (int(rng.integers(15, 120)), int(rng.integers(15, 120))),
                        float(rng.uniform(0, 180)), 0, 360, col, -1, cv2.LINE_AA)
        else:
            pts = (np.array([x, y]) + rng.integers(-120, 120, (4, 2))).astype(np.int32)
            cv2.fillPoly(img, [pts], col, cv2.LINE_AA)
    yy, xx = np.mgrid[-1:1:complex(0, h), -1:1:complex(0, w)]
    img *= (1 - 0.25 * (xx**2 + yy**2))[:, :, None].astype(np.float32)  # vignette
    img = cv2.GaussianBlur(img, (0, 0), 1.2) + rng.normal(0, 3, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def text_overlay(rgb: np.ndarray) -> bytes:
    """A bold caption on a dark band across a quarter of the frame, and a sticker."""
    out = rgb.copy()
    h, w = out.shape[:2]
    out[h // 2:h // 2 + h // 4] = (out[h // 2:h // 2 + h // 4] * 0.35).astype(np.uint8)
    for i, words in enumerate(["FREE THE LADS", "BACK SOON x"]):
        y = h // 2 + (i + 1) * h // 10
        cv2.putText(out, words, (w // 20, y), cv2.FONT_HERSHEY_DUPLEX, w / 500, (0, 0, 0), 14,
                    cv2.LINE_AA)
        cv2.putText(out, words, (w // 20, y), cv2.FONT_HERSHEY_DUPLEX, w / 500,
                    (255, 255, 255), 6, cv2.LINE_AA)
    cv2.circle(out, (w * 4 // 5, h // 5), h // 10, (250, 205, 40), -1, cv2.LINE_AA)
    return jpeg(out, 85)


def repost_chain(rgb: np.ndarray, times: int = 3) -> bytes:
    """Reposted by one account after another: crop, colour filter, resize, recompress."""
    data = jpeg(rgb, 90)
    for i in range(times):
        cur = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.float32)
        h, w = cur.shape[:2]
        cur = cur[int(h * 0.05):, int(w * 0.03):int(w * 0.97)]
        cur = (cur - 128) * 1.15 + 128 + (np.array([12, 0, -12]) if i % 2 else [-6, 4, 10])
        h, w = cur.shape[:2]
        f = 720 / max(h, w) if i == times - 1 else 0.9
        cur = cv2.resize(np.clip(cur, 0, 255).astype(np.uint8), (round(w * f), round(h * f)),
                         interpolation=cv2.INTER_AREA)
        data = jpeg(cur, 60)
    return data


def strong_perspective(rgb: np.ndarray) -> bytes:
    """The scene seen from well to the side: one edge recedes to 60% of its height."""
    h, w = rgb.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, h * 0.2], [w, 0], [w, h], [0, h * 0.8]])
    warped = cv2.warpPerspective(rgb, cv2.getPerspectiveTransform(src, dst), (w, h),
                                 borderMode=cv2.BORDER_REFLECT)
    return jpeg(warped[int(h * .1):int(h * .9), int(w * .1):int(w * .9)], quality=85)


def running_caption(rgb: np.ndarray) -> np.ndarray:
    """One account's running caption: the same bold words at the same place on every photo it
    posts (a handle and a slogan in a band across the lower third)."""
    out = rgb.copy()
    h, w = out.shape[:2]
    for i, words in enumerate(["@CELLBLOCK.KINGS 24/7", "NO SIGNAL NO PROBLEM",
                               "WING A RUNS THIS"]):
        y = int(h * (0.64 + 0.1 * i))
        for colour, thick in (((0, 0, 0), 16), ((255, 255, 255), 6)):
            cv2.putText(out, words, (w // 24, y), cv2.FONT_HERSHEY_DUPLEX, w / 420, colour,
                        thick, cv2.LINE_AA)
    return out


def second_photograph(rgb: np.ndarray) -> bytes:
    """The scene photographed again: from well to the side (one edge recedes to 40% of its
    height), the camera turned 15 degrees, in darker light (gamma 2.2)."""
    h, w = rgb.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, h * 0.3], [w, 0], [w, h], [0, h * 0.7]])
    turn = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), 15, 1.0), [0, 0, 1]])
    seen = cv2.warpPerspective(rgb, turn @ cv2.getPerspectiveTransform(src, dst), (w, h),
                               borderMode=cv2.BORDER_REFLECT)
    return jpeg(np.clip(255 * (seen / 255.0) ** 2.2, 0, 255).astype(np.uint8), 85)
