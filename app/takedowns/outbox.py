"""Deliveries after the commit: a notice is due, then being sent, then has its outcome.

1. The unit of work that decides a notice stores it as due (delivery=pending): notice #1 in
   the request that sends a takedown (service.py). A job's re-notices are stored already
   claimed (renotices.py), in a unit of work of their own before any is delivered.
2. claim: in a unit of work of its own, a compare-and-set on the notice marks it sending
   (attempts + 1, attempt_started_at), committed BEFORE the network call.
3. deliver: outside any transaction, the notice's stored text and pack, with the same
   Message-ID (email) or Idempotency-Key (webhook) on every attempt (delivery.py).
4. record: in another unit of work, the outcome (a compare-and-set on the notice again: only
   the attempt that claimed it records), its disclosure audit event, and what it does to the
   takedown (#1: sent, or it stays approved; a re-notice: counters and escalation).

A failed commit in step 1 leaves nothing due, so nothing is sent. A crash between steps 3 and 4
leaves the notice `sending`; once INTERRUPTED_AFTER has passed, `cellwatch jobs run` sends it
again with the same identifiers and says so (`resent`, and a `takedown.notice_resent` audit
event): the platform may have received it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, or_, update
from sqlmodel import Session, col, select

from app.accounts.service import get_account
from app.audit.service import Actor, record
from app.db import compare_and_set, unit_of_work, utcnow
from app.errors import Conflict
from app.settings import Settings
from app.takedowns import channels, delivery, notices, packfiles, packs, service
from app.takedowns.delivery import FAILED, PENDING, SENDING, Outcome
from app.takedowns.machine import AWAITING_PLATFORM
from app.takedowns.models import Notice, Takedown

log = logging.getLogger("cellwatch")

# Well past the longest delivery timeout (300 s): an attempt this old has died unrecorded.
INTERRUPTED_AFTER = timedelta(minutes=15)
RESENT_NOTE = "re-sent after an interruption: the platform may have received it twice"
ESCALATE_AFTER = 3  # notices without an outcome
WAITING = [s.value for s in AWAITING_PLATFORM]


@dataclass(frozen=True)
class Attempt:
    """One claimed delivery of one notice."""

    notice_id: int
    takedown_id: int
    number: int
    version: int  # the notice's version after the claim: only this attempt records
    out: delivery.Outgoing | None  # None: nothing can go (see error)
    resent: bool = False  # an earlier attempt died without recording its outcome
    error: str = ""


def leftovers(session: Session, now: datetime, limit: int) -> list[Notice]:
    """Notices due but never tried (a request's delivery did not run), and attempts that died
    before recording their outcome."""
    stale = now - INTERRUPTED_AFTER
    return list(session.exec(select(Notice).where(or_(
        col(Notice.delivery) == PENDING,
        and_(col(Notice.delivery) == SENDING,
             or_(col(Notice.attempt_started_at).is_(None),
                 col(Notice.attempt_started_at) <= stale))))
        .order_by(col(Notice.id)).limit(limit)
        .execution_options(populate_existing=True)).all())


def claim(session: Session, settings: Settings, notice: Notice, now: datetime) -> Attempt | None:
    """Mark a due notice (or a dead attempt's) as being sent; None if it is not claimable any
    more (delivered meanwhile, or another runner took it). The caller commits before sending."""
    interrupted = notice.delivery == SENDING
    started = notice.attempt_started_at
    if not (notice.delivery == PENDING or (
            interrupted and (started is None or started <= now - INTERRUPTED_AFTER))):
        return None
    try:
        compare_and_set(session, notice, notice.version, what="notice", delivery=SENDING,
                        attempts=notice.attempts + 1, attempt_started_at=now,
                        resent=notice.resent or interrupted)
    except Conflict:
        return None
    takedown = service.get_takedown(session, notice.takedown_id)
    try:
        out: delivery.Outgoing | None = notices.outgoing_of(
            session, settings, takedown, get_account(session, takedown.account_id), notice)
        error = ""
    except packfiles.PackErased as exc:  # erased with a picture it held: it must not go
        out, error = None, (f"Not sent: the evidence pack was {exc.reason}. Send the notice "
                            "again: a new pack is made from what remains.")[:1000]
    except packfiles.PackMissing as exc:
        out, error = None, f"The evidence pack cannot be opened: {exc}"[:1000]
    gone = packs.withdrawn_in(session, packs.manifest_of(out.pack)) if out else []
    if gone:  # withdrawn after the pack was made: it must not go; sending again makes a new one
        out, error = None, (f"Not sent: the evidence pack holds image(s) {gone} withdrawn since "
                            "it was made. Send the notice again: a new pack leaves them out.")
    return Attempt(notice.id or 0, notice.takedown_id, notice.number, notice.version, out,
                   interrupted, error)


def deliver(settings: Settings, attempt: Attempt) -> Outcome:
    """Outside any transaction; never raises for a failed delivery."""
    if attempt.out is None:
        return Outcome(FAILED, attempt.error)
    return delivery.deliver(settings, attempt.out)


def settle(session: Session, attempt: Attempt, outcome: Outcome) -> Notice | None:
    """Store the outcome on the notice, if this attempt still holds it (else None)."""
    notice = session.get(Notice, attempt.notice_id)
    if notice is None:
        return None
    try:
        compare_and_set(session, notice, attempt.version, what="notice",
                        delivery=outcome.delivery, error=outcome.error[:1000])
    except Conflict:
        log.warning("notice %s: outcome of an attempt taken over meanwhile not recorded",
                    attempt.notice_id)
        return None
    return notice


def record_outcome(session: Session, actor: Actor, attempt: Attempt, outcome: Outcome,
                   now: datetime, note: str = "") -> service.Done | None:
    """Step 4 for one notice; None if another attempt holds it now."""
    notice = settle(session, attempt, outcome)
    if notice is None:
        return None
    takedown = service.get_takedown(session, attempt.takedown_id)
    notices.disclosure(session, actor, takedown, notice, outcome=outcome,
                       via=notices.via_of(outcome, resent=attempt.resent))
    if attempt.resent:
        record(session, actor, "takedown.notice_resent", object_type="takedown",
               object_ids=[takedown.id or 0],
               outcome="failure" if outcome.delivery == FAILED else "success",
               details={"notice": notice.number, "attempts": notice.attempts,
                        "note": RESENT_NOTE, "delivery": outcome.delivery})
    if notice.number == 1:
        return service.first_notice_outcome(session, actor, takedown, notice, outcome, now, note)
    if outcome.delivery == FAILED:  # the claim's next_notice_due_at brings it round again
        return service.Done(takedown, notice, f"Notice #{notice.number} could not be "
                                              f"delivered: {outcome.error}")
    platform = channels.get_platform(session, takedown.platform)
    advance(session, actor, [(takedown, platform.renotice_hours, notice.number)], now)
    return service.Done(takedown, notice)


def advance(session: Session, actor: Actor, sent: list[tuple[Takedown, int, int]],
            now: datetime) -> int:
    """Re-notices that went out: (takedown as claimed, its platform's cadence in hours, the
    notice number) -> how many takedowns this escalated. Never resurrects the cadence of a
    takedown someone resolved while its notice was in flight."""
    if not sent:
        return 0
    table = Takedown.__table__  # type: ignore[attr-defined]
    session.execute(
        update(table).where(table.c.id == bindparam("b_id")).values(
            notices_sent=bindparam("b_number"),
            next_notice_due_at=case(  # no IN (...): executemany cannot expand it
                (or_(*[table.c.state == w for w in WAITING]), bindparam("b_next")),
                else_=None),
            escalated=or_(table.c.escalated, bindparam("b_escalate"))),
        [{"b_id": takedown.id, "b_number": number,
          "b_next": now + timedelta(hours=hours), "b_escalate": number >= ESCALATE_AFTER}
         for takedown, hours, number in sent])
    escalated = 0
    for takedown, _, number in sent:
        if number >= ESCALATE_AFTER and not takedown.escalated:
            escalated += 1
            service.add_event(session, takedown, takedown.state, takedown.state, actor,
                              f"Escalated: {number} notices without an outcome", now)
            record(session, actor, "takedown.escalated", object_type="takedown",
                   object_ids=[takedown.id or 0], details={"notices": number})
    return escalated


def deliver_now(factory: Callable[[], Session], settings: Settings, actor: Actor,
                notice_id: int, *, note: str = "",
                now: datetime | None = None) -> service.Done | None:
    """Claim, deliver and record one notice, each step on its own (a request's background
    task, after its commit). None if the notice was not there to claim."""
    with unit_of_work(factory) as session:
        notice = session.get(Notice, notice_id, populate_existing=True)
        attempt = claim(session, settings, notice, now or utcnow()) if notice else None
    if attempt is None:
        return None
    outcome = deliver(settings, attempt)
    return finish(factory, actor, attempt, outcome, now=now, note=note)


def finish(factory: Callable[[], Session], actor: Actor, attempt: Attempt, outcome: Outcome,
           *, now: datetime | None = None, note: str = "") -> service.Done | None:
    """Step 4 in a unit of work of its own, tried again if the takedown moved meanwhile: the
    platform has the notice, so its outcome must be kept."""
    for tries in range(3):
        try:
            with unit_of_work(factory) as session:
                return record_outcome(session, actor, attempt, outcome, now or utcnow(), note)
        except Conflict:
            if tries == 2:
                raise
    return None
