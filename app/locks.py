"""A database-wide lock so that two job runners never work at the same time.

PostgreSQL: a session-level `pg_try_advisory_lock` held on a dedicated connection for the run
(it goes away with the connection if the runner dies). SQLite: a lease on a JobLock row, taken
with a compare-and-set UPDATE (free, or expired) and renewed while the run goes on; a runner
that dies leaves a lease that simply expires.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.dialects import sqlite
from sqlmodel import Field, SQLModel, col

from app.db import UTCDateTime, utcnow

LEASE = timedelta(minutes=5)


class JobLock(SQLModel, table=True):
    """A named lease, so that two job runners never do the same work at once (SQLite too)."""

    __tablename__ = "job_lock"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(default="", max_length=128)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:128]


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock from the lock's name."""
    return int.from_bytes(hashlib.sha256(f"cellwatch:{name}".encode()).digest()[:8], "big",
                          signed=True)


class Lease:
    """A held lock; `renew()` keeps a SQLite lease alive during a long run."""

    def __init__(self, engine: Engine, name: str, holder: str) -> None:
        self.engine, self.name, self.holder = engine, name, holder
        self.renewed_at = utcnow()

    def renew(self) -> None:
        if self.engine.dialect.name == "postgresql" or utcnow() - self.renewed_at < LEASE / 3:
            return
        with self.engine.begin() as conn:
            conn.execute(update(JobLock).where(col(JobLock.name) == self.name,
                                               col(JobLock.holder) == self.holder)
                         .values(expires_at=utcnow() + LEASE))
        self.renewed_at = utcnow()


@contextmanager
def job_lock(engine: Engine, name: str, holder: str | None = None) -> Iterator[Lease | None]:
    """Yield a Lease if this runner got the lock, else None (another runner holds it)."""
    holder = holder or new_holder()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            key = advisory_key(name)
            got = bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar())
            conn.commit()
            try:
                yield Lease(engine, name, holder) if got else None
            finally:
                if got:
                    conn.execute(select(func.pg_advisory_unlock(key)))
                    conn.commit()
        return
    got = _take_lease(engine, name, holder)
    try:
        yield Lease(engine, name, holder) if got else None
    finally:
        if got:
            with engine.begin() as conn:
                conn.execute(update(JobLock).where(col(JobLock.name) == name,
                                                   col(JobLock.holder) == holder)
                             .values(holder="", expires_at=None))


def _take_lease(engine: Engine, name: str, holder: str) -> bool:
    with engine.begin() as conn:
        # BEGIN IMMEDIATE-like: the write lock first, so the check and the claim are one step
        conn.execute(sqlite.insert(JobLock).values(name=name, holder="", expires_at=None)
                     .on_conflict_do_nothing(index_elements=[col(JobLock.name)]))
        now = utcnow()
        taken = conn.execute(
            update(JobLock).where(col(JobLock.name) == name,
                                  or_(col(JobLock.expires_at).is_(None),
                                      col(JobLock.expires_at) < now))
            .values(holder=holder, expires_at=now + LEASE))
        return taken.rowcount == 1

