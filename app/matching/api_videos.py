"""A video through the API: its sampling state and its frames with their candidates.
Videos come in through the one intake path (accounts/api_intake.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import EvidenceReader
from app.db import SessionDep
from app.evidence.videos import get_video
from app.matching.video_presenters import video_json

router = APIRouter()


@router.get("/api/v1/videos/{video_id}")
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
