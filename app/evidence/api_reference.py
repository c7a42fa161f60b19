"""Reference photos of a cell through the API: list, upload (supervisors), remove."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import JSONResponse

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import EstateReader, Librarian
from app.db import SessionDep
from app.evidence.deps import CellDep
from app.evidence.forms import SomeFiles, read_files
from app.evidence.models import Image
from app.evidence.presenters import cell_photos, photo_facts
from app.evidence.reference import add_reference_photos, remove_reference_photo
from app.evidence.schemas import CellPhotos, PhotoRemoved, PhotosAdded
from app.web.dates import day_start, parse_date

router = APIRouter()


@router.get("/api/v1/cells/{cell_id}/photos", response_model=CellPhotos)
def cell_photos_api(who: EstateReader, cell: CellDep, db: SessionDep,
                    settings: SettingsDep) -> dict[str, Any]:
    listing = cell_photos(db, cell, settings.local_timezone)
    record(db, who.actor, "library.photos.viewed", object_type="reference_photo",
           object_ids=[p["photo_id"] or 0 for p in listing["photos"]],
           details={"cell_id": cell.id})
    return listing


@router.post("/api/v1/cells/{cell_id}/photos", status_code=201, response_model=PhotosAdded,
             responses={200: {"model": PhotosAdded,
                              "description": "every file was already in the library"}})
def cell_photos_upload_api(
    who: Librarian, cell: CellDep, db: SessionDep, settings: SettingsDep, files: SomeFiles,
    taken_on: Annotated[str, Form(max_length=10, description="YYYY-MM-DD")] = "",
) -> JSONResponse:
    """All or nothing: a refused file refuses the lot (409/413/415/422 naming each file)."""
    uploads = read_files(files, settings.max_upload_bytes)
    day = parse_date(taken_on, "date taken")
    tz = settings.local_timezone
    photos, dupes = add_reference_photos(db, settings, who.actor, cell_id=cell.id or 0,
                                         files=uploads,
                                         taken_on=day_start(day, tz) if day else None)
    body = {"photos": [photo_facts(p, db.get_one(Image, p.image_id), tz) for p in photos],
            "already_in_library": dupes}
    return JSONResponse(body, status_code=201 if dupes < len(photos) else 200)


@router.delete("/api/v1/cells/{cell_id}/photos/{photo_id}", response_model=PhotoRemoved)
def cell_photo_remove_api(who: Librarian, cell_id: int, photo_id: int, db: SessionDep,
                          settings: SettingsDep, reason: str = "") -> dict[str, Any]:
    """The photo is looked up with its cell: a photo of another cell is a 404 too."""
    photo = remove_reference_photo(db, settings, who.actor, photo_id=photo_id, cell_id=cell_id,
                                   reason=reason[:255])
    return {"photo_id": photo.id, "removed_at": photo.removed_at.isoformat()
            if photo.removed_at else None}
