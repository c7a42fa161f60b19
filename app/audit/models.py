"""The audit table (append-only: database triggers refuse UPDATE and DELETE) and its chain head."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow

GENESIS_HASH = "0" * 64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, index=True)  # no FK: the log outlives users
    actor_name: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(default="", max_length=32)
    object_ids: str = Field(default="[]")  # JSON list of ids, for "who saw record X"
    purpose: str = Field(default="", max_length=255)
    outcome: str = Field(default="success", max_length=16)
    client_addr: str = Field(default="", max_length=64)
    request_id: str = Field(default="", max_length=64)
    details: str = Field(default="{}")  # JSON; never secrets
    prev_hash: str = Field(max_length=64)
    row_hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """One row: the chain's last link. Updating it first serialises writers on every database."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_id: int = 0
    last_hash: str = Field(default=GENESIS_HASH, max_length=64)
