"""Tables of the accounts domain: suspect accounts, attributions to prisoners, account links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class AccountStatus(StrEnum):
    new = "new"
    under_review = "under_review"
    attributed = "attributed"
    takedown_requested = "takedown_requested"
    removed = "removed"
    re_emerged = "re_emerged"
    no_further_action = "no_further_action"


class Account(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("platform", "handle", name="uq_account_platform_handle"),
        Index("ix_account_queue", "status", "priority"),
        Index("ix_account_priority", "priority", "id"),  # the queue's order, read backwards
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    handle: str = Field(max_length=255)  # canonical: normalised handle, numeric id or URL
    numeric_id: bool = False
    status: str = Field(default=AccountStatus.new.value, max_length=24, index=True)
    priority: int = 0  # the sum of the factors recorded in priority_factors
    priority_factors: str = Field(default="{}")  # JSON: factor -> points, shown to analysts
    assignee_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    establishment_id: int | None = Field(default=None, foreign_key="establishment.id",
                                         index=True)  # from the attribution, for filtering
    newest_post_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    image_count: int = 0
    re_emerged_from_id: int | None = Field(default=None, foreign_key="account.id")
    closed_reason: str = Field(default="", max_length=500)
    # when it last became closed (removed, no further action): the retention clock's start
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    notes: str = Field(default="", max_length=4000)
    version: int = 1  # optimistic concurrency: an update names the version it read
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AttributionStatus(StrEnum):
    suggested = "suggested"
    confirmed = "confirmed"
    rejected = "rejected"


class Attribution(SQLModel, table=True):
    """Account → prisoner, with the basis an analyst can check."""

    __table_args__ = (
        UniqueConstraint("account_id", "prisoner_id", "match_id", name="uq_attribution_basis"),
        Index("ix_attribution_status_decided", "status", "decided_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    prisoner_id: int = Field(foreign_key="prisoner.id", index=True)
    status: str = Field(default=AttributionStatus.suggested.value, max_length=16)
    basis_kind: str = Field(max_length=16)  # cell_match | manual | re_emergence
    basis: str = Field(max_length=1000)  # human-readable: cell, stay, time used and its source
    match_id: int | None = Field(default=None, foreign_key="match.id")
    cell_id: int | None = Field(default=None, foreign_key="cell.id")
    photo_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    time_source: str = Field(default="", max_length=16)  # post | capture | intake
    reason: str = Field(default="", max_length=1000)  # required for manual attributions
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_by: int | None = Field(default=None, foreign_key="app_user.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccountLink(SQLModel, table=True):
    """Two accounts linked by a near-duplicate image, or a re-emergence of a removed one."""

    __tablename__ = "account_link"
    __table_args__ = (
        UniqueConstraint("account_id", "other_account_id", "kind", name="uq_account_link"),
        CheckConstraint("account_id < other_account_id", name="ordered_pair"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    other_account_id: int = Field(foreign_key="account.id", index=True)
    kind: str = Field(max_length=16)  # shared_image | re_emergence
    match_id: int | None = Field(default=None, foreign_key="match.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IdempotencyKey(SQLModel, table=True):
    """An API submission's key: the same key again returns the first answer."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    key: str = Field(max_length=128)
    request_hash: str = Field(max_length=64)
    status_code: int = 200
    response: str = Field(default="")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
