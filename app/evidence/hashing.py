"""Perceptual hashes and local features of an image: pure functions, no DB, no disk.

Everything works on one grayscale "working image" (long side WORK_SIDE px) decoded once with
Pillow's JPEG draft mode, so a 12-megapixel phone photo never decodes at full size.
Thresholds that use these values live in app/matching/thresholds.py (measured in bench/).
"""

from __future__ import annotations

import io
import struct
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

from app.evidence import cell_cap, scene_check
from app.evidence.borders import trim_borders
from app.evidence.nearest import ratio_pairs

WORK_SIDE = 512  # long side of the working image; ORB and hashes are measured at this size
# A portrait video frame's features are measured at this long side (its hashes keep WORK_SIDE):
# at 512 px it shows the room 1.3-1.8x larger than a landscape reference photo does. Calibration
# clips linked by their best frame (bench/video_matching.py): 51 at 512, 54 at 400/320, 33 at 256.
FRAME_PORTRAIT_SIDE = 400
MAX_FEATURES = 500  # ORB keypoints kept per image (36 bytes each)
MIRROR_FEATURES = 300  # ...plus this many of the mirrored image (front-camera selfies)
PREFILTER_KEYPOINTS = 64  # descriptors per image used to rank candidates (see DescriptorIndex)
# Version 2: contrast-equalised working image, and a mirrored set; 3: a thumbnail (scene_check);
# 4: more corners detected before the grid spread.
# A blob of an older version is stale: never misread, it scores 0 and never votes (recompute).
_FEATURES_VERSION = 4
FEATURES_VERSION = _FEATURES_VERSION  # what app/evidence/reanalysis.py brings stale blobs to
_STALE_VERSIONS = frozenset({1, 2, 3})
_THUMB_SIDES, _THUMB_BYTES = (scene_check.THUMB,) * 2, scene_check.THUMB ** 2
_COORD_SCALE = 16  # keypoint coordinates stored as uint16 in 1/16 px
_HEADER = struct.Struct("<BHHHH")  # version, keypoints, mirrored keypoints, width, height
_VERSION = struct.Struct("<B")

# keypoints are spread over the grid agreement is counted on, so overlays and stickers cannot
# take them all
_GRID = cell_cap.GRID
# FAST threshold 5 (was 10): more corners on dark, hazy and flat photos (real-photo bench).
# 4 x MAX_FEATURES detected (was 3 x, features v3): the strong corners of a caption no longer
# crowd out the scene's weaker ones before they are spread over the grid (real-photo bench).
# Local contrast equalisation before ORB: dark, hazy or flat photos (fog, night, a filter that
# lifts the blacks) otherwise give too few keypoints to verify (bench: matching_accuracy_real).
# One detector and one equaliser per thread: OpenCV's objects keep working buffers, and two
# decode threads sharing them got each other's results (tests/evidence/test_features_threads).
_PER_THREAD = threading.local()


def _detectors() -> tuple[Any, Any]:
    """This thread's (ORB detector, contrast equaliser)."""
    made = getattr(_PER_THREAD, "made", None)
    if made is None:
        made = _PER_THREAD.made = (
            cv2.ORB_create(nfeatures=4 * MAX_FEATURES, scaleFactor=1.2, nlevels=8,
                           fastThreshold=5),
            cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)))
    return made


class TooThin(Exception):
    """A picture a pixel thin: nothing to compare (OpenCV's contrast equalisation and feature
    pyramid refuse it)."""


def check_comparable(gray: np.ndarray) -> None:
    """Raise TooThin for a working image that local features cannot be computed from; intake
    calls it even when the features themselves are left to the second stage."""
    if min(gray.shape[:2]) < 2:
        raise TooThin(f"{gray.shape[1]}x{gray.shape[0]} px")


@dataclass(frozen=True, slots=True)
class ImageHashes:
    """Global 64-bit hashes as signed int64 (database-friendly), plus the oriented size."""

    phash: int
    phash_mirror: int  # phash of the left-right mirrored image (front-camera selfies)
    phash_trim: int  # phash after trimming app bars / uniform borders (screenshots)
    dhash: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ImageAnalysis:
    hashes: ImageHashes
    features: bytes | None  # None: left to the second matching stage (see analyse_picture)


def to_signed(value: int) -> int:
    """Unsigned 64-bit -> signed int64 (same bits)."""
    if not 0 <= value < 1 << 64:
        raise ValueError("not an unsigned 64-bit value")
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    """Signed int64 -> unsigned 64-bit (same bits)."""
    if not -(1 << 63) <= value < 1 << 63:
        raise ValueError("not a signed 64-bit value")
    return value + (1 << 64) if value < 0 else value


def hamming(a: int, b: int) -> int:
    """Bit distance of two 64-bit hashes, signed or unsigned."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def _bits_to_int(bits: np.ndarray) -> int:
    # Row-major, first bit most significant: the same order as str(imagehash.ImageHash).
    return to_signed(int.from_bytes(np.packbits(bits.ravel()).tobytes(), "big"))


def load_working_image(data: bytes, side: int = WORK_SIDE) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode, apply EXIF orientation -> (grayscale uint8, long side <= `side`; full size)."""
    try:
        img = Image.open(io.BytesIO(data))
        full = img.size
        # draft() lets libjpeg decode at 1/2, 1/4 or 1/8 scale directly in grayscale; ask for a
        # size a bit under `side` so 4032x3024 decodes at 1/8 (504 px) rather than 1/4.
        scale = (side * 15 // 16) / max(full)
        if scale < 1:
            img.draft("L", (max(1, int(full[0] * scale)), max(1, int(full[1] * scale))))
        img = ImageOps.exif_transpose(img)
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            # Transparent areas become white (what a viewer shows), not black.
            rgba = img.convert("RGBA")
            img = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img.alpha_composite(rgba)
        gray = np.asarray(img.convert("L"))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a decodable image: {exc}") from exc
    if (full[0] > full[1]) != (gray.shape[1] > gray.shape[0]):
        full = (full[1], full[0])  # EXIF rotated by 90 degrees
    return fit_to(gray, side), full


def fit_to(gray: np.ndarray, side: int) -> np.ndarray:
    """`gray` shrunk (never enlarged) so that its long side is at most `side`."""
    h, w = gray.shape
    if max(h, w) > side:
        f = side / max(h, w)
        size = (max(1, round(w * f)), max(1, round(h * f)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray)


def _content(data: bytes, gray: np.ndarray) -> np.ndarray:
    """The photo without screenshot bars/borders, re-decoded sharper if it was a small part."""
    top, bottom, left, right = trim_borders(gray)
    h, w = gray.shape
    if (bottom - top) * (right - left) >= 0.7 * h * w:
        return gray[top:bottom, left:right]
    need = min(4 * WORK_SIDE, int(WORK_SIDE * max(h, w) / max(bottom - top, right - left)) + 1)
    big, _ = load_working_image(data, need)
    f = big.shape[0] / h
    crop = big[round(top * f) : round(bottom * f), round(left * f) : round(right * f)]
    return fit_to(crop, WORK_SIDE)


def _phash_bits(small32: np.ndarray) -> np.ndarray:
    # Classic pHash (as imagehash.phash): 32x32 DCT, 8x8 lowest frequencies vs their median.
    low = cv2.dct(small32)[:8, :8]
    return low > np.median(low)


def _hash_pair(gray: np.ndarray) -> tuple[int, int]:
    small = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    mirrored = np.ascontiguousarray(small[:, ::-1])
    return _bits_to_int(_phash_bits(small)), _bits_to_int(_phash_bits(mirrored))


def hashes_from_gray(gray: np.ndarray, content: np.ndarray, full: tuple[int, int]) -> ImageHashes:
    phash, phash_mirror = _hash_pair(gray)
    d9 = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    return ImageHashes(
        phash=phash,
        phash_mirror=phash_mirror,
        phash_trim=_hash_pair(content)[0],
        dhash=_bits_to_int(d9[:, 1:] > d9[:, :-1]),
        width=full[0],
        height=full[1],
    )


def _spread(keypoints: tuple, width: int, height: int, keep: int) -> list:
    """Up to `keep` keypoints, spread over an 8x8 grid and ordered so that any prefix
    is spread too: every cell's strongest first, then every cell's second..., then the rest."""
    resp = np.array([kp.response for kp in keypoints], dtype=np.float32)
    xy = np.array([kp.pt for kp in keypoints], dtype=np.float32)
    cell = (np.minimum(xy[:, 1] * _GRID // height, _GRID - 1) * _GRID
            + np.minimum(xy[:, 0] * _GRID // width, _GRID - 1)).astype(np.int64)
    order = np.lexsort((-resp, cell))  # by cell, strongest first
    first = np.searchsorted(cell[order], cell[order], side="left")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - first
    tier = np.minimum(rank, keep // (_GRID * _GRID))
    chosen = np.lexsort((-resp, tier))[:keep]
    return [keypoints[i] for i in chosen]


def _orb(gray: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    orb = _detectors()[0]
    keypoints = orb.detect(gray, None)
    desc = None
    if keypoints:
        keypoints, desc = orb.compute(gray, _spread(keypoints, gray.shape[1], gray.shape[0],
                                                     keep))
    if desc is None or not keypoints:
        return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
    return np.array([kp.pt for kp in keypoints], dtype=np.float32), desc


def features_from_gray(gray: np.ndarray) -> bytes:
    """ORB keypoints (x, y) and 32-byte descriptors of the contrast-equalised image, then of
    its mirror image, then a thumbnail of the image, serialised compactly."""
    check_comparable(gray)
    eq = _detectors()[1].apply(np.ascontiguousarray(gray))
    xy, desc = _orb(eq, MAX_FEATURES)
    mxy, mdesc = _orb(np.ascontiguousarray(eq[:, ::-1]), MIRROR_FEATURES)
    return pack_features(xy, desc, mxy, mdesc, (gray.shape[1], gray.shape[0]),
                         scene_check.thumbnail(gray))


def pack_features(xy: np.ndarray, desc: np.ndarray, mxy: np.ndarray, mdesc: np.ndarray,
                  size: tuple[int, int], thumbnail: bytes) -> bytes:
    """The stored blob (benches write synthetic libraries with it too)."""
    at = [np.clip(np.rint(p * _COORD_SCALE), 0, 65535).astype("<u2").tobytes() for p in (xy, mxy)]
    return (_HEADER.pack(_FEATURES_VERSION, len(desc), len(mdesc), *size) + at[0]
            + desc.tobytes() + at[1] + mdesc.tobytes() + thumbnail)


def is_stale(blob: bytes) -> bool:
    """A blob written by an older version of this module (to recompute, never to misread)."""
    return len(blob) >= 1 and _VERSION.unpack_from(blob)[0] in _STALE_VERSIONS


def unpack_features(blob: bytes, mirrored: bool = False
                    ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """-> (float32 N x 2 keypoint coordinates, uint8 N x 32 descriptors, (width, height)),
    of the image or (`mirrored`) of its mirror image."""
    if len(blob) < _HEADER.size:
        raise ValueError("unknown or corrupt feature blob")
    version, n, m, width, height = _HEADER.unpack_from(blob)
    if version != _FEATURES_VERSION or len(blob) != _HEADER.size + (n + m) * 36 + _THUMB_BYTES:
        raise ValueError("unknown or corrupt feature blob")
    start = _HEADER.size + (n * 36 if mirrored else 0)
    count = m if mirrored else n
    coords = np.frombuffer(blob, dtype="<u2", count=2 * count, offset=start).reshape(count, 2)
    desc = np.frombuffer(blob, dtype=np.uint8, count=32 * count,
                         offset=start + 4 * count).reshape(count, 32)
    return coords.astype(np.float32) / _COORD_SCALE, desc, (width, height)


def unpack_thumbnail(blob: bytes, mirrored: bool = False) -> np.ndarray:
    """The blob's THUMB x THUMB grey thumbnail (uint8), of its mirror image if `mirrored`."""
    unpack_features(blob)  # the same checks
    thumb = np.frombuffer(blob, np.uint8, offset=len(blob) - _THUMB_BYTES).reshape(_THUMB_SIDES)
    return thumb[:, ::-1] if mirrored else thumb


def prefilter_descriptors(blob: bytes, n: int = PREFILTER_KEYPOINTS,
                          mirrored: bool = False) -> np.ndarray:
    """The first `n` descriptors (n x 32 uint8; the strongest keypoint of each grid cell),
    zero-padded: a cheap signature for ranking candidates before full verification.
    A stale blob gives only padding (it never votes)."""
    out = np.zeros((n, 32), dtype=np.uint8)
    if is_stale(blob):
        return out
    _, desc, _ = unpack_features(blob, mirrored)
    out[: min(n, len(desc))] = desc[:n]
    return out


_ROBUST = cv2.USAC_DEFAULT  # deterministic seed; ~100x faster than cv2.RANSAC on unrelated pairs


def _inliers(pa: np.ndarray, da: np.ndarray, pb: np.ndarray, db: np.ndarray, ratio: float,
             reproj_px: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The keypoints of a and of b that the homography agrees on, pairwise; None: too few."""
    if len(da) < 8 or len(db) < 8:
        return None
    mine, theirs = ratio_pairs(da, db, ratio)
    if len(mine) < 8:
        return None
    src, dst = pa[mine], pb[theirs]
    _, mask = cv2.findHomography(src, dst, _ROBUST, reproj_px, maxIters=2000)
    if mask is None or mask.sum() < 4:
        return None
    keep = mask.ravel().astype(bool)
    return src[keep], dst[keep]


def _side(a: bytes, b: bytes, mirrored: bool, ratio: float, reproj_px: float) -> tuple[int, tuple]:
    """Score of `a` (or its mirror image) against `b`, and (a's inliers, b's, a's size, b's
    size) or (): the inliers capped per grid cell (app/evidence/cell_cap.py); 0 when they
    sit in a band the rest of the picture contradicts (scene_check: a shared caption)."""
    pa, da, size_a = unpack_features(a, mirrored=mirrored)
    pb, db, size_b = unpack_features(b)
    found = _inliers(pa, da, pb, db, ratio, reproj_px)
    if found is None:
        return 0, ()
    score = cell_cap.score(*found, size_a, size_b)
    if score and not scene_check.confirmed(unpack_thumbnail(a, mirrored), unpack_thumbnail(b),
                                           *found, size_a, size_b):
        score = 0
    return score, (*found, size_a, size_b)


def verify_features(a: bytes, b: bytes, ratio: float = 0.8, reproj_px: float = 4.0, *,
                    mirrored: bool = True) -> int:
    """Geometric verification score of two feature blobs (0 = unrelated).

    ORB matches passing the ratio test, RANSAC homography inliers, then counted at most 3
    per cell of an 8x8 grid, on each whole picture or on the part of it the other shows
    where that counts more (the smaller of the two pictures' counts: app/evidence/cell_cap.py),
    so the score measures how much of the picture agrees rather than how textured one object
    is; 0 when only a band agrees and the rest of the picture does not (see `_side`). `a`'s mirror
    image is compared with `b` too (a front-camera selfie; `mirrored=False`: not), and the
    better score counts.
    A stale blob (older version) scores 0.
    """
    if is_stale(a) or is_stale(b):
        return 0
    score, _ = _side(a, b, False, ratio, reproj_px)
    if not mirrored:
        return score
    return max(score, _side(a, b, True, ratio, reproj_px)[0])


def analyse_image(data: bytes) -> ImageAnalysis:
    """Decode once (twice for screenshots); hashes and features (what intake should call)."""
    gray, full = load_working_image(data)
    content = _content(data, gray)
    return ImageAnalysis(hashes_from_gray(gray, content, full), features_from_gray(content))


def compute_hashes(data: bytes) -> ImageHashes:
    gray, full = load_working_image(data)
    return hashes_from_gray(gray, _content(data, gray), full)


def compute_features(data: bytes) -> bytes:
    gray, _ = load_working_image(data)
    return features_from_gray(_content(data, gray))


def frame_features(data: bytes) -> bytes:
    """A video frame's local features: as compute_features, but a portrait frame's picture is
    first brought to FRAME_PORTRAIT_SIDE (the reference photos' scale, see there)."""
    gray, _ = load_working_image(data)
    content = _content(data, gray)
    if content.shape[0] > content.shape[1]:
        content = fit_to(content, FRAME_PORTRAIT_SIDE)
    return features_from_gray(content)
