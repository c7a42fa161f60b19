"""A video whose sampling failed for good, queued again by a supervisor with a reason.

The photo equivalent is `queue.retry_failed` (a failed second stage run again). A video has
one sampling, so this takes one video: only a failed one (else 409, nothing changed), its
attempts reset so the match workers take it up as a new one, audited with what it had been.
A sampled video whose clip pass failed for good is queued again the same way (its pass, not
its sampling: app/matching/clip_passes.py), and else one whose preview failed for good (its
preview: app/matching/previews.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.errors import Conflict, Unprocessable
from app.evidence.models import Video
from app.evidence.videos import get_video
from app.matching import queue

REASON_MIN, REASON_MAX = 5, 500


@dataclass(frozen=True)
class VideoRetried:
    video_id: int
    attempts: int  # what the failed sampling had used
    error: str  # why it had failed
    reason: str  # why it is sampled again, as recorded
    what: str = "sampling"  # or "clip_pass", "preview": what was queued again


def _reason(text: str) -> str:
    text = " ".join(text.split())
    if len(text) < REASON_MIN:
        raise Unprocessable("Give the reason for sampling the video again (at least "
                            f"{REASON_MIN} characters).")
    if len(text) > REASON_MAX:
        raise Unprocessable(f"The reason must be at most {REASON_MAX} characters.")
    return text


def retry_video(session: Session, actor: Actor, video_id: int, reason: str) -> VideoRetried:
    """Put a failed video back in the sampling queue with fresh attempts (audited)."""
    why = _reason(reason)
    video = get_video(session, video_id)  # 404 when there is no such video
    if video.erased_at is not None:
        raise Conflict(f"Video {video_id} was erased: there is nothing to sample.")
    if video.state == "sampled":  # its clip pass, else its preview, if that failed
        for what, on, action in (("clip_pass", queue.CLIPS, "match.clip_pass_retried"),
                                 ("preview", queue.PREVIEWS, "evidence.video.preview_retried")):
            row = session.get(on.model, video_id)
            if row is not None and row.failed_at is not None and row.done_at is None:
                return _retry_job(session, actor, video_id, why, what, on, action)
    if video.state != "failed":
        raise Conflict(f"Video {video_id} has not failed: it is {video.state}. Only a video "
                       "whose sampling, clip pass or preview failed can be queued again; "
                       "nothing was changed.")
    before = VideoRetried(video_id, video.attempts, video.error, why)
    # conditional, so that of two supervisors (or a supervisor and an erasure) one wins
    done = session.execute(
        update(Video).where(col(Video.id) == video_id, col(Video.failed_at).is_not(None),
                            col(Video.sampled_at).is_(None), col(Video.erased_at).is_(None))
        .values(**queue.FRESH_ATTEMPTS))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"Video {video_id} was changed meanwhile; nothing was changed. "
                       "Open its page again.")
    session.expire(video)
    record(session, actor, "evidence.video.sampling_retried", object_type="video",
           object_ids=[video_id], purpose=why,
           details={"reason": why, "previous_attempts": before.attempts,
                    "previous_reason": before.error})
    return before


def failed_videos(session: Session, limit: int = 100) -> list[Video]:
    """Videos whose sampling failed for good, newest failure first (each can be retried)."""
    return list(session.exec(select(Video).where(
        col(Video.failed_at).is_not(None), col(Video.sampled_at).is_(None),
        col(Video.erased_at).is_(None)).order_by(col(Video.failed_at).desc())
        .limit(limit)).all())


def _retry_job(session: Session, actor: Actor, video_id: int, why: str, what: str,
               on: queue.Queued, action: str) -> VideoRetried:
    """A sampled video's failed clip pass or preview back in its queue with fresh attempts
    (audited). Conditional, so that of two supervisors one wins (409 for the other)."""
    row = session.get(on.model, video_id)
    before = VideoRetried(video_id, row.attempts, row.error, why, what)
    done = session.execute(
        update(on.model).where(on.col(on.key) == video_id, on.col("failed_at").is_not(None),
                               on.col(on.done).is_(None))
        .values(**queue.FRESH_ATTEMPTS))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"Video {video_id} was changed meanwhile; nothing was changed. "
                       "Open its page again.")
    session.expire(row)
    record(session, actor, action, object_type="video", object_ids=[video_id], purpose=why,
           details={"reason": why, "previous_attempts": before.attempts,
                    "previous_reason": before.error})
    return before
