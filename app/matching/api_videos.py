"""A video through the API: its sampling state and its frames with their candidates.
Videos come in through the one intake path (accounts/api_intake.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader, MatchOperator, Withdrawer
from app.db import SessionDep
from app.evidence.videos import get_video
from app.evidence.withdrawal import REASON_MAX, REASON_MIN
from app.matching.jobs import after_answer
from app.matching.video_presenters import video_json
from app.matching.video_retry import REASON_MAX as RETRY_MAX
from app.matching.video_retry import REASON_MIN as RETRY_MIN
from app.matching.video_retry import retry_video
from app.matching.video_schemas import VideoOut, VideoRetriedOut, VideoWithdrawn
from app.matching.withdrawal import withdraw_video

router = APIRouter()


@router.get("/api/v1/videos/{video_id}", response_model=VideoOut)
def video_api(who: EvidenceReader, video_id: int, db: SessionDep,
              settings: SettingsDep) -> dict[str, Any]:
    """The video, its sampling (`waiting`, `sampled` or `failed` with `sampling_error`), the
    posts it was captured from, and each sampled frame (`at`: its time in the clip) with its
    ranked candidates, as `GET /api/v1/images/{id}/candidates` gives them. Audited like the
    image page: the candidates show other images and their posts."""
    video = get_video(db, video_id)
    body = video_json(db, video, settings.local_timezone)
    record(db, who.actor, "evidence.video.viewed", object_type="video",
           object_ids=[video_id], details={"frames": [f["image_id"] for f in body["frames"]]})
    return body


class VideoWithdrawal(BaseModel):
    reason: str = Field(min_length=REASON_MIN, max_length=REASON_MAX)


@router.delete("/api/v1/videos/{video_id}", response_model=VideoWithdrawn)
def withdraw_video_api(who: Withdrawer, video_id: int, body: VideoWithdrawal, db: SessionDep,
                       settings: SettingsDep) -> dict[str, Any]:
    """Destroy the video's key and files (original, poster, preview) and withdraw each of its
    frames as `DELETE /api/v1/images/{id}` withdraws an image. The reason travels in the
    JSON body, as for an image."""
    return withdraw_video(db, settings, who.actor, video=get_video(db, video_id),
                          reason=body.reason)


class VideoRetry(BaseModel):
    reason: str = Field(min_length=RETRY_MIN, max_length=RETRY_MAX,
                        description="why it is sampled again (recorded in the audit log)")


@router.post("/api/v1/videos/{video_id}/retry", response_model=VideoRetriedOut)
def retry_video_api(request: Request, who: MatchOperator, video_id: int, body: VideoRetry,
                    db: SessionDep, tasks: BackgroundTasks) -> dict[str, Any]:
    """Queue again a video whose sampling, or else its clip pass or preview, failed for good
    (as `POST /matching/queue/retry` does for a failed second stage): 409, nothing changed,
    for a video that has not failed. The match workers sample it (or run its pass, or make
    its preview) afresh; `GET /api/v1/videos/{id}` shows its new state."""
    before = retry_video(db, who.actor, video_id, body.reason)
    after_answer(tasks, request.app.state, who.actor, [], [video_id])
    sampling = before.what == "sampling"
    return {"video_id": video_id, "retried": before.what,
            "sampling": "waiting" if sampling else "sampled",
            "clip_pass": "waiting" if before.what == "clip_pass" else None,
            "preview": "waiting" if before.what == "preview" else None,
            "reason": before.reason,
            "previous_attempts": before.attempts, "previous_error": before.error}
