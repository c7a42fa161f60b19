"""Scheduled work (`cellwatch jobs run`): flag overdue takedowns, deliver what is left over,
send due re-notices.

Safe to run from cron on several hosts: the run holds a database lock (app/locks.py), and each
re-notice is claimed by a conditional UPDATE before it is made (renotices.py), so even two
runners that somehow overlap never send the same notice number twice (and the unique
(takedown_id, number) constraint stands behind both). Every step is a unit of work of its own;
deliveries run several at a time outside any, each group recorded as soon as it returns.

Left over (outbox.py): a notice #1 whose request committed but whose delivery never ran, and
any notice whose attempt died before recording its outcome (re-sent, and flagged as such).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.db import make_session_factory, unit_of_work, utcnow
from app.locks import Lease, job_lock
from app.settings import Settings
from app.takedowns import channels, delivery, outbox, renotices
from app.takedowns.models import Takedown
from app.takedowns.outbox import ESCALATE_AFTER, WAITING, Attempt
from app.takedowns.renotices import RETRY_AFTER

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
    unfiled: int = 0  # due, but the last portal notice is not filed yet: none made on top
    left_over: int = 0  # notices due or interrupted before this run, delivered now
    resent: int = 0  # of those, attempts that had died: the platform may have them twice

    def summary(self) -> str:
        if not self.ran:
            return "another runner holds the takedowns lock; nothing done"
        return (f"overdue flagged {self.overdue_flagged}; re-notices delivered {self.delivered}, "
                f"ready for portal {self.manual}, failed {self.failed}; escalated "
                f"{self.escalated}; skipped {self.skipped}; waiting for a portal notice to be "
                f"filed {self.unfiled}; left over from before "
                f"{self.left_over}, of which re-sent after an interruption {self.resent}")

    def count(self, outcome: delivery.Outcome) -> None:
        kind = {delivery.DELIVERED: "delivered", delivery.MANUAL: "manual"}.get(
            outcome.delivery, "failed")
        setattr(self, kind, getattr(self, kind) + 1)


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
    with unit_of_work(factory) as session:
        report.overdue_flagged = flag_overdue(session, actor, now)
        cache = {p.platform: p for p in channels.list_platforms(session)}
        session.expunge_all()
    with ThreadPoolExecutor(DELIVERY_WORKERS) as pool:
        deliver_left_over(factory, settings, actor, now, pool, report)
        idle = 0
        while idle < 3:  # claims that found nothing: others took the rows; stop soon
            with unit_of_work(factory) as session:
                batch, looked = renotices.claim_batch(session, now, BATCH, cache)
            report.skipped += looked - len(batch)
            if not looked:
                break
            idle = 0 if batch else idle + 1
            if batch:
                _send_batch(factory, settings, actor, batch, now, pool, report)
            if lease is not None:
                lease.renew()
    return report


def deliver_left_over(factory: Callable[[], Session], settings: Settings, actor: Actor,
                      now: datetime, pool: ThreadPoolExecutor, report: JobReport) -> None:
    """Notices due before this run and never delivered, and attempts that died unrecorded."""
    while True:
        with unit_of_work(factory) as session:
            attempts = [a for n in outbox.leftovers(session, now, BATCH)
                        if (a := outbox.claim(session, settings, n, now)) is not None]
        if not attempts:
            return
        pending: dict[Future[delivery.Outcome], Attempt] = {
            pool.submit(outbox.deliver, settings, a): a for a in attempts}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                attempt = pending.pop(future)
                outcome = future.result()
                outbox.finish(factory, actor, attempt, outcome, now=now)
                report.left_over += 1
                report.resent += attempt.resent
                report.count(outcome)


def _send_batch(factory: Callable[[], Session], settings: Settings, actor: Actor,
                batch: list[renotices.Claimed], now: datetime, pool: ThreadPoolExecutor,
                report: JobReport) -> None:
    with unit_of_work(factory) as session:  # committed before anything is delivered
        prepared = renotices.prepare_batch(session, settings, actor, batch, now)
    report.failed += prepared.failed
    report.skipped += prepared.skipped
    report.unfiled += prepared.unfiled
    pending: dict[Future[delivery.Outcome], tuple[renotices.Claimed, Attempt]] = {
        pool.submit(outbox.deliver, settings, attempt): (item, attempt)
        for item, attempt in prepared.ready}
    while pending:
        # Record whatever has come back, together: while recording, more deliveries finish,
        # so the groups grow when the database is the slower side.
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        group = [(*pending.pop(f), f.result()) for f in done]
        with unit_of_work(factory) as session:
            report.escalated += renotices.record_group(session, actor, group, now)
        for _, _, outcome in group:
            report.count(outcome)


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
