"""Test images made in code: every accepted and refused kind, with and without EXIF."""

from __future__ import annotations

import io
import random

from PIL import ExifTags, Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

JPEG_MAGIC, PNG_MAGIC, RIFF_MAGIC = b"\xff\xd8\xff", b"\x89PNG", b"RIFF"


def picture(seed: int = 1, size: tuple[int, int] = (640, 480), mode: str = "RGB") -> Image.Image:
    """A busy, distinct picture per seed (hashing and ORB need structure)."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    w, h = size
    for _ in range(60):
        x, y = rng.randrange(w), rng.randrange(h)
        box = (x, y, x + rng.randrange(8, max(9, w // 4)), y + rng.randrange(8, max(9, h // 4)))
        draw.rectangle(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    return img.convert(mode)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    d = int(value)
    m = int((value - d) * 60)
    s = round(((value - d) * 60 - m) * 60 * 1000)
    return IFDRational(d, 1), IFDRational(m, 1), IFDRational(s, 1000)


def exif_block(*, when: str = "2025:06:01 21:15:30", offset: str | None = "+01:00",
               lat: float | None = 53.4084, lon: float | None = -2.9916,
               make: str = "Apple", model: str = "iPhone 12",
               orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = make, model
    if orientation:
        exif[0x0112] = orientation
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[0x9003] = when
    if offset:
        sub[0x9011] = offset
    if lat is not None and lon is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(abs(lon))
    return exif


def jpeg_with_exif(seed: int = 1, size: tuple[int, int] = (2400, 1800), **exif: object) -> bytes:
    return encode(picture(seed, size), "JPEG", quality=90, exif=exif_block(**exif),  # type: ignore[arg-type]
                  comment=b"secret comment")


def jpeg(seed: int = 2, size: tuple[int, int] = (640, 480)) -> bytes:
    return encode(picture(seed, size), "JPEG", quality=85)


def png(seed: int = 3, size: tuple[int, int] = (500, 400)) -> bytes:
    return encode(picture(seed, size, "RGBA"), "PNG")


def webp(seed: int = 4, size: tuple[int, int] = (600, 400)) -> bytes:
    return encode(picture(seed, size), "WEBP", quality=80)


def animated_webp() -> bytes:
    frames = [picture(s, (64, 64)) for s in (10, 11)]
    return encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)


def apng() -> bytes:
    frames = [picture(s, (64, 64)) for s in (12, 13)]
    return encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)


def mpo() -> bytes:
    frames = [picture(s, (64, 64)) for s in (14, 15)]
    return encode(frames[0], "MPO", save_all=True, append_images=frames[1:])


def gif() -> bytes:
    return encode(picture(16, (64, 64)).convert("P"), "GIF")


def text_as_jpg() -> bytes:
    return b"This is a plain text file that someone renamed to photo.jpg\n"


def truncated_jpeg() -> bytes:
    data = jpeg(17, (800, 600))
    return data[: len(data) // 2]


def huge_png(size: tuple[int, int] = (10_000, 10_000)) -> bytes:
    """100 megapixels in ~12 KB: a 1-bit blank PNG compresses to almost nothing."""
    return encode(Image.new("1", size), "PNG")
