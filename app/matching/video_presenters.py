"""A video as pages and the API show it: its facts, its posts, and each sampled frame with
its time in the clip and its ranked candidates (a frame is an ordinary image)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.db import utcnow
from app.evidence.models import Image, Video, VideoFrame
from app.evidence.video_presenters import clock, posts_of
from app.matching.clip_passes import clip_json, clip_state
from app.matching.presenters import candidates_json
from app.matching.previews import facts_with_preview


def frames_json(session: Session, video_id: int, tz: str, *,
                matched_only: bool = False) -> list[dict[str, Any]]:
    rows = session.exec(select(VideoFrame, Image).join(Image, col(Image.id) == VideoFrame.image_id)
                        .where(VideoFrame.video_id == video_id)
                        .order_by(col(VideoFrame.t))).all()
    out = []
    for frame, image in rows:
        found = candidates_json(session, image.id or 0, tz)
        if matched_only and not found["candidates"]:
            continue
        out.append({"t": frame.t, "at": clock(frame.t), "reason": frame.reason,
                    "image_id": image.id, "erased": image.erased_at is not None,
                    "display_url": f"/images/{image.id}/display",
                    "detail_url": f"/images/{image.id}", **found})
    return out


def video_json(session: Session, video: Video, tz: str) -> dict[str, Any]:
    """`GET /api/v1/videos/{id}`: the video, its sampling, its posts, its frames and its
    clip pass."""
    return {**facts_with_preview(session, [video], tz)[0],
            "posts": posts_of(session, video.id or 0, tz),
            "frames": frames_json(session, video.id or 0, tz),
            "clip_pass": clip_json(clip_state(session, video.id or 0, utcnow()))}


def frame_of(session: Session, image_id: int) -> tuple[VideoFrame, Video] | None:
    """The video an image is a frame of (the first, if two clips share it), or None."""
    row = session.exec(select(VideoFrame, Video).join(Video, col(Video.id) == VideoFrame.video_id)
                       .where(VideoFrame.image_id == image_id)
                       .order_by(col(VideoFrame.id)).limit(1)).first()
    return (row[0], row[1]) if row else None
