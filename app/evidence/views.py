"""How stored images are described to people and API clients (no DB, no disk)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.evidence.models import EvidenceImage, Image

THUMB_WIDTH = 240


def local_time(value: datetime | None, tz: str) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MB"


def thumb_size(image: Image, width: int = THUMB_WIDTH) -> tuple[int, int]:
    """width/height attributes for <img>, so lists do not jump as thumbnails arrive."""
    w = min(width, image.width)
    return w, max(1, round(image.height * w / max(1, image.width)))


def image_facts(image: Image, tz: str) -> dict[str, Any]:
    """Everything a page or the API shows about one image."""
    gps = (None if image.exif_gps_lat is None or image.exif_gps_lon is None
           else {"lat": image.exif_gps_lat, "lon": image.exif_gps_lon})
    return {
        "image_id": image.id,
        "sha256": image.sha256,
        "format": image.format,
        "byte_size": image.byte_size,
        "size": human_size(image.byte_size),
        "width": image.width,
        "height": image.height,
        "taken_at": image.exif_taken_at.isoformat() if image.exif_taken_at else None,
        "taken_at_local": local_time(image.exif_taken_at, tz),
        "gps": gps,
        "device": image.exif_device or None,
        "held_since": image.created_at.isoformat(),
        "held_since_local": local_time(image.created_at, tz),
        "display_url": f"/images/{image.id}/display",
        "detail_url": f"/images/{image.id}",
        "erased": image.erased_at is not None,
    }


def evidence_facts(evidence: EvidenceImage, tz: str) -> dict[str, Any]:
    return {
        "evidence_id": evidence.id,
        "original_filename": evidence.original_filename,
        "post_url": evidence.post_url or None,
        "posted_at": evidence.posted_at.isoformat() if evidence.posted_at else None,
        "posted_at_local": local_time(evidence.posted_at, tz),
        "submitted_at": evidence.submitted_at.isoformat(),
    }
