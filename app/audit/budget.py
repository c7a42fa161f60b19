"""Per-user read budgets: how many personal-data records one person may read per hour and
per day. Counters live in the database (one row per user and hour), so every worker and host
counts the same reads. Past a budget the read is refused (429 with Retry-After) and the
refusal is audited; the auditors' home page lists who ran into their budget.

Every audited read passes through `audit.service.record`, which charges it here when the
request's session carries a budget (app/db.py puts it there from the settings).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col, func, select

from app.audit.models import AuditEvent
from app.db import UTCDateTime

EXCEEDED_ACTION = "read.budget_exceeded"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
KEEP = timedelta(days=8)  # counters older than this go: the volumes page shows 7 days
# The audited reads of personal data: each counts as many records as the ids it lists.
READ_ACTIONS = frozenset({
    "prisoner.search", "prisoner.dossier", "prisoner.reveal_dob", "estate.read",
    "account.view", "evidence.image.viewed", "evidence.image.displayed",
    "evidence.candidates.viewed", "match.compared", "match.queue.viewed",
    "library.photos.viewed", "takedown.view", "takedown.form_view", "takedown.disclosure",
    "evidence.video.viewed", "evidence.video.displayed",
})


class ReadCount(SQLModel, table=True):
    """Records of personal data one user read within one clock hour."""

    __tablename__ = "read_count"

    user_id: int = Field(primary_key=True)
    hour: datetime = Field(primary_key=True, sa_type=UTCDateTime, index=True)
    reads: int = 0


@dataclass(frozen=True)
class Budget:
    per_hour: int
    per_day: int
    # writes the refusal's audit event in a transaction of its own (the request's rolls back)
    regardless: Callable[[Callable[[Session], object]], None] | None = None


class OverBudget(Exception):
    def __init__(self, retry_after: int, which: str, used: int, limit: int) -> None:
        super().__init__(which)
        self.retry_after, self.which, self.used, self.limit = retry_after, which, used, limit


def _hour_of(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def charge(session: Session, user_id: int, records: int, budget: Budget, now: datetime) -> None:
    """Count `records` reads for the user; raise OverBudget (counting nothing) when they
    would go past the hour's or the day's budget."""
    hour = _hour_of(now)
    rows = session.exec(select(ReadCount.hour, ReadCount.reads).where(
        col(ReadCount.user_id) == user_id, col(ReadCount.hour) > hour - DAY)
        .order_by(col(ReadCount.hour))).all()  # one indexed read: the day's hours, this one too
    this_hour = sum(reads for at, reads in rows if at == hour)
    if this_hour + records > budget.per_hour:
        raise OverBudget(int((hour + HOUR - now).total_seconds()) + 1, "hour",
                         this_hour, budget.per_hour)
    today = sum(reads for _, reads in rows)
    if today + records > budget.per_day:
        # the oldest hour still counted leaves the day's window first
        raise OverBudget(int((rows[0][0] + DAY - now).total_seconds()) + 1, "day",
                         today, budget.per_day)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ReadCount).values(user_id=user_id, hour=hour, reads=records)
    session.execute(statement.on_conflict_do_update(
        index_elements=["user_id", "hour"],
        set_={"reads": ReadCount.__table__.c.reads + records}))  # type: ignore[attr-defined]
    if now.minute == 0 and now.second < 5:  # now and then, not on every read
        session.execute(delete(ReadCount).where(col(ReadCount.hour) < hour - KEEP))


@dataclass(frozen=True)
class Volume:
    user_id: int
    username: str
    last_day: int
    last_week: int


def volumes(session: Session, now: datetime) -> list[Volume]:
    """Records read per user over the last 24 hours and 7 days, busiest first."""
    hour = _hour_of(now)
    day_expr = func.sum(ReadCount.reads).filter(col(ReadCount.hour) > hour - DAY)
    rows = session.exec(select(ReadCount.user_id, day_expr, func.sum(ReadCount.reads))
                        .where(col(ReadCount.hour) > hour - timedelta(days=7))
                        .group_by(col(ReadCount.user_id))).all()
    ids = [uid for uid, _, _ in rows]
    # the names the log knows them by (the log does not depend on the users table)
    names = dict(session.exec(select(AuditEvent.actor_id, func.max(AuditEvent.actor_name))
                              .where(col(AuditEvent.actor_id).in_(ids))
                              .group_by(col(AuditEvent.actor_id))).all()) if ids else {}
    out = [Volume(uid, str(names.get(uid, f"user {uid}")), int(day or 0), int(week or 0))
           for uid, day, week in rows]
    return sorted(out, key=lambda v: (-v.last_day, -v.last_week, v.user_id))


@dataclass(frozen=True)
class Exceeded:
    username: str
    at: datetime
    which: str


def recent_exceeded(session: Session, now: datetime, days: int = 7) -> list[Exceeded]:
    """Who ran into a budget lately, newest first, once per user and budget."""
    rows = session.exec(select(AuditEvent).where(
        col(AuditEvent.action) == EXCEEDED_ACTION,
        col(AuditEvent.occurred_at) >= now - timedelta(days=days))
        .order_by(col(AuditEvent.id).desc()).limit(200)).all()
    seen, out = set(), []
    for row in rows:
        which = str(json.loads(row.details or "{}").get("budget", ""))
        if (row.actor_name, which) not in seen:
            seen.add((row.actor_name, which))
            out.append(Exceeded(row.actor_name, row.occurred_at, which))
    return out
