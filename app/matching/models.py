"""Match candidates: a link from a new image to one already held, for an analyst to review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Match(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("query_image_id", "candidate_image_id", name="uq_match_pair"),
        Index("ix_match_status_created", "status", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    query_image_id: int = Field(foreign_key="image.id", index=True)
    candidate_image_id: int = Field(foreign_key="image.id", index=True)
    method: str = Field(max_length=16)  # phash | phash_mirror | phash_trim | dhash | features
    distance: int  # Hamming bits for hashes; for features, 64 - min(inliers, 64)
    inliers: int | None = None  # geometric verification, when the second stage ran
    # pending | confirmed | rejected | withdrawn (its image was withdrawn while pending)
    status: str = Field(default="pending", max_length=16)
    reviewed_by: int | None = Field(default=None, foreign_key="app_user.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_note: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Leased(SQLModel):
    """The lease columns of a table used as a queue (app/matching/queue.py works on them by
    these names): who holds a claim and since when, the attempts so far, the pause after a
    failed one, and when and why the work failed for good."""

    error: str = Field(default="", max_length=500)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0  # claims so far; the newest one's number is its fencing token
    claimed_by: str = Field(default="", max_length=64)  # host:pid of the newest claim
    retry_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # after a failure
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # out of attempts


class MatchRun(Leased, table=True):
    """When each stage of matching ran for an image, so pages know whether to wait for more.

    Also the queue of second stages: a run without `second_stage_at` is pending; a worker
    claims it (`claimed_at`, `attempts`) so that no two run it at once, and a claim that is
    never finished (a process killed) lapses and is taken up again; out of attempts, the stage
    is failed (`failed_at`, with its reason in `error`) until someone retries it.
    """

    __tablename__ = "match_run"
    __table_args__ = (Index("ix_match_run_pending", "first_stage_at",
                            sqlite_where=text("second_stage_at IS NULL"),
                            postgresql_where=text("second_stage_at IS NULL")),)

    image_id: int = Field(foreign_key="image.id", primary_key=True)
    first_stage_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    second_stage_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    candidates: int = 0


class ClipPass(Leased, table=True):
    """A video's clip pass (app/matching/frame_sets.py), queued when its frames are stored.

    The third queue of the match workers, on the lease columns (`Leased`): a pass
    without `done_at` waits until none of its held frames has a second stage still to run
    (done or failed for good), then a worker claims it; out of attempts it is failed."""

    __tablename__ = "clip_pass"
    # a worker looks here every loop: only the passes not done, however many are
    __table_args__ = (Index("ix_clip_pass_pending", "queued_at",
                            sqlite_where=text("done_at IS NULL"),
                            postgresql_where=text("done_at IS NULL")),)

    video_id: int = Field(foreign_key="video.id", primary_key=True)
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    links: int = 0  # what the pass stored


class VideoPreview(Leased, table=True):
    """A video's preview (the short MP4 its page plays), queued when its frames are stored.

    The fourth queue of the match workers, last in their order: matching never waits for a
    preview. On the lease columns (`Leased`); done, the sealed file is beside the
    original (app/evidence/videos.py); out of attempts it is failed with its reason, and the
    video's page shows its poster and that reason instead."""

    __tablename__ = "video_preview"
    __table_args__ = (Index("ix_video_preview_pending", "queued_at",
                            sqlite_where=text("done_at IS NULL"),
                            postgresql_where=text("done_at IS NULL")),)

    video_id: int = Field(foreign_key="video.id", primary_key=True)
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
