"""Hashes and features of a picture intake has already decoded (app/evidence/derive.py).

Kept apart from app/evidence/hashing.py on purpose: the same steps (working image, border
trimming, hashes, features) on a decoded, EXIF-oriented picture instead of encoded bytes.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from app.evidence.borders import trim_borders
from app.evidence.hashing import (
    FRAME_PORTRAIT_SIDE,
    WORK_SIDE,
    ImageAnalysis,
    check_comparable,
    features_from_gray,
    fit_to,
    hashes_from_gray,
)


def analyse_picture(img: Image.Image, *, jpeg_size: tuple[int, int] | None = None,
                    features: bool = True, frame: bool = False) -> ImageAnalysis:
    """analyse_image for a picture already decoded and EXIF-oriented: no decode here, not
    even a second one for a screenshot's trimmed photo (it is cropped from `img`).

    `jpeg_size`: the stored (un-rotated) size of the JPEG `img` was decoded from, perhaps at a
    reduced draft scale. Each working image is then first reduced to the size analyse_image's
    own draft decode gives, so that both agree to rounding (same sizes, hashes within a bit or
    two, the same keypoints bar a few).

    `features=False`: hashes only (an evidence upload: its features are computed by its second
    stage in a match worker, from the sealed original, by this same function).

    `frame=True`: a video frame, whose features are measured as hashing.frame_features
    measures them (a portrait frame at the reference photos' scale); its hashes as a photo's."""
    big = _picture_gray(img)
    full = jpeg_size or (img.width, img.height)
    if (full[0] > full[1]) != (big.shape[1] > big.shape[0]):
        full = (full[1], full[0])  # EXIF rotated by 90 degrees
    gray = _picture_working(big, full, WORK_SIDE, jpeg_size is not None)
    top, bottom, left, right = trim_borders(gray)
    h, w = gray.shape
    if (bottom - top) * (right - left) >= 0.7 * h * w:
        content = gray[top:bottom, left:right]
    else:  # as _content, from the decoded picture instead of a second decode
        need = min(4 * WORK_SIDE, int(WORK_SIDE * max(h, w) / max(bottom - top, right - left))
                   + 1)
        sharp = _picture_working(big, full, need, jpeg_size is not None)
        f = sharp.shape[0] / h
        crop = sharp[round(top * f) : round(bottom * f), round(left * f) : round(right * f)]
        content = fit_to(crop, WORK_SIDE)
    check_comparable(content)
    scene = content
    if frame and content.shape[0] > content.shape[1]:
        scene = fit_to(content, FRAME_PORTRAIT_SIDE)
    return ImageAnalysis(hashes_from_gray(gray, content, full),
                         features_from_gray(scene) if features else None)


def _picture_gray(img: Image.Image) -> np.ndarray:
    """Grayscale as load_working_image makes it: transparent areas white, not black."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img.alpha_composite(rgba)
    return np.asarray(img.convert("L"))


def _picture_working(big: np.ndarray, full: tuple[int, int], side: int,
                     jpeg: bool) -> np.ndarray:
    """load_working_image(data, side) from the decoded picture: a JPEG is first reduced to the
    size libjpeg's draft decode would have given (never enlarged), then fitted to `side`."""
    if jpeg:
        w, h = _draft_size(full, side)
        if w < big.shape[1] and h < big.shape[0]:
            big = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    return fit_to(big, side)


def _draft_size(full: tuple[int, int], side: int) -> tuple[int, int]:
    """The size Pillow's JpegImageFile.draft picks for load_working_image's request: the
    smallest of 1/1, 1/2, 1/4, 1/8 of the full size no smaller than the size asked for."""
    scale = (side * 15 // 16) / max(full)
    if scale >= 1:
        return full
    asked = (max(1, int(full[0] * scale)), max(1, int(full[1] * scale)))
    fits = min(full[0] // asked[0], full[1] // asked[1])
    s = next(s for s in (8, 4, 2, 1) if fits >= s)
    return (full[0] + s - 1) // s, (full[1] + s - 1) // s
