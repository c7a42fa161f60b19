"""Shapes of the evidence API's answers, for OpenAPI (the dicts are built by presenters.py).
Times are ISO 8601 UTC; each `..._local` twin is the same time as the pages show it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Gps(BaseModel):
    lat: float
    lon: float


class ImageFacts(BaseModel):
    """One held image: never its bytes or a path, only where its display copy is served."""

    model_config = ConfigDict(extra="allow")
    image_id: int
    sha256: str
    format: str
    byte_size: int
    size: str
    width: int
    height: int
    taken_at: str | None = Field(description="EXIF capture time")
    taken_at_local: str
    gps: Gps | None
    device: str | None
    held_since: str
    held_since_local: str
    display_url: str
    detail_url: str
    erased: bool


class EvidenceOut(BaseModel):
    """One post the image was captured from."""

    model_config = ConfigDict(extra="allow")
    evidence_id: int
    original_filename: str
    post_url: str | None
    posted_at: str | None
    posted_at_local: str
    submitted_at: str


class ReferenceOut(BaseModel):
    photo_id: int
    cell_id: int
    cell: str
    source: str
    removed: bool


class WithdrawalOut(BaseModel):
    at: str
    at_local: str
    by: str
    reason: str


class ImageOut(ImageFacts):
    """`GET /api/v1/images/{id}`: the image, its posts, the cell libraries it is in."""

    evidence: list[EvidenceOut]
    references: list[ReferenceOut]
    withdrawal: WithdrawalOut | None = Field(description="null while the image is held")


class PhotoOut(ImageFacts):
    """A reference photo of a cell's library."""

    photo_id: int
    source: str
    taken_on: str | None
    taken_on_local: str
    added_at: str
    thumb: tuple[int, int]


class CellPhotos(BaseModel):
    cell_id: int
    cell: str
    photos: list[PhotoOut]


class PhotosAdded(BaseModel):
    photos: list[PhotoOut]
    already_in_library: int = Field(description="of the files sent, how many were already "
                                                "reference photos of this cell")


class PhotoRemoved(BaseModel):
    photo_id: int
    removed_at: str | None
