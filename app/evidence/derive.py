"""Decoding an upload, once: the display copy, the EXIF facts and the hashes and features all
come from one decoded picture.

The display copy is a fresh JPEG re-encoded from the pixels alone, so nothing hidden in the
original (EXIF with GPS, comments, XMP, ICC, trailing data, exploit payloads) is ever served.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import cv2
from PIL import Image, ImageOps

from app.errors import Unprocessable
from app.evidence.exif import ExifInfo, read_exif
from app.evidence.hashing import WORK_SIDE, ImageAnalysis, TooThin
from app.evidence.picture import analyse_picture
from app.evidence.validation import ACCEPTED

DISPLAY_QUALITY = 85


@dataclass(frozen=True)
class Decoded:
    display: bytes  # JPEG, long side <= display_long_side, no metadata
    exif: ExifInfo
    analysis: ImageAnalysis  # hashes (and features, if asked), from the same decoded picture


def decode(data: bytes, fmt: str, filename: str, *, long_side: int,
           local_timezone: str, features: bool = True) -> Decoded:
    """Decode once (catching truncated or corrupt data), apply the EXIF orientation once, and
    derive the display copy and the analysis from that one picture.

    `features=False` leaves the local features out (evidence intake: the second stage computes
    them with analyse_stored, which decodes exactly as this does).
    Call only after validation.check_upload: the pixel cap has been checked by then.
    """
    picture, exif, stored_size = _picture(data, fmt, filename, long_side, local_timezone)
    try:
        display = _display_jpeg(picture, long_side)
    except (OSError, ValueError):
        raise Unprocessable(f"“{filename}” is damaged or incomplete: it could not be "
                            "decoded.") from None
    return Decoded(display=display, exif=exif,
                   analysis=_analysis(picture, fmt, stored_size, filename, features))


def decode_picture(picture: Image.Image, filename: str, *, long_side: int,
                   features: bool = True) -> Decoded:
    """`decode` for pixels the caller already holds (a video frame: RGB from the video's own
    decode, no EXIF), so that the lossless file stored for them is not decoded back: the
    same display copy and hashes as `decode` of that file gives, and the local features a
    frame's second stage would compute from it (hashing.frame_features)."""
    try:
        display = _display_jpeg(picture, long_side)
    except (OSError, ValueError):
        raise Unprocessable(f"“{filename}” could not be re-encoded for display.") from None
    return Decoded(display=display, exif=ExifInfo(),
                   analysis=_analysis(picture, "png", picture.size, filename, features,
                                      frame=True))


def analyse_stored(data: bytes, *, long_side: int) -> ImageAnalysis:
    """The analysis intake stores for these bytes (the same decode as `decode`, with no display
    copy made), features included: what a second stage, a re-analysis and the accuracy
    benchmarks compute, so that their figures are intake's."""
    with Image.open(io.BytesIO(data)) as img:
        fmt = (img.format or "").lower()
    if fmt not in ACCEPTED:
        raise Unprocessable(f"not a JPEG, PNG or WebP picture ({fmt or 'unknown'})")
    picture, _, stored_size = _picture(data, fmt, "stored image", long_side, "UTC")
    return _analysis(picture, fmt, stored_size, "stored image", True)


def _picture(data: bytes, fmt: str, filename: str, long_side: int, local_timezone: str
             ) -> tuple[Image.Image, ExifInfo, tuple[int, int]]:
    """The decoded, EXIF-oriented picture, its EXIF facts and its stored size."""
    try:
        # not closed: closing destroys the pixels, so exif_transpose would have to copy them
        # (a bytes buffer holds no file; what the image keeps is freed with it)
        img = Image.open(io.BytesIO(data), formats=[ACCEPTED[fmt]])
        stored_size = img.size
        if fmt == "jpeg":
            # libjpeg decodes at 1/2..1/8 scale when the result is still as big as the
            # largest consumer needs (the display copy; the working image is smaller)
            scale = max(long_side, WORK_SIDE) / max(img.size)
            if scale < 1:
                img.draft(img.mode, (math.ceil(img.width * scale),
                                     math.ceil(img.height * scale)))
        img.load()  # raises on truncated or corrupt data (LOAD_TRUNCATED_IMAGES is off)
        exif = read_exif(img, local_timezone)  # after load: PNG may keep eXIf after IDAT
        ImageOps.exif_transpose(img, in_place=True)  # upright already: nothing is done
        return img, exif, stored_size
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise Unprocessable(f"“{filename}” is damaged or incomplete: it could not be "
                            "decoded.") from None


def _analysis(picture: Image.Image, fmt: str, stored_size: tuple[int, int], filename: str,
              features: bool, *, frame: bool = False) -> ImageAnalysis:
    try:
        return analyse_picture(picture, jpeg_size=stored_size if fmt == "jpeg" else None,
                               features=features, frame=frame)
    except ValueError:
        raise Unprocessable(f"“{filename}” could not be decoded for hashing.") from None
    except (TooThin, cv2.error):  # OpenCV refuses a picture a pixel thin (feature pyramid)
        raise Unprocessable(f"“{filename}” is {picture.width}×{picture.height} pixels: too "
                            "thin to compare with other pictures.") from None


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")  # 16-bit grey
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))  # what a viewer shows
        flat.alpha_composite(rgba)
        img = flat
    return img.convert("RGB")


def _display_jpeg(picture: Image.Image, long_side: int) -> bytes:
    """`picture` is already EXIF-oriented; it is left as it is (the analysis reads it too):
    _to_rgb always makes a new image, which thumbnail() then shrinks in place and whose
    .info (a copy) is emptied."""
    rgb = _to_rgb(picture)
    rgb.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    rgb.info = {}  # Pillow re-emits some metadata from .info (a JPEG comment)
    out = io.BytesIO()
    # no optimize pass: it halves the encoding time for files ~3% larger (bench: load)
    rgb.save(out, "JPEG", quality=DISPLAY_QUALITY)
    return out.getvalue()
