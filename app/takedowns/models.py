"""Tables of the takedowns domain: platforms' channels, takedowns, notices, cell searches."""

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
    delivery: str = Field(default="pending", max_length=16)  # pending | delivered | failed
    error: str = Field(default="", max_length=1000)
    sent_by: int | None = Field(default=None, foreign_key="app_user.id")
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CellSearch(SQLModel, table=True):
    __tablename__ = "cell_search"

    id: int | None = Field(default=None, primary_key=True)
    establishment_id: int = Field(foreign_key="establishment.id", index=True)
    cell_id: int = Field(foreign_key="cell.id", index=True)
    attribution_id: int | None = Field(default=None, foreign_key="attribution.id")
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    reason: str = Field(max_length=2000)
    urgency: str = Field(default="routine", max_length=16)  # immediate | urgent | routine
    state: str = Field(default="requested", max_length=16)  # requested|acknowledged|completed
    version: int = 1
    requested_by: int = Field(foreign_key="app_user.id")
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    searched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    phones: int = 0
    sim_cards: int = 0
    chargers: int = 0
    other_items: int = 0
    other_description: str = Field(default="", max_length=1000)
    outcome_note: str = Field(default="", max_length=2000)


class CellSearchPrisoner(SQLModel, table=True):
    __tablename__ = "cell_search_prisoner"

    cell_search_id: int = Field(foreign_key="cell_search.id", primary_key=True)
    prisoner_id: int = Field(foreign_key="prisoner.id", primary_key=True, index=True)
