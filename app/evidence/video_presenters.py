"""What pages and the API show of a video: its facts, its sampling, where it came from."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.evidence.intake import VideoResult
from app.evidence.models import EvidenceVideo, Video
from app.evidence.presenters import evidence_facts
from app.evidence.videos import clock

__all__ = ["clock", "posts_of", "video_facts", "video_result_facts"]
from app.web.dates import local_time


def video_facts(video: Video, tz: str, preview: str = "none",
                preview_error: str = "") -> dict[str, Any]:
    """`preview`: its state as the match workers' queue has it (app/matching/previews.py):
    none | waiting | running | retrying | failed | done; only a done one is linked."""
    erased = video.erased_at is not None
    return {
        "kind": "video", "video_id": video.id, "sha256": None if erased else video.sha256,
        "container": video.container, "codec": video.codec,
        "duration": video.duration, "duration_text": clock(video.duration),
        "width": video.width, "height": video.height, "frame_rate": video.frame_rate,
        "byte_size": video.byte_size,
        "file_created_at": video.file_created_at.isoformat() if video.file_created_at else None,
        "held_since": video.created_at.isoformat(),
        "held_since_local": local_time(video.created_at, tz),
        "sampling": video.state, "sampling_error": video.error or None,
        "frames_sampled": video.frames, "erased": erased,
        "detail_url": f"/videos/{video.id}",
        "poster_url": None if erased or video.sampled_at is None
        else f"/videos/{video.id}/poster",
        "preview": preview, "preview_error": preview_error or None,
        "preview_url": None if erased or preview != "done" else f"/videos/{video.id}/preview",
    }


def video_result_facts(result: VideoResult, tz: str) -> dict[str, Any]:
    """One video of an intake: what it is, where it came from, whether it was new."""
    return {**video_facts(result.video, tz), **evidence_facts(result.evidence, tz),  # type: ignore[arg-type]
            "created": result.created, "new_link": result.new_link}


def posts_of(session: Session, video_id: int, tz: str) -> list[dict[str, Any]]:
    rows = session.exec(select(EvidenceVideo).where(EvidenceVideo.video_id == video_id)
                        .order_by(col(EvidenceVideo.submitted_at))).all()
    return [{**evidence_facts(e, tz), "account_id": e.account_id,  # type: ignore[arg-type]
             "erased": e.erased_at is not None} for e in rows]
