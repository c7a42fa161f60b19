"""Shapes of the intake answers (`POST /api/v1/images`, `POST /api/v1/accounts`), for OpenAPI.

Both answers list their images in one shape, IntakeImage: the image, the post it came from,
whether it was new, and its ranked match candidates as `GET /api/v1/images/{id}/candidates`
gives them. The candidates are matching's (app/matching/presenters.candidates_json); a field
added there is passed through (extra fields allowed), a field taken away fails the answer.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CellRef(BaseModel):
    """A cell the candidate image is a reference photo of."""

    model_config = ConfigDict(extra="allow")
    cell_id: int
    label: str
    establishment: str = Field(description="establishment code")
    establishment_name: str
    photo_id: int
    source: str
    taken: str = Field(description="local date and time, empty if unknown")
    added: str


class PostRef(BaseModel):
    """A post (and account) the candidate image was captured from."""

    model_config = ConfigDict(extra="allow")
    account_id: int | None
    post_url: str
    posted: str = Field(description="local date and time, empty if unknown")


class Candidate(BaseModel):
    """A match: another image held, how it was found and what it is (a cell, a post)."""

    model_config = ConfigDict(extra="allow")
    match_id: int
    image_id: int = Field(description="the other image")
    method: str = Field(description="phash, phash_mirror, phash_trim, dhash or features")
    distance: int = Field(description="bits apart (hash methods)")
    score: int | None = Field(description="geometric verification score (features)")
    status: str = Field(description="pending, confirmed or rejected")
    cells: list[CellRef]
    posts: list[PostRef]


class Gps(BaseModel):
    lat: float
    lon: float


class IntakeImage(BaseModel):
    """One image of an intake, in the order the files were sent."""

    model_config = ConfigDict(extra="allow")
    image_id: int
    sha256: str
    format: str
    byte_size: int
    size: str
    width: int
    height: int
    taken_at: str | None = Field(description="EXIF capture time, ISO 8601")
    taken_at_local: str
    gps: Gps | None
    device: str | None
    held_since: str
    held_since_local: str
    display_url: str
    detail_url: str
    erased: bool
    evidence_id: int
    original_filename: str
    post_url: str | None
    posted_at: str | None
    posted_at_local: str
    submitted_at: str
    created: bool = Field(description="false: the same bytes were already held")
    new_link: bool = Field(description="false: already recorded from the same post")
    thumb: tuple[int, int]
    second_stage_done: bool = Field(description="feature matches follow: poll "
                                                "GET /api/v1/images/{id}/candidates")
    second_stage_error: str | None
    candidates: list[Candidate]


class ImagesIntake(BaseModel):
    """The answer to `POST /api/v1/images`."""

    images: list[IntakeImage]


class AccountRef(BaseModel):
    id: int
    platform: str
    handle: str
    status: str
    url: str


class AccountIntake(BaseModel):
    """The answer to `POST /api/v1/accounts` (replayed as is for the same Idempotency-Key)."""

    account: AccountRef
    created: bool = Field(description="the account is new")
    links: int = Field(description="links to other accounts made by this intake")
    images: list[IntakeImage]
