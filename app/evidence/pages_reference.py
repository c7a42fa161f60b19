"""Reference photos of a cell: the page, upload and removal (supervisors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.audit.service import record
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import EstateReader, Librarian
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import AppError
from app.estate.models import Cell
from app.evidence.deps import CellDep
from app.evidence.errors import FileProblem
from app.evidence.forms import Files, problems_of, read_files
from app.evidence.presenters import cell_photos
from app.evidence.reference import add_reference_photos, remove_reference_photo
from app.settings import Settings
from app.web import render
from app.web.dates import day_start, parse_date
from app.web.flash import flash
from app.web.forms import refused

router = APIRouter()


def _page(request: Request, db: Session, settings: Settings, who: Principal, cell: Cell, *,
          error: str = "", problems: list[FileProblem] | None = None,
          status: int = 200) -> Response:
    """The cell's library; looking at it is audited (who saw which photos)."""
    listing = cell_photos(db, cell, settings.local_timezone)
    record(db, who.actor, "library.photos.viewed", object_type="reference_photo",
           object_ids=[p["photo_id"] or 0 for p in listing["photos"]],
           details={"cell_id": cell.id})
    return render(request, "evidence/cell_photos.html",
                  {**listing, "can_edit": who.can(P.library_edit), "error": error,
                   "problems": problems or []}, status_code=status)


@router.get("/estate/cells/{cell_id}/photos")
def cell_photos_page(request: Request, who: EstateReader, cell: CellDep, db: SessionDep,
                     settings: SettingsDep) -> Response:
    return _page(request, db, settings, who, cell)


@router.post("/estate/cells/{cell_id}/photos")
def cell_photos_upload(
    request: Request, who: Librarian, cell: CellDep, db: SessionDep, settings: SettingsDep,
    files: Files = None, taken_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    uploads = read_files(files, settings.max_upload_bytes)
    try:
        day = parse_date(taken_on, "date taken")
        photos, dupes = add_reference_photos(
            db, settings, who.actor, cell_id=cell.id or 0, files=uploads,
            taken_on=day_start(day, settings.local_timezone) if day else None)
    except AppError as exc:
        return refused(db, exc, _page, request, db, settings, who, cell,
                       problems=problems_of(exc))
    added = len(photos) - dupes
    flash(db, who, f"{added} photo(s) added to the library."
          + (f" {dupes} already in it." if dupes else ""))
    return RedirectResponse(f"/estate/cells/{cell.id}/photos", status_code=303)


@router.post("/estate/cells/{cell_id}/photos/{photo_id}/remove")
def cell_photo_remove(
    who: Librarian, cell_id: int, photo_id: int, db: SessionDep, settings: SettingsDep,
    reason: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    """The photo is looked up with its cell: a photo of another cell is a 404 too."""
    remove_reference_photo(db, settings, who.actor, photo_id=photo_id, cell_id=cell_id,
                           reason=reason)
    flash(db, who, "The photo was removed from the library (the image itself is kept).")
    return RedirectResponse(f"/estate/cells/{cell_id}/photos", status_code=303)
