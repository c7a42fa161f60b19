"""A video's clip pass as pages, the API and the command line show it (the pass itself:
app/matching/frame_sets.py; its queue: queue.CLIPS; a failed one queued again by a
supervisor: app/matching/video_retry.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.evidence.models import Image, VideoFrame
from app.matching import queue
from app.matching.models import ClipPass, MatchRun


@dataclass(frozen=True)
class ClipState:
    """state: none (no frame held: nothing to pass) | frames (waiting for its frames' own
    stages) | queued | running | retrying | failed | done."""

    state: str
    attempts: int = 0
    error: str = ""
    links: int = 0
    frames_failed: int = 0  # frames whose own stage failed for good: the pass goes without

    @property
    def waiting(self) -> bool:
        return self.state in ("frames", "queued", "running", "retrying")


def _frames_failed(session: Session, video_id: int) -> int:
    return int(session.exec(select(func.count()).select_from(VideoFrame)
                            .join(MatchRun, col(MatchRun.image_id) == col(VideoFrame.image_id))
                            .join(Image, col(Image.id) == col(VideoFrame.image_id))
                            .where(col(VideoFrame.video_id) == video_id,
                                   col(Image.erased_at).is_(None),
                                   col(MatchRun.second_stage_at).is_(None),
                                   col(MatchRun.failed_at).is_not(None))).one() or 0)


def clip_state(session: Session, video_id: int, now: datetime,
               policy: queue.Policy = queue.DEFAULT) -> ClipState:
    row = session.get(ClipPass, video_id)
    if row is None:
        return ClipState("none")
    failed = _frames_failed(session, video_id)
    if row.done_at is not None:
        return ClipState("done", row.attempts, links=row.links, frames_failed=failed)
    if row.failed_at is not None:
        return ClipState("failed", row.attempts, row.error, frames_failed=failed)
    claimed = row.claimed_at
    if claimed is not None and claimed >= now - policy.lease:
        return ClipState("running", row.attempts, row.error, frames_failed=failed)
    settled = session.exec(select(ClipPass.video_id).where(
        col(ClipPass.video_id) == video_id, *queue.CLIPS.ready())).first() is not None
    if not settled:
        return ClipState("frames", row.attempts, row.error, frames_failed=failed)
    return ClipState("retrying" if row.error else "queued", row.attempts, row.error,
                     frames_failed=failed)


def clip_json(state: ClipState) -> dict[str, object]:
    return {"state": state.state, "attempts": state.attempts, "error": state.error or None,
            "links": state.links, "frames_failed": state.frames_failed}

