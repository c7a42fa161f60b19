"""Sign-in throttles: per client address first, per account only when many addresses fail.

A stranger guessing from one address meets a growing delay after a few failures, then a block
of that address; the account they aim at stays open to its owner, who signs in from elsewhere.
An account is locked only after many failures from many addresses within the window (a spread
attack), and that lock is an audit event shown on the admins' home page. Refused attempts are
answered 429 with Retry-After and audited; they check no password and count no failure.

Failures are rows in the database, so every worker and host sees the same counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, delete
from sqlmodel import Field, Session, SQLModel, col, func, select

from app.audit.models import AuditEvent
from app.audit.service import Actor, record
from app.auth import users
from app.db import UTCDateTime, utcnow
from app.settings import Settings

LOCKOUT_ACTION = "auth.lockout"
KEEP = timedelta(days=1)  # failures older than this are removed as new ones come


class LoginFailure(SQLModel, table=True):
    """One failed sign-in: when, which name was tried, from which address."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_addr_at", "client_addr", "at"),
                      Index("ix_login_failure_username_at", "username", "at"))

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    username: str = Field(max_length=64)
    client_addr: str = Field(max_length=64)


@dataclass(frozen=True)
class Policy:
    window: timedelta
    free_failures: int  # per address, before any delay
    max_delay: int  # seconds
    block_after: int  # failures per address within the window
    lock_failures: int  # per account within the window...
    lock_addresses: int  # ...from at least this many distinct addresses
    lock_minutes: int
    keep: timedelta = KEEP  # failures older than this go (CELLWATCH_RETENTION_LOGIN_FAILURE_HOURS)

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(timedelta(minutes=settings.login_window_minutes),
                   settings.login_free_failures, settings.login_max_delay_seconds,
                   settings.login_address_block_failures, settings.login_account_lock_failures,
                   settings.login_account_lock_addresses, settings.login_lockout_minutes,
                   timedelta(hours=settings.retention_login_failure_hours))

    def delay(self, failures: int) -> int:
        """Seconds to wait after the latest failure: 0, then 1, 2, 4... up to max_delay."""
        if failures < self.free_failures:
            return 0
        return min(2 ** (failures - self.free_failures), self.max_delay)


def _address_failures(db: Session, addr: str, since: datetime) -> list[datetime]:
    return list(db.exec(select(LoginFailure.at).where(
        col(LoginFailure.client_addr) == addr, col(LoginFailure.at) >= since)
        .order_by(col(LoginFailure.at))).all())


def wait_seconds(db: Session, policy: Policy, addr: str, now: datetime) -> int:
    """How long this address must wait before its next attempt is even checked (0: go on)."""
    times = _address_failures(db, addr, now - policy.window)
    if len(times) >= policy.block_after:
        # blocked until enough of its failures leave the window to fall below the limit
        until = times[len(times) - policy.block_after] + policy.window
    elif times:
        until = times[-1] + timedelta(seconds=policy.delay(len(times)))
    else:
        return 0
    return max(0, int((until - now).total_seconds() + 0.999))


def refuse(db: Session, actor: Actor, username: str, wait: int) -> None:
    """Audit an attempt turned away before its password was looked at."""
    record(db, actor, "auth.login", outcome="throttled",
           details={"username": username[:64], "retry_after_seconds": wait})


def failed(db: Session, policy: Policy, actor: Actor, username: str, now: datetime) -> None:
    """Count a failed sign-in; lock the account if many addresses are failing on it."""
    name = username.strip().lower()[:64]
    db.execute(delete(LoginFailure).where(col(LoginFailure.at) < now - policy.keep))
    db.add(LoginFailure(at=now, username=name, client_addr=actor.client_addr[:64]))
    db.flush()
    user = users.find_user(db, name)
    if user is None or (user.locked_until and user.locked_until > now):
        return
    since = now - policy.window
    count, addresses = db.exec(select(
        func.count(col(LoginFailure.id)), func.count(func.distinct(LoginFailure.client_addr)))
        .where(col(LoginFailure.username) == name, col(LoginFailure.at) >= since)).one()
    if count < policy.lock_failures or addresses < policy.lock_addresses:
        return
    user.locked_until = now + timedelta(minutes=policy.lock_minutes)
    db.add(user)
    record(db, actor, LOCKOUT_ACTION, object_type="user", object_ids=[user.id or 0],
           details={"username": user.username, "minutes": policy.lock_minutes,
                    "failures": count, "addresses": addresses})


@dataclass(frozen=True)
class Lockout:
    username: str
    at: datetime
    addresses: int


def recent_lockouts(db: Session, now: datetime, days: int = 7) -> list[Lockout]:
    """Accounts locked by spread sign-in failures lately: what the admins' home page shows."""
    since = now - timedelta(days=days)
    rows = db.exec(select(AuditEvent).where(col(AuditEvent.action) == LOCKOUT_ACTION,
                                            col(AuditEvent.occurred_at) >= since)
                   .order_by(col(AuditEvent.id).desc()).limit(20)).all()
    out = []
    for row in rows:
        details = json.loads(row.details or "{}")
        out.append(Lockout(str(details.get("username", "")), row.occurred_at,
                           int(details.get("addresses", 0))))
    return out
