"""The display copy: a fresh JPEG re-encoded from the pixels alone, so nothing hidden in the
original (EXIF with GPS, comments, XMP, ICC, trailing data, exploit payloads) is ever served."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image, ImageOps

from app.errors import Unprocessable
from app.evidence.exif import ExifInfo, read_exif
from app.evidence.validation import ACCEPTED

DISPLAY_QUALITY = 85


@dataclass(frozen=True)
class Decoded:
    display: bytes  # JPEG, long side <= display_long_side, no metadata
    exif: ExifInfo


def decode(data: bytes, fmt: str, filename: str, *, long_side: int,
           local_timezone: str) -> Decoded:
    """Fully decode (catching truncated or corrupt data) and derive the display copy.

    Call only after validation.check_upload: the pixel cap has been checked by then.
    """
    try:
        with Image.open(io.BytesIO(data), formats=[ACCEPTED[fmt]]) as img:
            if fmt == "jpeg":
                # let libjpeg decode at 1/2..1/8 scale when the result is still big enough
                scale = long_side / max(img.size)
                if scale < 1:
                    img.draft(img.mode, (math.ceil(img.width * scale),
                                         math.ceil(img.height * scale)))
            img.load()  # raises on truncated or corrupt data (LOAD_TRUNCATED_IMAGES is off)
            exif = read_exif(img, local_timezone)  # after load: PNG may keep eXIf after IDAT
            display = _display_jpeg(img, long_side)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise Unprocessable(f"“{filename}” is damaged or incomplete: it could not be "
                            "decoded.") from None
    return Decoded(display=display, exif=exif)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")  # 16-bit grey
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))  # what a viewer shows
        flat.alpha_composite(rgba)
        img = flat
    return img.convert("RGB")


def _display_jpeg(img: Image.Image, long_side: int) -> bytes:
    oriented = ImageOps.exif_transpose(img) or img
    rgb = _to_rgb(oriented)
    rgb.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    clean = Image.new("RGB", rgb.size)  # empty .info: Pillow re-emits some metadata from it
    clean.paste(rgb)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=DISPLAY_QUALITY, optimize=True)
    return out.getvalue()
