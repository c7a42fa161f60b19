"""Capture time, GPS position and device from EXIF: read once at intake, never served."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from PIL import ExifTags, Image

_IFD0_MAKE, _IFD0_MODEL = 0x010F, 0x0110
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_OFFSET_ORIGINAL, _OFFSET_DIGITIZED = 0x9011, 0x9012
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4


@dataclass(frozen=True)
class ExifInfo:
    taken_at: datetime | None = None  # aware, UTC
    gps_lat: float | None = None
    gps_lon: float | None = None
    device: str = ""


def read_exif(img: Image.Image, local_timezone: str) -> ExifInfo:
    """Best effort: a missing or malformed field is simply absent, never an error."""
    try:
        exif = img.getexif()
    except (OSError, SyntaxError, ValueError, TypeError):
        return ExifInfo()
    if not exif:
        return ExifInfo()
    sub = _ifd(exif, ExifTags.IFD.Exif)
    gps = _ifd(exif, ExifTags.IFD.GPSInfo)
    lat, lon = _position(gps)
    return ExifInfo(taken_at=_taken_at(sub, local_timezone), gps_lat=lat, gps_lon=lon,
                    device=_device(exif))


def _ifd(exif: Image.Exif, which: ExifTags.IFD) -> dict[int, object]:
    try:
        return dict(exif.get_ifd(which))
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):
        return {}


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).replace("\x00", "").strip() if value is not None else ""


def _taken_at(sub: dict[int, object], local_timezone: str) -> datetime | None:
    for stamp_tag, offset_tag in ((_DATETIME_ORIGINAL, _OFFSET_ORIGINAL),
                                  (_DATETIME_DIGITIZED, _OFFSET_DIGITIZED)):
        try:
            naive = datetime.strptime(_text(sub.get(stamp_tag))[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue  # absent, "0000:00:00 00:00:00" or garbage
        zone = _offset(_text(sub.get(offset_tag))) or ZoneInfo(local_timezone)
        return naive.replace(tzinfo=zone).astimezone(UTC)
    return None


def _offset(text: str) -> timezone | None:
    # "+01:00" / "-05:30"; anything else means "not recorded"
    if len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        minutes = int(text[1:3]) * 60 + int(text[4:6])
    except ValueError:
        return None
    if minutes > 14 * 60:
        return None
    return timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))


def _degrees(value: object) -> float | None:
    try:
        d, m, s = (float(part) for part in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    return result if math.isfinite(result) else None


def _position(gps: dict[int, object]) -> tuple[float | None, float | None]:
    lat, lon = _degrees(gps.get(_GPS_LAT)), _degrees(gps.get(_GPS_LON))
    if lat is None or lon is None:
        return None, None
    if _text(gps.get(_GPS_LAT_REF)).upper() == "S":
        lat = -lat
    if _text(gps.get(_GPS_LON_REF)).upper() == "W":
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return round(lat, 7), round(lon, 7)


def _device(exif: Image.Exif) -> str:
    make, model = _text(exif.get(_IFD0_MAKE)), _text(exif.get(_IFD0_MODEL))
    if make and model.lower().startswith(make.lower()):
        make = ""  # "Canon" + "Canon EOS 5D" reads better once
    return " ".join(part for part in (make, model) if part)[:128]
