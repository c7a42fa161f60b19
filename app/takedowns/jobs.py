"""Scheduled work (`cellwatch jobs run`): flag overdue takedowns, send due re-notices.

Safe to run from cron on several hosts: the run holds a database lock (locks.py), and each
re-notice is claimed by a conditional UPDATE before it is sent (renotices.py), so even two
runners that somehow overlap never send the same notice number twice (and the unique
(takedown_id, number) constraint stands behind both). Deliveries run several at a time;
each is recorded in its own transaction as soon as it returns.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.db import make_session_factory, utcnow
from app.errors import Unprocessable
from app.locks import Lease, job_lock
from app.settings import Settings
from app.takedowns import delivery, notices, platforms, renotices
from app.takedowns.models import Takedown
from app.takedowns.renotices import ESCALATE_AFTER, RETRY_AFTER, WAITING

JOBS_ACTOR = Actor(user_id=None, name="job:takedowns", client_addr="local")
LOCK_NAME = "takedowns"
BATCH = 50  # claimed together; a crash leaves at most this many to wait for RETRY_AFTER
DELIVERY_WORKERS = 8  # notices on the wire at once


@dataclass
class JobReport:
    ran: bool = True
    overdue_flagged: int = 0
    delivered: int = 0
    manual: int = 0  # portal re-notices, ready for a person to file
    failed: int = 0
    escalated: int = 0
    skipped: int = 0  # taken by another runner, or changed by a person meanwhile

    def summary(self) -> str:
        if not self.ran:
            return "another runner holds the takedowns lock; nothing done"
        return (f"overdue flagged {self.overdue_flagged}; re-notices delivered {self.delivered}, "
                f"ready for portal {self.manual}, failed {self.failed}; escalated "
                f"{self.escalated}; skipped {self.skipped}")


def run(engine: Engine, settings: Settings, *, now: datetime | None = None,
        actor: Actor = JOBS_ACTOR, holder: str | None = None) -> JobReport:
    """One run under the database lock; returns ran=False if another runner holds it."""
    with job_lock(engine, LOCK_NAME, holder) as lease:
        if lease is None:
            return JobReport(ran=False)
        return run_unlocked(engine, settings, now=now or utcnow(), actor=actor, lease=lease)


def run_unlocked(engine: Engine, settings: Settings, *, now: datetime, actor: Actor,
                 lease: Lease | None = None) -> JobReport:
    factory = make_session_factory(engine)
    report = JobReport()
    with factory() as session:
        report.overdue_flagged = flag_overdue(session, actor, now)
        session.commit()
        cache = {p.platform: p for p in platforms.list_platforms(session)}
        session.expunge_all()
    idle = 0
    with factory() as session, ThreadPoolExecutor(DELIVERY_WORKERS) as pool:
        while idle < 3:  # claims that found nothing: others took the rows; stop soon
            batch, looked = renotices.claim_batch(session, now, BATCH, cache)
            report.skipped += looked - len(batch)
            if not looked:
                break
            idle = 0 if batch else idle + 1
            _send_batch(session, settings, actor, batch, now, pool, report)
            session.expunge_all()  # keep the identity map small over a long run
            if lease is not None:
                lease.renew()
    return report


def _send_batch(session: Session, settings: Settings, actor: Actor,
                batch: list[renotices.Claimed], now: datetime, pool: ThreadPoolExecutor,
                report: JobReport) -> None:
    pending: dict[Future[delivery.Outcome], tuple[renotices.Claimed, notices.Prepared]] = {}
    for item in batch:
        try:
            prepared = notices.prepare(session, settings, item.takedown, item.account,
                                       item.platform, now, item.held)
        except Unprocessable as exc:  # the template fails: recorded, retried after a fix
            renotices.record_failure(session, actor, item, exc.message, now)
            session.commit()
            report.failed += 1
            continue
        pending[pool.submit(delivery.deliver, settings, prepared.out)] = (item, prepared)
    while pending:
        # Record whatever has come back, together: while recording, more deliveries finish,
        # so the groups grow when the database is the slower side.
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        group = [(*pending.pop(f), f.result()) for f in done]
        report.escalated += renotices.record_group(session, actor, group, now)
        session.commit()
        for _, _, outcome in group:
            kind = {delivery.DELIVERED: "delivered", delivery.MANUAL: "manual"}.get(
                outcome.delivery, "failed")
            setattr(report, kind, getattr(report, kind) + 1)


def flag_overdue(session: Session, actor: Actor, now: datetime) -> int:
    """Mark unresolved takedowns past their target time. A flag, not a decision: the version
    does not move, so nobody's open page turns stale because a clock ticked."""
    ids = list(session.exec(select(Takedown.id).where(
        col(Takedown.state).in_(WAITING), col(Takedown.target_due_at) < now,
        col(Takedown.overdue).is_(False))).all())
    for start in range(0, len(ids), BATCH):
        session.execute(update(Takedown).where(col(Takedown.id).in_(ids[start:start + BATCH]))
                        .values(overdue=True).execution_options(synchronize_session=False))
    if ids:
        record(session, actor, "takedown.overdue", object_type="takedown",
               object_ids=[i or 0 for i in ids], details={"count": len(ids)})
    return len(ids)


__all__ = ["ESCALATE_AFTER", "RETRY_AFTER", "JobReport", "flag_overdue", "run", "run_unlocked"]
