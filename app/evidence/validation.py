"""Upload checks made before any full decode: size, magic bytes, header pixel count, frames.

Every refusal is an AppError whose message names the file and says what to do instead.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from app.errors import PayloadTooLarge, Unprocessable
from app.evidence.errors import UnsupportedImageType
from app.settings import Settings

# Pillow format name per accepted type; the stored `format` column uses the keys.
ACCEPTED = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}

# Signatures of things people send by mistake, for a message better than "not an image".
_OTHER = [
    (b"GIF87a", "a GIF image"), (b"GIF89a", "a GIF image"), (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"), (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
]


@dataclass(frozen=True)
class HeaderFacts:
    format: str  # jpeg | png | webp
    width: int
    height: int
    mode: str = "RGB"  # Pillow's mode: with the size, what decoding it takes (budget.py)


def clean_filename(name: str | None) -> str:
    """The client's file name, for display only: last path part, no control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:255] or "unnamed file"


def sniff(data: bytes) -> str | None:
    """The accepted format these bytes start with, or None. Names and content types lie."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _describe(data: bytes) -> str:
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
            return "a HEIC photo (iPhone format); export it as JPEG first"
        return "a video or MP4-family file"
    for magic, what in _OTHER:
        if data.startswith(magic):
            return what
    return "not an image" if data.strip() else "empty"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def check_upload(data: bytes, filename: str, settings: Settings) -> HeaderFacts:
    """Refuse anything but a single-frame JPEG/PNG/WebP within the byte and pixel caps."""
    if not data:
        raise Unprocessable(f"“{filename}” is empty.")
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"“{filename}” is {_mb(len(data))}; the limit is "
                              f"{_mb(settings.max_upload_bytes)} per image.")
    fmt = sniff(data)
    if fmt is None:
        raise UnsupportedImageType(f"“{filename}” is {_describe(data)}: only JPEG, PNG and "
                                   "WebP images are accepted (and videos: MP4, MOV, WebM, "
                                   "animated GIF or WebP).")
    width, height, frames, mode = _read_header(data, fmt, filename, settings)
    if width * height > settings.max_image_pixels:  # also when Pillow's check is switched off
        raise _too_many_pixels(filename, width * height, settings, f"{width}×{height} pixels, ")
    if frames != 1:
        raise Unprocessable(f"“{filename}” holds {frames} frames (an animation or a "
                            "multi-picture file); send a single still image, e.g. a "
                            "screenshot of the frame that matters.")
    return HeaderFacts(fmt, width, height, mode)


def _too_many_pixels(filename: str, pixels: int | None, settings: Settings,
                     dims: str = "") -> Unprocessable:
    size = f" ({dims}{pixels / 1e6:.3g} megapixels)" if pixels else ""
    return Unprocessable(f"“{filename}” is too large{size}; the limit is "
                         f"{settings.max_image_pixels / 1e6:.3g} megapixels.")


def _read_header(data: bytes, fmt: str, filename: str,
                 settings: Settings) -> tuple[int, int, int, str]:
    # Pillow's own bomb check (here and in any later decode) uses the same cap as ours.
    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    try:
        # catch_warnings is process-wide, not per thread: if a concurrent upload restores the
        # filters mid-check, the explicit pixel check in check_upload still refuses the file.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # open() is lazy: it parses the header only; formats= stops Pillow guessing
            with Image.open(io.BytesIO(data), formats=[ACCEPTED[fmt]]) as img:
                width, height = img.size
                frames = int(getattr(img, "n_frames", 1))
                mode = img.mode
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_many_pixels(filename, int(found.group(1)) if found else None,
                               settings) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise Unprocessable(f"“{filename}” is damaged or not a complete "
                            f"{fmt.upper()} image.") from None
    if width < 1 or height < 1:
        raise Unprocessable(f"“{filename}” has no pixels.")
    return width, height, frames, mode
