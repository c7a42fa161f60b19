"""Shapes of the video API's answers (`GET` and `DELETE /api/v1/videos/{id}`), for OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.matching.schemas import Candidates


class VideoPost(BaseModel):
    model_config = ConfigDict(extra="allow")
    evidence_id: int
    account_id: int | None
    original_filename: str
    post_url: str | None
    posted_at: str | None
    erased: bool


class VideoFrameOut(Candidates):
    """A sampled frame: an ordinary image, with its time in the clip and its candidates."""

    t: float = Field(description="seconds from the start of the clip")
    at: str = Field(description="the same, as people say it: 0:07")
    reason: str = Field(description="why it was sampled: second, keyframe, cut (joined by +)")
    image_id: int
    erased: bool
    display_url: str
    detail_url: str


class ClipPassOut(BaseModel):
    state: str = Field(description="none (no frame) | frames (waiting for its frames' own "
                       "stages) | queued | running | retrying | failed | done")
    attempts: int
    error: str | None = Field(description="why the last attempt failed")
    links: int = Field(description="done: the links it stored")
    frames_failed: int = Field(description="frames whose own stage failed for good (the "
                               "pass goes without them)")


class VideoOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: str = Field(description="always \"video\"")
    video_id: int
    sha256: str | None = Field(description="of the original as captured; none once erased")
    container: str
    codec: str
    duration: float | None
    width: int
    height: int
    frame_rate: float | None
    byte_size: int
    file_created_at: str | None = Field(description="the file's own creation time, if any")
    sampling: str = Field(description="waiting | sampled | failed")
    sampling_error: str | None
    frames_sampled: int
    erased: bool
    poster_url: str | None
    preview: str = Field(description="none (not sampled yet) | waiting | running | retrying | "
                         "failed | done: made by the match workers after the frames")
    preview_error: str | None = Field(description="why the preview's last attempt failed")
    preview_url: str | None = Field(description="once the preview is done")
    posts: list[VideoPost]
    frames: list[VideoFrameOut]
    clip_pass: ClipPassOut




class VideoWithdrawn(BaseModel):
    video_id: int
    reason: str
    key_destroyed: bool
    frames_withdrawn: list[int] = Field(description="its frames' images, withdrawn as images")
    matches_withdrawn: list[int] = Field(description="pending matches taken out of review")
    confirmed_matches_kept: list[int]


class VideoRetriedOut(BaseModel):
    video_id: int
    retried: str = Field(description="sampling | clip_pass | preview: what was queued again")
    sampling: str = Field(description="\"waiting\": the match workers sample it again "
                          "(\"sampled\" when its clip pass was queued again)")
    clip_pass: str | None = Field(description="\"waiting\" when its clip pass was queued "
                                  "again")
    preview: str | None = Field(description="\"waiting\" when its preview was queued again")
    reason: str = Field(description="why it was queued again, as given")
    previous_attempts: int = Field(description="attempts the failed sampling had used")
    previous_error: str = Field(description="why it had failed")
