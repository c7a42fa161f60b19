"""Textures of a rendered prison cell: painted block walls, stains, graffiti, posters, a barred
window, a steel door. Procedural, from a seeded generator; no file and no download.

Moved here from the matching benchmark so that the demo estate (app/demo) can draw rooms that
look like cells; the benchmark imports it from here, and gives posters its real photographs
through `photo_source` (without one, every poster is a drawn graphic or calendar).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

PX_PER_M = 300  # texture pixels per metre of wall

PALETTE_WALL = [(205, 200, 180), (190, 195, 185), (170, 185, 170), (175, 185, 200),
                (210, 205, 195), (160, 160, 155), (200, 190, 160), (185, 175, 165)]
PALETTE_CLOTH = [(40, 60, 120), (110, 40, 40), (60, 90, 60), (150, 150, 150), (200, 120, 40),
                 (80, 80, 100), (30, 30, 30), (180, 170, 140), (120, 100, 160), (60, 120, 140)]
WORDS = ["FREE", "HOME", "MUM", "LOVE", "2024", "KING", "ROSE", "BRO", "TEAM", "OUT", "SOON",
         "HMP", "RIP", "LIFE", "G4", "MIA", "TOM", "JAY", "DAYS", "FAITH"]
FONTS = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
         cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_PLAIN]

# Photographs for posters (RGB arrays), when the caller has some: the benchmark's.
photo_source: Callable[[], list[np.ndarray]] | None = None


def noise(rng: np.random.Generator, h: int, w: int, octaves: int = 5) -> np.ndarray:
    """Fractal value noise, zero mean, unit-ish std, float32 (h, w)."""
    out = np.zeros((h, w), np.float32)
    amp = 1.0
    for o in range(octaves):
        s = 2 ** (o + 2)
        small = rng.standard_normal((s, max(2, s * w // max(h, 1)))).astype(np.float32)
        out += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        amp *= 0.55
    return out / (out.std() + 1e-6)


def jitter(rng: np.random.Generator, colour: tuple[int, ...], amount: float = 18) -> np.ndarray:
    return np.clip(np.array(colour, np.float32) + rng.normal(0, amount, 3), 0, 255)


def surface(rng: np.random.Generator, h: int, w: int, colour: np.ndarray,
            rough: float = 8) -> np.ndarray:
    tex = np.empty((h, w, 3), np.float32)
    tex[:] = colour
    tex += (noise(rng, h, w) * rough)[:, :, None]
    tex += rng.normal(0, rough * 0.3, (h, w, 1)).astype(np.float32)
    return tex


def text(img: np.ndarray, rng: np.random.Generator, s: str, x: int, y: int, scale: float,
         colour: tuple[float, ...], thick: int) -> None:
    # OpenCV 5 draws text on 8-bit images only: draw a coverage mask, then blend the colour.
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.putText(mask, s, (x, y), FONTS[rng.integers(len(FONTS))], scale, 255, thick,
                cv2.LINE_AA)
    a = mask.astype(np.float32)[:, :, None] / 255
    img[:] = img * (1 - a) + np.array(colour, np.float32) * a


def poster(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    kind = rng.integers(3)
    if kind == 0 and photo_source is not None:  # a print of a photo, cropped and graded
        pool = photo_source()
        src = pool[rng.integers(len(pool))]
        sh, sw = src.shape[:2]
        ch = int(sh * rng.uniform(0.4, 1.0))
        cw = min(sw, max(8, int(ch * w / h)))
        y0, x0 = rng.integers(0, sh - ch + 1), rng.integers(0, sw - cw + 1)
        img = cv2.resize(src[y0:y0 + ch, x0:x0 + cw], (w, h)).astype(np.float32)
        img = img * rng.uniform(0.7, 1.2, 3) + rng.uniform(-25, 25, 3)
        if rng.random() < 0.5:
            img = img[:, ::-1]
    else:  # graphic poster / calendar with shapes and words
        img = np.empty((h, w, 3), np.float32)
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        img[:] = c0 * (1 - t) + c1 * t
        for _ in range(rng.integers(3, 9)):
            col = tuple(float(v) for v in rng.uniform(0, 255, 3))
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            r = int(rng.integers(max(2, w // 12), max(3, w // 3)))
            if rng.random() < 0.5:
                cv2.circle(img, (x, y), r, col, -1, cv2.LINE_AA)
            else:
                cv2.rectangle(img, (x - r, y - r // 2), (x + r, y + r // 2), col, -1)
        if kind == 2:  # calendar grid
            for i in range(1, 6):
                cv2.line(img, (0, h * i // 6), (w, h * i // 6), (20, 20, 20), 1)
                cv2.line(img, (w * i // 7, h // 6), (w * i // 7, h), (20, 20, 20), 1)
        for _ in range(rng.integers(1, 4)):
            col = tuple(float(v) for v in rng.uniform(0, 255, 3))
            text(img, rng, str(rng.choice(WORDS)), int(rng.integers(0, w // 2)),
                 int(rng.integers(h // 6, h)), w / 160, col, max(1, w // 60))
    img = np.clip(img, 0, 255)
    cv2.rectangle(img, (0, 0), (w - 1, h - 1), (240, 240, 240), max(1, w // 40))
    return img


def wall_texture(rng: np.random.Generator, w_m: float, h_m: float, look: dict,
                 ppm: int = PX_PER_M) -> np.ndarray:
    w, h = int(w_m * ppm), int(h_m * ppm)
    tex = surface(rng, h, w, jitter(rng, look["wall"], 6), look["rough"])
    if look["blocks"]:  # painted cinder blocks: mortar lines, staggered rows
        bh, bw = int(0.2 * ppm), int(0.4 * ppm)
        for r, y in enumerate(range(0, h, bh)):
            cv2.line(tex, (0, y), (w, y), look["wall"] * 0.82, 2)
            off = (r % 2) * bw // 2
            for x in range(off, w, bw):
                cv2.line(tex, (x, y), (x, y + bh), look["wall"] * 0.82, 2)
    if look["dado"] is not None:  # lower part painted another colour
        y = int(h - look["dado_h"] * ppm)
        tex[y:] = surface(rng, h - y, w, look["dado"], look["rough"])
        cv2.line(tex, (0, y), (w, y), look["dado"] * 0.6, 3)
    stains = np.zeros((h // 4, w // 4, 3), np.float32)  # stains and grime, at 1/4 scale
    for _ in range(rng.integers(2, 7)):
        cv2.ellipse(stains, (int(rng.integers(w // 4)), int(rng.integers(h // 4))),
                    (int(rng.integers(3, 20)), int(rng.integers(3, 30))),
                    float(rng.uniform(0, 180)), 0, 360, rng.uniform(10, 35, 3).tolist(), -1)
    tex -= cv2.resize(cv2.GaussianBlur(stains, (0, 0), 4), (w, h))
    for _ in range(rng.integers(0, 6)):  # scratches
        p = (int(rng.integers(w)), int(rng.integers(h)))
        q = (p[0] + int(rng.integers(-60, 60)), p[1] + int(rng.integers(-60, 60)))
        cv2.line(tex, p, q, tuple(float(v) for v in look["wall"] * 0.6), 1, cv2.LINE_AA)
    for _ in range(rng.integers(0, 3)):  # graffiti / tally marks
        x, y = int(rng.integers(0, max(1, w - 150))), int(rng.integers(40, h - 60))
        col = tuple(float(v) for v in rng.uniform(10, 120, 3))
        if rng.random() < 0.5:
            text(tex, rng, str(rng.choice(WORDS)), x, y, rng.uniform(0.8, 2.0), col, 2)
        else:
            for i in range(int(rng.integers(4, 15))):
                xi = x + i * 9 + (i // 5) * 10
                cv2.line(tex, (xi, y), (xi + (12 if i % 5 == 4 else 0), y - 30), col, 2)
    return tex


def paste(tex: np.ndarray, item: np.ndarray, x_m: float, top_m: float,
          ppm: int = PX_PER_M) -> None:
    """Paste `item` with its top-left at (x_m, top_m) metres in texture coordinates."""
    x, y = int(x_m * ppm), int(top_m * ppm)
    h, w = item.shape[:2]
    th, tw = tex.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(tw, x + w), min(th, y + h)
    if x1 > x0 and y1 > y0:
        tex[y0:y1, x0:x1] = item[y0 - y:y1 - y, x0 - x:x1 - x]


def window(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    sky = np.array([235, 235, 240], np.float32) * (1 - t) + rng.uniform(150, 230, 3) * t
    img = sky + (noise(rng, h, w, 4) * rng.uniform(3, 12))[:, :, None]
    if rng.random() < 0.6:  # building or fence outside
        y = int(h * rng.uniform(0.4, 0.8))
        img[y:] = img[y:] * 0.5 + rng.uniform(60, 140, 3) * 0.5
    frame = rng.uniform(40, 120)
    cv2.rectangle(img, (0, 0), (w - 1, h - 1), (frame,) * 3, max(4, w // 14))
    n_bars = int(rng.integers(3, 8))
    bw = max(3, int(w * rng.uniform(0.03, 0.06)))
    for i in range(1, n_bars + 1):
        x = int(i * w / (n_bars + 1))
        cv2.rectangle(img, (x - bw // 2, 0), (x + bw // 2, h), (frame * 0.7,) * 3, -1)
    if rng.random() < 0.5:
        cv2.rectangle(img, (0, h // 2 - bw // 2), (w, h // 2 + bw // 2), (frame * 0.7,) * 3, -1)
    return img


def door(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = surface(rng, h, w, rng.uniform(60, 160, 3), 5)
    cv2.rectangle(img, (0, 0), (w - 1, h - 1), (40, 40, 40), 6)
    y = int(h * 0.3)
    cv2.rectangle(img, (w // 3, y), (2 * w // 3, y + h // 10), (25, 25, 25), -1)  # hatch
    for i in range(6):
        cv2.circle(img, (12, 20 + i * (h - 40) // 5), 4, (30, 30, 30), -1)
    return img

