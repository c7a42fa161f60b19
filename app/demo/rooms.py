"""A prison cell built in 3D and photographed through a pinhole camera: walls, floor, ceiling,
barred window, door, bed or bunk, table, shelf, toilet, posters, each a textured plane warped
into the picture, with baked lighting and a phone camera's look. `moved_camera` gives another
viewpoint of the same room (real parallax). Seeded: scene `i` is always the same room.

Moved here from the matching benchmark (bench/matching_accuracy.py imports it from here) so that
the demo estate can show reference photos that look like cells.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from app.demo.room_textures import (
    PALETTE_CLOTH,
    PALETTE_WALL,
    PX_PER_M,
    door,
    jitter,
    paste,
    poster,
    surface,
    wall_texture,
    window,
)

W_IMG, H_IMG = 1440, 1080  # the benchmark's photo size; `render` takes any other
FOV_DEGREES = 68  # horizontal field of view
NEAR = 0.05

@dataclass
class Face:
    origin: np.ndarray  # 3D corner of texture pixel (0, 0)
    u: np.ndarray  # 3D vector along texture x (full width)
    v: np.ndarray  # 3D vector along texture y (full height)
    tex: np.ndarray  # float32 RGB


@dataclass
class Camera:
    pos: np.ndarray
    yaw: float
    pitch: float
    roll: float

    def world_to_cam(self) -> np.ndarray:
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        ryaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        rpitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
        rroll = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
        return np.diag([1.0, -1.0, 1.0]) @ (ryaw @ rpitch @ rroll).T


def box_faces(lo: tuple[float, float, float], size: tuple[float, float, float],
              textures: Callable[[int, int], np.ndarray], ppm: int = PX_PER_M) -> list[Face]:
    x0, y0, z0 = lo
    sx, sy, sz = size
    x1, y1, z1 = x0 + sx, y0 + sy, z0 + sz
    spec = [((x0, y1, z1), (sx, 0, 0), (0, 0, -sz)),  # top
            ((x0, y1, z0), (sx, 0, 0), (0, -sy, 0)),  # front (towards the door)
            ((x1, y1, z1), (-sx, 0, 0), (0, -sy, 0)),  # back
            ((x0, y1, z1), (0, 0, -sz), (0, -sy, 0)),  # left
            ((x1, y1, z0), (0, 0, sz), (0, -sy, 0))]  # right
    faces = []
    for o, u, v in spec:
        u_m, v_m = float(np.linalg.norm(u)), float(np.linalg.norm(v))
        tex = textures(max(2, int(v_m * ppm)), max(2, int(u_m * ppm)))
        faces.append(Face(np.array(o, float), np.array(u, float), np.array(v, float), tex))
    return faces


def lighting(face: Face, lights: list[tuple[np.ndarray, float]], ambient: float) -> np.ndarray:
    """Diffuse light falloff on a coarse grid of the face, as a per-pixel multiplier."""
    g = 12
    s, t = np.meshgrid(np.linspace(0, 1, g), np.linspace(0, 1, g))
    pts = face.origin + s[..., None] * face.u + t[..., None] * face.v
    n = np.cross(face.u, face.v)
    n /= np.linalg.norm(n)
    val = np.full((g, g), ambient)
    for pos, power in lights:
        d = pos - pts
        dist = np.linalg.norm(d, axis=-1)
        val += power * np.clip((d @ n) / dist, 0, 1) / (1 + dist**2)
    h, w = face.tex.shape[:2]
    return cv2.resize(val.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass
class Scene:
    faces: list[Face]  # room shell first, then objects
    n_shell: int
    room: tuple[float, float, float]  # width, height, depth
    camera: Camera


def make_scene(seed: int, ppm: int = PX_PER_M) -> Scene:
    """Room `seed`; `ppm`: texture pixels per metre (fewer: quicker, for small pictures)."""
    rng = np.random.default_rng(seed)
    wd, ht, dp = rng.uniform(2.1, 3.0), rng.uniform(2.4, 2.8), rng.uniform(3.0, 4.2)
    look = {"wall": jitter(rng, PALETTE_WALL[rng.integers(len(PALETTE_WALL))], 6)
            + rng.normal(0, 12),
            "rough": rng.uniform(3, 10), "blocks": rng.random() < 0.5,
            "dado": jitter(rng, PALETTE_WALL[rng.integers(len(PALETTE_WALL))], 30) * 0.8
            if rng.random() < 0.4 else None, "dado_h": rng.uniform(0.8, 1.3)}
    back = wall_texture(rng, wd, ht, look, ppm)
    left = wall_texture(rng, dp, ht, look, ppm)
    right = wall_texture(rng, dp, ht, look, ppm)
    # barred window high on the back wall
    ww, wh = rng.uniform(0.5, 1.0), rng.uniform(0.5, 0.9)
    paste(back, window(rng, int(ww * ppm), int(wh * ppm)),
          rng.uniform(0.2, wd - ww - 0.2), rng.uniform(0.25, 0.6), ppm)
    bed_left = rng.random() < 0.5
    bed_wall, other_wall = (left, right) if bed_left else (right, left)
    if rng.random() < 0.5:  # door on the side wall opposite the bed, near the camera
        paste(other_wall if bed_left else other_wall,
              door(rng, int(0.85 * ppm), int(2.0 * ppm)),
              rng.uniform(0.6, 1.2) if bed_left else dp - rng.uniform(1.4, 2.0), ht - 2.0, ppm)
    for _ in range(rng.integers(1, 5)):  # posters / photos / calendar
        pw = rng.uniform(0.2, 0.6)
        ph = pw * rng.uniform(0.7, 1.5)
        tex = [back, left, right][rng.integers(3)]
        tw_m = tex.shape[1] / ppm
        paste(tex, poster(rng, int(ph * ppm), int(pw * ppm)),
              rng.uniform(0, tw_m - pw), rng.uniform(0.3, 1.4), ppm)
    for _ in range(rng.integers(0, 3)):  # clothes / towel hanging on the wall
        cw, ch = rng.uniform(0.25, 0.5), rng.uniform(0.3, 0.7)
        cloth = surface(rng, int(ch * ppm), int(cw * ppm),
                        jitter(rng, PALETTE_CLOTH[rng.integers(len(PALETTE_CLOTH))]), 14)
        paste(bed_wall, cloth, rng.uniform(0.3, dp - 0.6), rng.uniform(0.5, 1.0), ppm)
    floor_col = jitter(rng, (120, 115, 105), 8) + rng.normal(0, 25)
    floor = surface(rng, int(dp * ppm), int(wd * ppm), floor_col, rng.uniform(6, 16))
    if rng.random() < 0.5:  # tiles
        step = int(rng.uniform(0.25, 0.45) * ppm)
        for y in range(0, floor.shape[0], step):
            for x in range(0, floor.shape[1], step):
                floor[y:y + step, x:x + step] += rng.normal(0, 8)
            cv2.line(floor, (0, y), (floor.shape[1], y), floor_col * 0.6, 2)
        for x in range(0, floor.shape[1], step):
            cv2.line(floor, (x, 0), (x, floor.shape[0]), floor_col * 0.6, 2)
    ceil = surface(rng, int(dp * ppm), int(wd * ppm), jitter(rng, (215, 215, 210)), 4)
    lamp_z = rng.uniform(0.4, 0.7) * dp
    lx, lz = int(wd / 2 * ppm), int(lamp_z * ppm)
    cv2.rectangle(ceil, (lx - 60, lz - 25), (lx + 60, lz + 25), (255, 255, 250), -1)

    shell = [Face(np.array([-wd / 2, ht, dp]), np.array([wd, 0, 0]), np.array([0, -ht, 0]), back),
             Face(np.array([-wd / 2, ht, 0]), np.array([0, 0, dp]), np.array([0, -ht, 0]), left),
             Face(np.array([wd / 2, ht, dp]), np.array([0, 0, -dp]), np.array([0, -ht, 0]), right),
             Face(np.array([-wd / 2, 0, dp]), np.array([wd, 0, 0]), np.array([0, 0, -dp]), floor),
             Face(np.array([-wd / 2, ht, 0]), np.array([wd, 0, 0]), np.array([0, 0, dp]), ceil)]

    objects: list[Face] = []
    side = -1 if bed_left else 1
    bw, bl = rng.uniform(0.75, 0.95), rng.uniform(1.8, 2.0)
    blanket = jitter(rng, PALETTE_CLOTH[rng.integers(len(PALETTE_CLOTH))])
    stripes = rng.random() < 0.5
    metal = jitter(rng, (90, 90, 95), 30)

    def bed_tex(h: int, w: int) -> np.ndarray:
        t = surface(rng, h, w, blanket, 14)
        if stripes:
            for x in range(0, w, 40):
                t[:, x:x + 12] *= 0.75
        return t

    bx = side * (wd / 2 - bw / 2) - bw / 2
    bz = dp - bl - rng.uniform(0.0, 0.3)
    for level in [0.0, 1.3] if rng.random() < 0.4 else [0.0]:
        objects += box_faces((bx, 0.25 + level, bz), (bw, 0.2, bl), bed_tex, ppm=ppm)
        objects += box_faces((bx, level, bz), (bw, 0.25, 0.05), lambda h, w: surface(
            rng, h, w, metal, 4), ppm=ppm)
    pillow = jitter(rng, (220, 220, 215), 15)
    objects += box_faces((bx + 0.1, 0.45, bz + bl - 0.45), (bw - 0.2, 0.1, 0.35),
                         lambda h, w: surface(rng, h, w, pillow, 6), ppm=ppm)
    tx = -side * (wd / 2 - 0.3) - 0.3
    tz = rng.uniform(1.2, dp - 0.8)
    wood = jitter(rng, (130, 100, 70), 30)
    objects += box_faces((tx, 0.0, tz), (0.55, 0.75, rng.uniform(0.5, 0.8)),
                         lambda h, w: surface(rng, h, w, wood, 10), ppm=ppm)
    for _ in range(rng.integers(1, 5)):  # things on the table
        s = rng.uniform(0.05, 0.2)
        col = jitter(rng, tuple(int(v) for v in rng.uniform(30, 230, 3)), 5)
        objects += box_faces((tx + rng.uniform(0.02, 0.35), 0.75, tz + rng.uniform(0.02, 0.3)),
                             (s, rng.uniform(0.03, 0.25), s),
                             lambda h, w, c=col: surface(rng, h, w, c, 8), ppm=ppm)
    if rng.random() < 0.8:  # steel toilet / sink in the far corner opposite the bed
        steel = jitter(rng, (175, 178, 182), 10)
        objects += box_faces((-side * (wd / 2 - 0.22) - 0.22, 0, dp - 0.5), (0.44, 0.45, 0.45),
                             lambda h, w: surface(rng, h, w, steel, 5), ppm=ppm)
    if rng.random() < 0.7:  # wall shelf with items
        sx = -side * (wd / 2 - 0.13) - 0.13
        sy, sz = rng.uniform(1.3, 1.8), rng.uniform(0.6, dp - 1.2)
        objects += box_faces((sx, sy, sz), (0.26, 0.03, 0.8),
                             lambda h, w: surface(rng, h, w, wood * 0.9, 8), ppm=ppm)
        for _ in range(rng.integers(2, 7)):
            col = jitter(rng, tuple(int(v) for v in rng.uniform(30, 230, 3)), 5)
            objects += box_faces((sx + 0.03, sy + 0.03, sz + rng.uniform(0, 0.7)),
                                 (0.18, rng.uniform(0.1, 0.3), rng.uniform(0.04, 0.1)),
                                 lambda h, w, c=col: surface(rng, h, w, c, 8), ppm=ppm)

    lights = [(np.array([0.0, ht - 0.1, lamp_z]), rng.uniform(0.4, 1.2)),
              (np.array([0.0, ht - 0.6, dp - 0.3]), rng.uniform(0.1, 0.5))]
    ambient = rng.uniform(0.45, 0.7)
    for f in shell + objects:
        f.tex = np.clip(f.tex * lighting(f, lights, ambient)[:, :, None], 0, 255).astype(np.uint8)
    cam = Camera(np.array([rng.uniform(-0.3, 0.3), rng.uniform(1.3, 1.7), rng.uniform(0.25, 0.5)]),
                 math.radians(rng.uniform(-12, 12)), math.radians(rng.uniform(-3, 14)),
                 math.radians(rng.uniform(-2, 2)))
    return Scene(shell + objects, len(shell), (wd, ht, dp), cam)


def clip_near(pts: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman clip of a camera-space polygon against z > NEAR."""
    out = []
    for i in range(len(pts)):
        a, b = pts[i], pts[(i + 1) % len(pts)]
        if a[2] > NEAR:
            out.append(a)
        if (a[2] > NEAR) != (b[2] > NEAR):
            t = (NEAR - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.array(out)


def focal_px(width: int) -> float:
    return width / (2 * math.tan(math.radians(FOV_DEGREES / 2)))


def render(scene: Scene, cam: Camera,
           size: tuple[int, int] = (W_IMG, H_IMG)) -> np.ndarray:
    """The room seen by `cam`, `size` = (width, height) pixels, RGB uint8."""
    width, height = size
    f_px = focal_px(width)
    r = cam.world_to_cam()
    k = np.array([[f_px, 0, width / 2], [0, f_px, height / 2], [0, 0, 1]])
    img = np.zeros((height, width, 3), np.uint8)
    objs = scene.faces[scene.n_shell:]
    order = sorted(range(len(objs)),
                   key=lambda i: -np.linalg.norm(objs[i].origin + (objs[i].u + objs[i].v) / 2
                                                 - cam.pos))
    for face in scene.faces[:scene.n_shell] + [objs[i] for i in order]:
        if np.dot(np.cross(face.u, face.v), cam.pos - face.origin) <= 0:
            continue  # back-facing
        corners = np.array([face.origin, face.origin + face.u, face.origin + face.u + face.v,
                            face.origin + face.v])
        poly = clip_near((corners - cam.pos) @ r.T)
        if len(poly) < 3:
            continue
        proj = (poly @ k.T)[:, :2] / poly[:, 2:3]
        x0, y0 = np.floor(proj.min(axis=0)).astype(int)
        x1, y1 = np.ceil(proj.max(axis=0)).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        th, tw = face.tex.shape[:2]
        hom = k @ r @ np.column_stack([face.u / tw, face.v / th, face.origin - cam.pos])
        hom = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]]) @ hom
        patch = cv2.warpPerspective(face.tex, hom, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [np.round((proj - [x0, y0]) * 8).astype(np.int32)], 1, cv2.LINE_8, 3)
        roi = img[y0:y1, x0:x1]
        np.copyto(roi, patch, where=mask[:, :, None].astype(bool))
    return img


def photograph(img: np.ndarray, rng: np.random.Generator, quality: int = 92) -> bytes:
    """Phone-camera look: exposure, white balance, vignette, blur, sensor noise, JPEG."""
    f = img.astype(np.float32) * rng.uniform(0.85, 1.2) * rng.uniform(0.96, 1.04, 3)
    height, width = img.shape[:2]
    yy, xx = np.mgrid[-1:1:complex(0, height), -1:1:complex(0, width)]
    f *= (1 - rng.uniform(0.1, 0.3) * (xx**2 + yy**2) / 2)[:, :, None].astype(np.float32)
    f = cv2.GaussianBlur(f, (0, 0), rng.uniform(0.5, 1.0))
    f += rng.normal(0, rng.uniform(1.5, 4), f.shape).astype(np.float32)
    return jpeg(np.clip(f, 0, 255).astype(np.uint8), quality)


def jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def moved_camera(scene: Scene, rng: np.random.Generator) -> tuple[Camera, float, float]:
    """A nearby viewpoint: 0.15-0.5 m step, 3-12 degrees of turn; returns (camera, m, deg)."""
    wd, ht, dp = scene.room
    c = scene.camera
    step = rng.uniform(0.15, 0.5)
    ang = rng.uniform(0, 2 * math.pi)
    pos = c.pos + np.array([step * math.cos(ang), rng.uniform(-0.1, 0.1), step * math.sin(ang)])
    pos[0] = np.clip(pos[0], -wd / 2 + 0.3, wd / 2 - 0.3)
    pos[2] = np.clip(pos[2], 0.15, 0.9)
    turn = rng.uniform(3, 12) * rng.choice([-1, 1])
    cam = Camera(pos, c.yaw + math.radians(turn), c.pitch + math.radians(rng.uniform(-5, 5)),
                 c.roll + math.radians(rng.uniform(-2, 2)))
    return cam, float(np.linalg.norm(pos - c.pos)), abs(turn)


