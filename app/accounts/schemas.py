"""Shapes of the intake answers (`POST /api/v1/images`, `POST /api/v1/accounts`), for OpenAPI.

Both answers list their images in one shape, IntakeImage: the image, the post it came from,
whether it was new, and its ranked match candidates as `GET /api/v1/images/{id}/candidates`
gives them. The candidates are matching's (app/matching/presenters.candidates_json, documented by
app/matching/schemas.Candidate: one entry per cell, then other held images).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.matching.schemas import Candidate


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
