"""The queue of second matching stages: match runs that have no `second_stage_at` yet.

Whoever runs a second stage (a match worker, the web process after its answer, `jobs run`)
claims it first with a conditional UPDATE, so no two run the same image at once. A claim that
is never finished (its process was killed) lapses after LEASE and is claimed again, at most
MAX_ATTEMPTS times in all: every stored image gets its matching done, or a recorded reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from app.matching.models import MatchRun

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3


def _claimable(now: datetime) -> list[object]:
    return [col(MatchRun.second_stage_at).is_(None), col(MatchRun.attempts) < MAX_ATTEMPTS,
            or_(col(MatchRun.claimed_at).is_(None), col(MatchRun.claimed_at) < now - LEASE)]


def claim(session: Session, image_id: int, now: datetime) -> bool:
    """Take this image's second stage, unless it is done or someone holds it."""
    taken = session.execute(
        update(MatchRun).where(col(MatchRun.image_id) == image_id, *_claimable(now))
        .values(claimed_at=now, attempts=col(MatchRun.attempts) + 1))
    return taken.rowcount == 1  # type: ignore[attr-defined]


def claim_next(session: Session, now: datetime) -> int | None:
    """The oldest claimable second stage, taken; None when there is nothing to do."""
    while True:
        image_id = session.exec(
            select(MatchRun.image_id).where(*_claimable(now))
            .order_by(col(MatchRun.first_stage_at)).limit(1)
            .with_for_update(skip_locked=True)).first()
        if image_id is None:
            return None
        if claim(session, image_id, now):
            return image_id
        # another worker took it between the look and the claim (SQLite): look again


def release(session: Session, image_id: int) -> None:
    """Give a claimed stage back (its run was cut off by the database going away), so that
    it is taken up again at once rather than when the lease lapses."""
    session.execute(update(MatchRun).where(col(MatchRun.image_id) == image_id,
                                           col(MatchRun.second_stage_at).is_(None))
                    .values(claimed_at=None, attempts=col(MatchRun.attempts) - 1))


@dataclass(frozen=True)
class Backlog:
    """The queue as an operator watches it: stages to run, since when, and given up."""

    waiting: int
    oldest_at: datetime | None
    failed: int  # no attempt left: the reason is on the match run, the page shows it


def backlog(session: Session) -> Backlog:
    pending = col(MatchRun.second_stage_at).is_(None)
    count, oldest = session.exec(
        select(func.count(), func.min(MatchRun.first_stage_at))
        .where(pending, col(MatchRun.attempts) < MAX_ATTEMPTS)).one()
    failed = session.exec(select(func.count()).select_from(MatchRun)
                          .where(pending, col(MatchRun.attempts) >= MAX_ATTEMPTS)).one()
    if oldest is not None and oldest.tzinfo is None:  # aggregates skip the column type
        oldest = oldest.replace(tzinfo=UTC)
    return Backlog(int(count or 0), oldest, int(failed or 0))
