"""Shapes of the intake answers (`POST /api/v1/images`, `POST /api/v1/accounts`), for OpenAPI.

Both answers list their images in one shape, IntakeImage: the image, the post it came from,
whether it was new, and its ranked match candidates as `GET /api/v1/images/{id}/candidates`
gives them. The candidates are matching's (app/matching/presenters.candidates_json, documented by
app/matching/schemas.Candidate: one entry per cell, then other held images).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.matching.schemas import Candidate, CellOfCandidate


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


class IntakeVideo(BaseModel):
    """One video of an intake: stored and waiting to be sampled by a match worker; its frames
    (each an image with its candidates) follow at `GET /api/v1/videos/{video_id}`."""

    model_config = ConfigDict(extra="allow")
    kind: str = Field(description="always \"video\"")
    video_id: int
    sha256: str | None
    container: str
    codec: str
    duration: float | None = Field(description="seconds, as its header declares")
    width: int
    height: int
    byte_size: int
    sampling: str = Field(description="waiting | sampled | failed")
    sampling_error: str | None
    evidence_id: int
    original_filename: str
    post_url: str | None
    posted_at: str | None
    created: bool = Field(description="false: the same bytes were already held")
    new_link: bool = Field(description="false: already recorded from the same post")


class ImagesIntake(BaseModel):
    """The answer to `POST /api/v1/images`."""

    images: list[IntakeImage]
    videos: list[IntakeVideo] = []


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
    videos: list[IntakeVideo] = []


class QueueRow(BaseModel):
    """One account of the triage queue, highest priority first."""

    id: int
    platform: str
    handle: str
    status: str
    priority: int
    factors: list[tuple[str, int]] = Field(description="(why, points), largest first")
    assignee: str | None
    establishment: str | None


class QueuePage(BaseModel):
    page: int
    more: bool = Field(description="a next page exists")
    accounts: list[QueueRow]


class RankedCandidate(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: str = Field(description="cell | image")
    cell: CellOfCandidate | None = Field(description="the cell, for kind = cell")
    match_id: int | None
    match_ids: list[int]
    decision: str


class AccountImage(BaseModel):
    image_id: int
    evidence_id: int = Field(description="what a takedown draft chooses (evidence_ids)")
    post_url: str | None
    candidates: list[int] = Field(description="match ids, strongest first")
    ranked: list[RankedCandidate]


class AccountLinkOut(BaseModel):
    account_id: int | None
    kind: str = Field(description="shared_image | re_emergence")
    match_id: int | None


class AttributionOut(BaseModel):
    id: int
    prison_number: str
    status: str = Field(description="suggested | confirmed | rejected")
    basis: str
    time_source: str = Field(description="post | capture | intake: which time placed the "
                                         "photo in the cell")
    basis_image_withdrawn: bool


class AccountOut(BaseModel):
    """`GET /api/v1/accounts/{id}`: the account, its images, links and attributions."""

    model_config = ConfigDict(extra="allow")
    id: int
    platform: str
    handle: str
    profile_url: str | None
    status: str
    priority: int
    factors: list[tuple[str, int]]
    version: int
    re_emerged_from: int | None
    images: list[AccountImage]
    links: list[AccountLinkOut]
    attributions: list[AttributionOut]


class AttributionDecision(BaseModel):
    attribution_id: int
    status: str = Field(description="confirmed | rejected")
    account_id: int
