"""Image intake, the display copy, and image pages: pages and API.

Serving a display copy is not audited per fetch (a list of thumbnails would flood the log);
the pages that show images are. There is no route that serves an original.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.audit.service import record
from app.auth.deps import Principal, SettingsDep, requires
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import Conflict, NotFound
from app.estate.models import Cell
from app.evidence import routes_reference
from app.evidence.forms import parse_time, per_file, read_files
from app.evidence.images import read_display
from app.evidence.intake import IntakeResult, SubmittedFile, submit_evidence
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.evidence.reference import cell_name
from app.evidence.views import evidence_facts, image_facts, thumb_size
from app.settings import Settings
from app.web import render

router = APIRouter()
router.include_router(routes_reference.router)

Submitter = Annotated[Principal, Depends(requires(P.evidence_submit))]
Reader = Annotated[Principal, Depends(requires(P.evidence_read))]
Files = Annotated[list[UploadFile] | None, File(description="JPEG, PNG or WebP images")]
# post_url / posted_at (ISO 8601; no offset means local time): one for all files, or one each
PerFile = Annotated[list[str] | None, Form(description="one for all files, or one per file")]

DISPLAY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def commit_or_conflict(db: Session) -> None:
    try:
        db.commit()
    except IntegrityError:  # the unique sha256 lost a race with a concurrent identical upload
        db.rollback()
        raise Conflict("Someone sent the same image at the same moment; send it again.") from None


async def submitted_files(request_files: Files, settings: Settings, post_urls: list[str] | None,
                     posted_ats: list[str] | None) -> list[SubmittedFile]:
    files = await read_files(request_files, settings.max_upload_bytes)
    urls = per_file(post_urls, len(files), "post_url")
    times = per_file(posted_ats, len(files), "posted_at")
    return [SubmittedFile(name, data, url, parse_time(when, "post time"))
            for (name, data), url, when in zip(files, urls, times, strict=True)]


def intake(db: Session, settings: Settings, who: Principal,
            files: list[SubmittedFile]) -> list[IntakeResult]:
    try:
        results = submit_evidence(db, settings, who.actor, files)
    except IntegrityError:  # raised at a flush inside the service
        db.rollback()
        raise Conflict("Someone sent the same image at the same moment; send it again.") from None
    commit_or_conflict(db)
    return results


def result_facts(result: IntakeResult, tz: str) -> dict[str, Any]:
    return {**image_facts(result.image, tz), **evidence_facts(result.evidence, tz),
            "created": result.created, "new_link": result.new_link,
            "thumb": thumb_size(result.image)}


def form_context(settings: Settings, **extra: Any) -> dict[str, Any]:
    return {"tz": settings.local_timezone, "max_mb": settings.max_upload_bytes // (1024 * 1024),
            "max_mp": f"{settings.max_image_pixels / 1e6:.3g}", **extra}


@router.get("/intake")
def intake_form(request: Request, settings: SettingsDep, who: Submitter) -> Response:
    return render(request, "evidence/intake.html", form_context(settings))


def _image(db: Session, image_id: int) -> Image:
    image = db.get(Image, image_id)
    if image is None:
        raise NotFound(f"There is no image {image_id}.")
    return image


@router.get("/images/{image_id}/display")
def image_display(image_id: int, db: SessionDep, settings: SettingsDep, who: Reader) -> Response:
    """The re-encoded, metadata-free JPEG; never the original."""
    data = read_display(settings, _image(db, image_id))
    return Response(data, media_type="image/jpeg", headers={
        **DISPLAY_HEADERS, "Content-Disposition": f'inline; filename="image-{image_id}.jpg"'})


def image_detail(db: Session, settings: Settings, who: Principal, image_id: int) -> dict[str, Any]:
    image = _image(db, image_id)
    tz = settings.local_timezone
    evidence = db.exec(select(EvidenceImage).where(EvidenceImage.image_id == image_id)
                       .order_by(col(EvidenceImage.submitted_at))).all()
    photos = db.exec(select(ReferencePhoto).where(ReferencePhoto.image_id == image_id)
                     .order_by(col(ReferencePhoto.added_at))).all()
    references = []
    for photo in photos:
        cell = db.get(Cell, photo.cell_id)
        references.append({"photo_id": photo.id, "cell_id": photo.cell_id,
                           "cell": cell_name(db, cell) if cell else str(photo.cell_id),
                           "source": photo.source, "removed": photo.removed_at is not None})
    record(db, who.actor, "evidence.image.viewed", object_type="image", object_ids=[image_id])
    db.commit()
    return {"image": image_facts(image, tz), "thumb": thumb_size(image, 800),
            "evidence": [evidence_facts(e, tz) for e in evidence], "references": references}


@router.get("/api/v1/images/{image_id}")
def image_api(image_id: int, db: SessionDep, settings: SettingsDep,
              who: Reader) -> dict[str, Any]:
    context = image_detail(db, settings, who, image_id)
    return {**context["image"], "evidence": context["evidence"],
            "references": context["references"]}
