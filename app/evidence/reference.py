"""Reference photos: pictures known to show a cell, the library evidence is matched against."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import AppError, Conflict, NotFound, Unprocessable
from app.estate.models import Cell, Establishment
from app.evidence import images
from app.evidence.errors import FileProblem, UploadRefused
from app.evidence.models import Image, ReferencePhoto
from app.evidence.validation import clean_filename
from app.settings import Settings


def cell_name(session: Session, cell: Cell) -> str:
    est = session.get(Establishment, cell.establishment_id)
    return f"{est.code if est else '?'} {cell.label}"


def get_cell(session: Session, cell_id: int) -> Cell:
    cell = session.get(Cell, cell_id)
    if cell is None:
        raise NotFound(f"There is no cell {cell_id}.")
    return cell


def active_photos(session: Session, cell_id: int) -> list[tuple[ReferencePhoto, Image]]:
    rows = session.exec(
        select(ReferencePhoto, Image).where(col(ReferencePhoto.image_id) == col(Image.id))
        .where(ReferencePhoto.cell_id == cell_id, col(ReferencePhoto.removed_at).is_(None))
        .order_by(col(ReferencePhoto.added_at).desc())).all()
    return [(photo, image) for photo, image in rows]


def _active_for_image(session: Session, image_id: int) -> list[ReferencePhoto]:
    return list(session.exec(select(ReferencePhoto).where(
        ReferencePhoto.image_id == image_id, col(ReferencePhoto.removed_at).is_(None))).all())


def find_reference(session: Session, *, cell_id: int, data: bytes) -> ReferencePhoto | None:
    """The cell's active reference photo with exactly these bytes, if any (a duplicate)."""
    image = images.find_by_sha256(session, hashlib.sha256(data).hexdigest())
    if image is None or image.erased_at is not None:
        return None
    return next((p for p in _active_for_image(session, image.id or 0)
                 if p.cell_id == cell_id), None)


def add_reference_from_image(
    session: Session, settings: Settings, actor: Actor, *, cell_id: int, image_id: int,
    source: str = "evidence", taken_on: datetime | None = None,
) -> ReferencePhoto:
    """Make a held image a reference photo of a cell (e.g. a confirmed evidence image).

    Idempotent for the same cell; refused if the photo already shows another cell, which is
    almost always a misfiled photo.
    """
    cell = get_cell(session, cell_id)
    image = session.get(Image, image_id)
    if image is None or image.erased_at is not None:
        raise NotFound(f"There is no image {image_id}.")
    for photo in _active_for_image(session, image_id):
        if photo.cell_id == cell_id:
            return photo
        other = session.get(Cell, photo.cell_id)
        raise Conflict(f"This photo is already a reference photo of cell "
                       f"{cell_name(session, other) if other else photo.cell_id}; remove it "
                       "there first if it was filed under the wrong cell.")
    images.ensure_features(session, settings, image)  # evidence may be waiting for its stage
    photo = ReferencePhoto(image_id=image_id, cell_id=cell_id, source=source,
                           taken_on=taken_on or image.exif_taken_at, added_by=actor.user_id)
    session.add(photo)
    session.flush()
    record(session, actor, "library.photo.added", object_type="reference_photo",
           object_ids=[photo.id or 0],
           details={"cell_id": cell_id, "cell": cell_name(session, cell), "image_id": image_id,
                    "sha256": image.sha256, "source": source})
    return photo


def add_reference_photo(
    session: Session, settings: Settings, actor: Actor, *, cell_id: int, data: bytes,
    filename: str, taken_on: datetime | None = None,
) -> ReferencePhoto:
    """Store an uploaded photo of a cell (staff-taken) and add it to the cell's library.

    Without `taken_on` the photo's EXIF capture time is used. The same bytes for the same
    cell return the existing reference photo and change nothing.
    """
    get_cell(session, cell_id)  # an unknown cell stores nothing
    image, _ = images.ingest_image(session, settings, actor, data=data,
                                   filename=clean_filename(filename))
    return add_reference_from_image(session, settings, actor, cell_id=cell_id,
                                    image_id=image.id or 0, source="staff", taken_on=taken_on)


def add_reference_photos(
    session: Session, settings: Settings, actor: Actor, *, cell_id: int,
    files: list[tuple[str, bytes]], taken_on: datetime | None = None,
) -> tuple[list[ReferencePhoto], int]:
    """Several uploads for one cell, all or nothing like evidence intake -> (photos, how many
    were already in the library). A refused file raises UploadRefused naming every bad file;
    the caller's rollback then drops the files that passed, and the files they wrote."""
    if not files:
        raise Unprocessable("Choose at least one photo.")
    get_cell(session, cell_id)
    photos, problems, duplicates = [], [], 0
    for name, data in files:
        try:
            duplicates += find_reference(session, cell_id=cell_id, data=data) is not None
            photos.append(add_reference_photo(session, settings, actor, cell_id=cell_id,
                                              data=data, filename=name, taken_on=taken_on))
        except AppError as exc:  # raised before anything of that file was stored
            problems.append(FileProblem(name, exc.status_code, exc.message))
    if problems:
        raise UploadRefused(problems, total=len(files))
    return photos, duplicates


def remove_reference_photo(
    session: Session, settings: Settings, actor: Actor, *, photo_id: int,
    cell_id: int | None = None, reason: str = "",
) -> ReferencePhoto:
    """Take a photo out of the library (kept, marked removed); the image itself stays held."""
    photo = session.get(ReferencePhoto, photo_id)
    if photo is None or (cell_id is not None and photo.cell_id != cell_id):
        raise NotFound(f"There is no reference photo {photo_id} of this cell.")
    if photo.removed_at is not None:
        return photo
    photo.removed_at, photo.removed_by = utcnow(), actor.user_id
    session.add(photo)
    record(session, actor, "library.photo.removed", object_type="reference_photo",
           object_ids=[photo_id], purpose=reason,
           details={"cell_id": photo.cell_id, "image_id": photo.image_id})
    return photo
