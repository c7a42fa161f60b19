"""How stored images, their evidence and the cell library are described to people and API
clients (reads only: no disk, no writes)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.estate.models import Cell
from app.evidence.intake import IntakeResult
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.evidence.reference import active_photos, cell_name
from app.evidence.withdrawal import withdrawal_of
from app.settings import Settings
from app.web.dates import local_day, local_time

THUMB_WIDTH = 240


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


def result_facts(result: IntakeResult, tz: str) -> dict[str, Any]:
    """One image of an intake: what it is, where it came from, whether it was new."""
    return {**image_facts(result.image, tz), **evidence_facts(result.evidence, tz),
            "created": result.created, "new_link": result.new_link,
            "thumb": thumb_size(result.image)}


def intake_page(settings: Settings, **extra: Any) -> dict[str, Any]:
    """The intake form's limits, as the person will read them."""
    return {"tz": settings.local_timezone, "max_mb": settings.max_upload_bytes // (1024 * 1024),
            "max_mp": f"{settings.max_image_pixels / 1e6:.3g}", **extra}


def image_detail(session: Session, image: Image, tz: str) -> dict[str, Any]:
    """An image with every post it was captured from and every cell library it is in."""
    evidence = session.exec(select(EvidenceImage).where(EvidenceImage.image_id == image.id)
                            .order_by(col(EvidenceImage.submitted_at))).all()
    photos = session.exec(select(ReferencePhoto).where(ReferencePhoto.image_id == image.id)
                          .order_by(col(ReferencePhoto.added_at))).all()
    references = []
    for photo in photos:
        cell = session.get(Cell, photo.cell_id)
        references.append({"photo_id": photo.id, "cell_id": photo.cell_id,
                           "cell": cell_name(session, cell) if cell else str(photo.cell_id),
                           "source": photo.source, "removed": photo.removed_at is not None})
    withdrawn = withdrawal_of(session, image, tz)
    return {"image": image_facts(image, tz), "thumb": thumb_size(image, 800),
            "evidence": [evidence_facts(e, tz) for e in evidence], "references": references,
            "withdrawal": withdrawn}


def photo_facts(photo: ReferencePhoto, image: Image, tz: str) -> dict[str, Any]:
    """One reference photo of a cell's library."""
    return {**image_facts(image, tz), "photo_id": photo.id, "source": photo.source,
            "taken_on": photo.taken_on.isoformat() if photo.taken_on else None,
            "taken_on_local": local_day(photo.taken_on, tz),
            "added_at": photo.added_at.isoformat(), "thumb": thumb_size(image)}


def cell_photos(session: Session, cell: Cell, tz: str) -> dict[str, Any]:
    """A cell's library as its page and the API show it."""
    return {"cell_id": cell.id, "cell": cell_name(session, cell),
            "photos": [photo_facts(p, i, tz) for p, i in active_photos(session, cell.id or 0)]}
