"""Reference photos of a cell: the page, upload and removal (supervisors), and the API."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.audit.service import record
from app.auth import sessions
from app.auth.deps import Principal, SettingsDep, requires
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import AppError, Unprocessable
from app.evidence.errors import FileProblem, UploadRefused
from app.evidence.forms import parse_day, read_files
from app.evidence.models import Image, ReferencePhoto
from app.evidence.reference import (
    active_photos,
    add_reference_photo,
    cell_name,
    find_reference,
    get_cell,
    remove_reference_photo,
)
from app.evidence.views import image_facts, local_time, thumb_size
from app.settings import Settings
from app.web import render

router = APIRouter()
EstateReader = Annotated[Principal, Depends(requires(P.estate_read))]
Librarian = Annotated[Principal, Depends(requires(P.library_edit))]
Files = Annotated[list[UploadFile] | None, File(description="JPEG, PNG or WebP photos")]


def _photo_facts(photo: ReferencePhoto, image: Image, tz: str) -> dict[str, Any]:
    return {**image_facts(image, tz), "photo_id": photo.id, "source": photo.source,
            "taken_on": photo.taken_on.isoformat() if photo.taken_on else None,
            "taken_on_local": local_time(photo.taken_on, tz)[:10],
            "added_at": photo.added_at.isoformat(), "thumb": thumb_size(image)}


def _image_of(db: Session, photo: ReferencePhoto) -> Image:
    image = db.get(Image, photo.image_id)
    assert image is not None  # a foreign key
    return image


def _listing(db: Session, settings: Settings, who: Principal, cell_id: int) -> dict[str, Any]:
    cell = get_cell(db, cell_id)
    photos = active_photos(db, cell_id)
    record(db, who.actor, "library.photos.viewed", object_type="reference_photo",
           object_ids=[p.id or 0 for p, _ in photos], details={"cell_id": cell_id})
    db.commit()
    tz = settings.local_timezone
    return {"cell_id": cell_id, "cell": cell_name(db, cell),
            "photos": [_photo_facts(p, i, tz) for p, i in photos]}


def _add_all(db: Session, settings: Settings, who: Principal, cell_id: int,
             files: list[tuple[str, bytes]], taken_on: str) -> tuple[list[ReferencePhoto], int]:
    """All-or-nothing like evidence intake -> (photos, how many were already in the library)."""
    if not files:
        raise Unprocessable("Choose at least one photo.")
    day = parse_day(taken_on, settings.local_timezone, "date taken")
    get_cell(db, cell_id)
    photos, problems, duplicates = [], [], 0
    for name, data in files:
        try:
            duplicates += find_reference(db, cell_id=cell_id, data=data) is not None
            photos.append(add_reference_photo(db, settings, who.actor, cell_id=cell_id,
                                              data=data, filename=name, taken_on=day))
        except AppError as exc:  # raised before anything of that file was stored
            problems.append(FileProblem(name, exc.status_code, exc.message))
    if problems:
        db.rollback()  # drops the files that passed, and deletes what they wrote
        raise UploadRefused(problems, total=len(files))
    db.commit()
    return photos, duplicates


def _flash(db: Session, who: Principal, message: str, kind: str = "success") -> None:
    if who.session_row is not None:
        sessions.push_flash(who.session_row, message, kind)
        db.add(who.session_row)
        db.commit()


@router.get("/estate/cells/{cell_id}/photos")
def cell_photos_page(request: Request, cell_id: int, db: SessionDep, settings: SettingsDep,
                     who: EstateReader) -> Response:
    return render(request, "evidence/cell_photos.html",
                  {**_listing(db, settings, who, cell_id),
                   "can_edit": who.can(P.library_edit)})


@router.post("/estate/cells/{cell_id}/photos")
async def cell_photos_upload(
    request: Request, cell_id: int, db: SessionDep, settings: SettingsDep, who: Librarian,
    files: Files = None, taken_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    uploads = await read_files(files, settings.max_upload_bytes)
    try:
        photos, dupes = await run_in_threadpool(_add_all, db, settings, who, cell_id, uploads,
                                                taken_on)
    except AppError as exc:
        context = _listing(db, settings, who, cell_id)
        return render(request, "evidence/cell_photos.html",
                      {**context, "can_edit": True, "error": exc.message,
                       "problems": getattr(exc, "problems", [])}, status_code=exc.status_code)
    added = len(photos) - dupes
    _flash(db, who, f"{added} photo(s) added to the library."
           + (f" {dupes} already in it." if dupes else ""))
    return RedirectResponse(f"/estate/cells/{cell_id}/photos", status_code=303)


@router.post("/estate/cells/{cell_id}/photos/{photo_id}/remove")
def cell_photo_remove(
    cell_id: int, photo_id: int, db: SessionDep, settings: SettingsDep, who: Librarian,
    reason: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    remove_reference_photo(db, settings, who.actor, photo_id=photo_id, cell_id=cell_id,
                           reason=reason)
    db.commit()
    _flash(db, who, "The photo was removed from the library (the image itself is kept).")
    return RedirectResponse(f"/estate/cells/{cell_id}/photos", status_code=303)


@router.get("/api/v1/cells/{cell_id}/photos")
def cell_photos_api(cell_id: int, db: SessionDep, settings: SettingsDep,
                    who: EstateReader) -> dict[str, Any]:
    return _listing(db, settings, who, cell_id)


@router.post("/api/v1/cells/{cell_id}/photos", status_code=201)
async def cell_photos_upload_api(
    cell_id: int, db: SessionDep, settings: SettingsDep, who: Librarian, files: Files = None,
    taken_on: Annotated[str, Form(max_length=10, description="YYYY-MM-DD")] = "",
) -> JSONResponse:
    uploads = await read_files(files, settings.max_upload_bytes)
    try:
        photos, dupes = await run_in_threadpool(_add_all, db, settings, who, cell_id, uploads,
                                                taken_on)
    except UploadRefused as exc:
        return JSONResponse({"error": exc.title, "message": exc.message,
                             "detail": [asdict(p) for p in exc.problems]},
                            status_code=exc.status_code)
    tz = settings.local_timezone
    body = {"photos": [_photo_facts(p, _image_of(db, p), tz) for p in photos],
            "already_in_library": dupes}
    return JSONResponse(body, status_code=201 if dupes < len(photos) else 200)


@router.delete("/api/v1/cells/{cell_id}/photos/{photo_id}")
def cell_photo_remove_api(cell_id: int, photo_id: int, db: SessionDep, settings: SettingsDep,
                          who: Librarian, reason: str = "") -> dict[str, Any]:
    photo = remove_reference_photo(db, settings, who.actor, photo_id=photo_id, cell_id=cell_id,
                                   reason=reason[:255])
    db.commit()
    return {"photo_id": photo.id, "removed_at": photo.removed_at.isoformat()
            if photo.removed_at else None}
