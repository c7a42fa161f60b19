"""The named changes a reposted photo goes through, each with the floor the product must meet.

Every change takes the source photo (RGB uint8) and a seeded generator and returns the bytes
an analyst would upload. Used by bench/matching_accuracy_real.py.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from bench.matching_accuracy import WORDS, t_screenshot

Change = Callable[[np.ndarray, np.random.Generator], bytes]


def jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()


def _resize(img: np.ndarray, long_side: int) -> np.ndarray:
    h, w = img.shape[:2]
    f = long_side / max(h, w)
    return cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))),
                      interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)


def _crop(img: np.ndarray, rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    """Remove lo..hi of the width and of the height, at a random offset."""
    h, w = img.shape[:2]
    c = rng.uniform(lo, hi)
    ch, cw = int(h * (1 - c)), int(w * (1 - c))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return img[y:y + ch, x:x + cw]


def _filter(img: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    f = img.astype(np.float32)
    kind = rng.integers(6)
    if kind == 0:  # sepia
        m = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
        out = f @ m.T
    elif kind == 1:  # warm / cool tint
        out = f * (np.array([1.15, 1.0, 0.8]) if rng.random() < 0.5 else [0.85, 1.0, 1.2])
    elif kind == 2:  # black and white, high contrast
        g = f.mean(axis=2, keepdims=True)
        out = np.repeat((g - 128) * 1.3 + 128, 3, axis=2)
    elif kind == 3:  # faded vintage: lifted blacks, low contrast, tint
        out = f * 0.7 + np.array([60, 45, 30])
    elif kind == 4:  # saturation boost
        g = f.mean(axis=2, keepdims=True)
        out = g + (f - g) * 1.8
    else:  # "clarendon"-like: contrast up, shadows cool, highlights warm
        out = (f - 128) * 1.25 + 128 + (f.mean(axis=2, keepdims=True) - 128) / 128 * [8, 0, -8]
    out = f + (out - f) * strength
    return np.clip(out, 0, 255).astype(np.uint8)


def c_resize(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return jpeg(_resize(img, int(rng.choice([480, 640, 1080]))), int(rng.integers(75, 91)))


def c_jpeg70(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return jpeg(img, 70)


def c_jpeg50(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return jpeg(img, 50)


def c_crop10(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return jpeg(_crop(img, rng, 0.08, 0.10), 85)


def c_crop20(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return jpeg(_crop(img, rng, 0.18, 0.20), 85)


def c_mirror(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return jpeg(img[:, ::-1], int(rng.integers(80, 93)))


def c_screenshot(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return t_screenshot(jpeg(img, 92), rng)


def c_brightness(img: np.ndarray, rng: np.random.Generator) -> bytes:
    c = rng.uniform(0.7, 1.3)
    b = rng.uniform(20, 45) * rng.choice([-1, 1])
    return jpeg(np.clip((img.astype(np.float32) - 128) * c + 128 + b, 0, 255).astype(np.uint8),
                85)


def c_filter(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return jpeg(_filter(img, rng), 85)


def _rotate(img: np.ndarray, rng: np.random.Generator, deg: float) -> bytes:
    """Half keep the black corners, half are straightened (zoomed so no corner shows)."""
    h, w = img.shape[:2]
    ang = deg * rng.choice([-1, 1])
    zoom = 1.0
    if rng.random() < 0.5:
        a = math.radians(deg)
        zoom = math.cos(a) + math.sin(a) * max(w / h, h / w)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), ang, zoom)
    return jpeg(cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR), 85)


def c_rotate5(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return _rotate(img, rng, 5.0)


def c_rotate10(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return _rotate(img, rng, 10.0)


def _sticker(img: np.ndarray, rng: np.random.Generator, r: int) -> None:
    h, w = img.shape[:2]
    cx, cy = int(rng.integers(r, max(r + 1, w - r))), int(rng.integers(r, max(r + 1, h - r)))
    kind = rng.integers(3)
    if kind == 0:  # smiley
        cv2.circle(img, (cx, cy), r, (250, 205, 40), -1, cv2.LINE_AA)
        cv2.circle(img, (cx - r // 3, cy - r // 4), max(1, r // 8), (40, 30, 20), -1)
        cv2.circle(img, (cx + r // 3, cy - r // 4), max(1, r // 8), (40, 30, 20), -1)
        cv2.ellipse(img, (cx, cy + r // 8), (r // 2, r // 3), 0, 0, 180, (40, 30, 20),
                    max(1, r // 12))
    elif kind == 1:  # heart
        col = (230, 30, 60)
        cv2.circle(img, (cx - r // 2, cy - r // 4), r // 2, col, -1, cv2.LINE_AA)
        cv2.circle(img, (cx + r // 2, cy - r // 4), r // 2, col, -1, cv2.LINE_AA)
        pts = np.array([[cx - r, cy - r // 8], [cx + r, cy - r // 8], [cx, cy + r]])
        cv2.fillConvexPoly(img, pts.astype(np.int32), col, cv2.LINE_AA)
    else:  # a label / GIF sticker box with a word
        col = tuple(int(v) for v in rng.integers(0, 255, 3))
        cv2.rectangle(img, (cx - r, cy - r // 2), (cx + r, cy + r // 2), col, -1)
        cv2.putText(img, str(rng.choice(WORDS)), (cx - r + r // 6, cy + r // 6),
                    cv2.FONT_HERSHEY_DUPLEX, r / 40, (255, 255, 255), max(1, r // 15),
                    cv2.LINE_AA)


def c_overlay_text(img: np.ndarray, rng: np.random.Generator) -> bytes:
    """A caption: bold outlined text, sometimes on a dark band, up to a quarter of the frame."""
    out = img.copy()
    h, w = out.shape[:2]
    band = rng.uniform(0.08, 0.25) * h  # the caption's height: up to a quarter of the frame
    lines = int(rng.integers(1, 4))
    y0 = int(rng.uniform(0, h - band))
    if rng.random() < 0.5:
        shade = out[y0:y0 + int(band)].astype(np.float32) * 0.35
        out[y0:y0 + int(band)] = shade.astype(np.uint8)
    size = band / lines / 30
    for i in range(lines):
        words = " ".join(str(x) for x in rng.choice(WORDS, int(rng.integers(2, 5))))
        y = int(y0 + (i + 0.8) * band / lines)
        thick = max(2, int(size * 2.5))
        cv2.putText(out, words, (int(rng.uniform(0, w * 0.2)), y), cv2.FONT_HERSHEY_DUPLEX,
                    size, (0, 0, 0), thick + 4, cv2.LINE_AA)
        cv2.putText(out, words, (int(rng.uniform(0, w * 0.2)), y), cv2.FONT_HERSHEY_DUPLEX,
                    size, (255, 255, 255), thick, cv2.LINE_AA)
    return jpeg(out, 85)


def c_overlay_sticker(img: np.ndarray, rng: np.random.Generator) -> bytes:
    """One to four stickers covering together up to a quarter of the frame."""
    out = img.copy()
    h, w = out.shape[:2]
    n = int(rng.integers(1, 5))
    cover = rng.uniform(0.05, 0.25) * h * w / n  # area per sticker
    for _ in range(n):
        _sticker(out, rng, max(4, int(math.sqrt(cover / math.pi))))
    return jpeg(out, 85)


def c_repost_chain(img: np.ndarray, rng: np.random.Generator) -> bytes:
    """Crop + filter + recompress + resize, repeated 2-4 times (reposted by one account after
    another)."""
    data = jpeg(img, 90)
    for _ in range(int(rng.integers(2, 5))):
        cur = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        cur = _crop(cur, rng, 0.02, 0.07)
        if rng.random() < 0.7:
            cur = _filter(cur, rng, strength=rng.uniform(0.4, 1.0))
        long_side = max(cur.shape[:2])
        cur = _resize(cur, int(min(long_side, rng.choice([640, 720, 1080]))
                              * rng.uniform(0.85, 1.0)))
        data = jpeg(cur, int(rng.integers(55, 81)))
    return data


def c_selfie(img: np.ndarray, rng: np.random.Generator) -> bytes:
    """A front-camera shot: mirrored, and cropped 10-20%."""
    return jpeg(_crop(img[:, ::-1], rng, 0.10, 0.20), 85)


def _perspective(img: np.ndarray, rng: np.random.Generator, turn: float, jitter: float,
                 keep: float) -> bytes:
    """The plane of the photo seen from the side: one side foreshortened by `turn` of its
    height, corners moved by up to `jitter`, then the central `keep` of the result kept."""
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src.copy()
    side = rng.choice([0, 1, 2, 3])  # which edge recedes
    t = rng.uniform(0.5, 1.0) * turn
    if side == 0:  # left edge farther: shorter
        dst[0, 1] += t * h / 2
        dst[3, 1] -= t * h / 2
    elif side == 1:
        dst[1, 1] += t * h / 2
        dst[2, 1] -= t * h / 2
    elif side == 2:  # top edge farther
        dst[0, 0] += t * w / 2
        dst[1, 0] -= t * w / 2
    else:
        dst[3, 0] += t * w / 2
        dst[2, 0] -= t * w / 2
    dst += rng.uniform(-jitter, jitter, (4, 2)).astype(np.float32) * [w, h]
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REFLECT)
    ch, cw = int(h * keep), int(w * keep)
    y, x = (h - ch) // 2, (w - cw) // 2
    out = warped[y:y + ch, x:x + cw].astype(np.float32)
    out = out * rng.uniform(0.85, 1.15) + rng.normal(0, 2, out.shape)  # new exposure, noise
    return jpeg(np.clip(out, 0, 255).astype(np.uint8), int(rng.integers(80, 93)))


def c_view_mild(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return _perspective(img, rng, turn=0.15, jitter=0.04, keep=0.85)


def c_view_strong(img: np.ndarray, rng: np.random.Generator) -> bytes:
    return _perspective(img, rng, turn=0.40, jitter=0.06, keep=0.8)


# name -> (change, floor of the issue)
CHANGES: dict[str, tuple[Change, float]] = {
    "resize": (c_resize, 1.0), "jpeg_q70": (c_jpeg70, 1.0), "jpeg_q50": (c_jpeg50, 1.0),
    "crop_10": (c_crop10, 0.97), "crop_20": (c_crop20, 0.97), "mirror": (c_mirror, 0.99),
    "screenshot": (c_screenshot, 0.97), "brightness": (c_brightness, 0.99),
    "colour_filter": (c_filter, 0.97), "rotate_5": (c_rotate5, 0.97),
    "rotate_10": (c_rotate10, 0.90), "overlay_text": (c_overlay_text, 0.95),
    "overlay_sticker": (c_overlay_sticker, 0.95), "repost_chain": (c_repost_chain, 0.92),
    "selfie_mirror_crop": (c_selfie, 0.95), "view_mild": (c_view_mild, 0.97),
    "view_strong": (c_view_strong, 0.90),
}
# the real photo pairs: a second photograph of the scene (floor 100%) and real other viewpoints
PAIR_FLOORS = {"second_photo": 1.0, "real_two_view": 0.90}
