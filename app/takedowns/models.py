"""Tables of the takedowns domain: platforms' channels, takedowns, their events and notices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class PlatformSettings(SQLModel, table=True):
    __tablename__ = "platform_settings"

    platform: str = Field(primary_key=True, max_length=16)
    channel: str = Field(default="portal", max_length=16)  # email | portal | webhook
    address: str = Field(default="", max_length=512)  # email address, portal or webhook URL
    renotice_hours: int = 24
    target_hours: int = 24  # target time from first notice to removal
    template: str = Field(default="")  # Jinja2 text of the notice
    # The platform is known to tell the account holder about requests: sending may alert the
    # prisoner (phone hidden before a cell search), so drafters and approvers are warned.
    tells_holder: bool = False
    tells_holder_note: str = Field(default="", max_length=500)
    updated_by: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Takedown(SQLModel, table=True):
    __table_args__ = (
        Index("ix_takedown_state_due", "state", "next_notice_due_at"),
        Index("ix_takedown_state_target", "state", "target_due_at"),
        Index("ix_takedown_state_resolved", "state", "resolved_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    platform: str = Field(max_length=16, index=True)
    state: str = Field(default="draft", max_length=24)
    reason: str = Field(max_length=2000)
    version: int = 1
    author_id: int = Field(foreign_key="app_user.id")
    approver_id: int | None = Field(default=None, foreign_key="app_user.id")
    claimed_by: int | None = Field(default=None, foreign_key="app_user.id")
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notices_sent: int = 0
    escalated: bool = False
    overdue: bool = False
    platform_reference: str = Field(default="", max_length=128)
    refusal_reason: str = Field(default="", max_length=2000)
    # What the platform needs to act, given by the drafter (drafts.py checks them).
    legal_basis: str = Field(default="", max_length=1000)
    platform_account_id: str = Field(default="", max_length=32)  # the platform's numeric id
    contact: str = Field(default="", max_length=500)  # who the platform answers
    good_faith: bool = False  # the drafter made the good-faith statement
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    first_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_notice_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    target_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TakedownEvent(SQLModel, table=True):
    __tablename__ = "takedown_event"

    id: int | None = Field(default=None, primary_key=True)
    takedown_id: int = Field(foreign_key="takedown.id", index=True)
    from_state: str = Field(max_length=24)
    to_state: str = Field(max_length=24)
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    note: str = Field(default="", max_length=2000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Notice(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("takedown_id", "number", name="uq_notice_number"),)

    id: int | None = Field(default=None, primary_key=True)
    takedown_id: int = Field(foreign_key="takedown.id", index=True)
    number: int  # 1 = first notice, then re-notices
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=512)
    subject: str = Field(default="", max_length=255)
    body: str = Field(default="")
    pack_sha256: str = Field(default="", max_length=64)
    pack_key: str = Field(default="", max_length=64)  # storage key of the evidence pack
    # pending (due, not tried yet) | sending (an attempt under way) | delivered | failed |
    # manual (a portal: a person files the .eml). See outbox.py.
    delivery: str = Field(default="pending", max_length=16, index=True)
    error: str = Field(default="", max_length=1000)
    sent_by: int | None = Field(default=None, foreign_key="app_user.id")
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = 1  # moved by every claim and outcome: only the attempt that claimed records
    attempts: int = 0
    attempt_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resent: bool = False  # re-sent after an attempt that never recorded its outcome
    # A portal notice (delivery=manual) is ready to submit until a person records filing it.
    submitted_by: int | None = Field(default=None, foreign_key="app_user.id")
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submission_reference: str = Field(default="", max_length=128)


class TakedownImage(SQLModel, table=True):
    """An evidence image the drafter chose to go in the takedown's notice and pack."""

    __tablename__ = "takedown_image"

    takedown_id: int = Field(foreign_key="takedown.id", primary_key=True)
    evidence_id: int = Field(foreign_key="evidence_image.id", primary_key=True)
    position: int = 0  # the order in the notice and the pack


class TakedownVideo(SQLModel, table=True):
    """A video of the account the drafter cited: the manifest names its original's sha256, and
    its matched frames go in as images (takedown_image rows added with it)."""

    __tablename__ = "takedown_video"

    takedown_id: int = Field(foreign_key="takedown.id", primary_key=True)
    video_id: int = Field(foreign_key="video.id", primary_key=True, index=True)
    position: int = 0  # the order in the manifest: the account's list, oldest first


class NoticePreview(SQLModel, table=True):
    """Notice #1 as the drafter previewed it and the approver approves it: the exact text and
    the sealed pack that are sent (see notices.first_notice)."""

    __tablename__ = "notice_preview"

    takedown_id: int = Field(foreign_key="takedown.id", primary_key=True)
    subject: str = Field(default="", max_length=255)
    body: str = Field(default="")
    pack_key: str = Field(max_length=64)
    pack_sha256: str = Field(max_length=64)
    made_by: int | None = Field(default=None, foreign_key="app_user.id")
    made_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

