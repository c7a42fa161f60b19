"""The audit table and its chain head.

Events are inserted in the transaction of the change they record, unlinked (`seq` empty). The
linker (one at a time, under the chain's job lock) later gives each committed event its place
in the chain: `seq`, `prev_hash` and `row_hash`, written once. Database triggers refuse every
other UPDATE, every DELETE and TRUNCATE.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, SmallInteger, text
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow

GENESIS_HASH = "0" * 64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    # what the linker looks for: committed events still outside the chain
    __table_args__ = (Index("ix_audit_event_unlinked", "id", sqlite_where=text("seq IS NULL"),
                            postgresql_where=text("seq IS NULL")),)

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
    # the chain: empty until the linker places the event, then never changed
    seq: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True))
    prev_hash: str | None = Field(default=None, max_length=64)
    row_hash: str | None = Field(default=None, max_length=64)
    # how row_hash was made (app/audit/chain.py): 1 plain SHA-256 (rows linked before 0014),
    # 2 HMAC-SHA256 with the audit key
    hash_version: int | None = Field(default=None, sa_column=Column(SmallInteger))


class AuditHead(SQLModel, table=True):
    """One row: the chain's last link. Only the linker writes it, so no request waits on it.

    `keyed_from`: the first seq linked with the key (rows before it are version 1).
    `mac`: HMAC of (last_seq, last_hash, keyed_from) with the audit key; the linker refuses
    to extend a head whose signature does not hold.

    The anchor: where the chain now starts after retention pruned its oldest events (the seq
    and hash of the last pruned event, and the largest id pruned), signed with the audit key
    (`anchor_mac`, app/audit/prune.py). No anchor: seq 0 and the genesis hash."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_seq: int = 0
    last_hash: str = Field(default=GENESIS_HASH, max_length=64)
    keyed_from: int = 1
    mac: str = Field(default="", max_length=64)
    anchor_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    anchor_hash: str = Field(default=GENESIS_HASH, max_length=64)
    anchor_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    anchor_mac: str = Field(default="", max_length=64)
