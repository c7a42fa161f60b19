"""The JSON shapes of an image's candidates, as documented in the OpenAPI schema."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CellPhoto(BaseModel):
    """A cell the other image is an active reference photo of."""

    model_config = ConfigDict(extra="allow")
    cell_id: int
    label: str
    establishment: str = Field(description="establishment code")
    establishment_name: str
    photo_id: int = Field(description="the reference photo's id")
    source: str = Field(description="staff | evidence")
    taken: str | None = None
    added: str | None = None


class Post(BaseModel):
    """A post the other image was captured from."""

    model_config = ConfigDict(extra="allow")
    account_id: int | None
    post_url: str
    posted: str | None = None


class CellOfCandidate(BaseModel):
    cell_id: int
    label: str
    establishment: str
    establishment_name: str


class Pair(BaseModel):
    """One match: this image and one other."""

    model_config = ConfigDict(extra="allow")
    match_id: int
    image_id: int = Field(description="the other image")
    method: str = Field(description="phash | phash_mirror | phash_trim | dhash | features | "
                        "frame_set (several frames of a clip together)")
    distance: int = Field(description="Hamming bits (near-duplicates); for features the "
                                      "shortlist's distance, not compared")
    score: int | None = Field(description="verification score (features)")
    status: str = Field(description="this pair's decision: pending | confirmed | rejected")
    agreement: int = Field(description="how much of the picture agrees: agreeing cells of "
                                       "dhash's 8x8 grid, of 64 (near-duplicates), or the "
                                       "score (features); breaks ties")
    cells: list[CellPhoto]
    posts: list[Post]


class Candidate(Pair):
    """One candidate: a cell (its strongest pair's fields first) or another held image."""

    rank: int = Field(description="1 = strongest; cells first, then other held images")
    kind: str = Field(description="cell | image")
    cell: CellOfCandidate | None = Field(description="the cell, for kind = cell")
    decision: str = Field(description="the cell's decision: confirmed if any of its pairs "
                                      "is, pending while any is, else rejected")
    photos: list[Pair] = Field(description="every pair of this candidate, strongest first "
                                           "(every matched reference photo of the cell)")


class Candidates(BaseModel):
    model_config = ConfigDict(extra="allow")
    second_stage_done: bool
    second_stage_error: str | None
    candidates: list[Candidate]
