"""Re-notices in batches: claim, deliver side by side, record each one as it comes back.

1. Claim (one short transaction): `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has
   one writer anyway), then `UPDATE ... WHERE id IN (...) AND still due` that moves each claimed
   takedown's next_notice_due_at past the run (to now + RETRY_AFTER) and bumps its version. A
   second runner's UPDATE no longer matches those rows: each notice number is sent once.
2. Deliver outside any transaction, several at a time (network waits overlap; no database lock
   is held while a platform answers).
3. Record each delivery in its own transaction: the notice row, its disclosure audit event, and
   the takedown's counters. A delivery that failed is recorded and, because the claim already
   moved next_notice_due_at to now + RETRY_AFTER, a later run sends the same number again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, or_, update
from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.audit.service import Actor, record
from app.takedowns import delivery, notices
from app.takedowns.machine import AWAITING_PLATFORM
from app.takedowns.models import Notice, PlatformSettings, Takedown
from app.takedowns.service import add_event

ESCALATE_AFTER = 3  # notices without an outcome
RETRY_AFTER = timedelta(minutes=30)  # after a failed re-notice
WAITING = [s.value for s in AWAITING_PLATFORM]


@dataclass
class Claimed:
    takedown: Takedown  # as it was right after the claim
    account: Account
    platform: PlatformSettings
    held: list[Notice]


def _due(now: datetime) -> list[object]:
    return [col(Takedown.state).in_(WAITING), col(Takedown.next_notice_due_at) <= now]


def claim_batch(session: Session, now: datetime, limit: int,
                platforms: dict[str, PlatformSettings]) -> tuple[list[Claimed], int]:
    """Claim up to `limit` due takedowns for this runner and commit the claim
    -> (claimed, how many due ones were looked at)."""
    ids = list(session.exec(
        select(Takedown.id).where(*_due(now))
        .order_by(col(Takedown.next_notice_due_at), col(Takedown.id)).limit(limit)
        .with_for_update(skip_locked=True)).all())
    claimed: list[int] = []
    if ids:
        claimed = list(session.execute(
            update(Takedown).where(col(Takedown.id).in_(ids), *_due(now))
            .values(version=Takedown.version + 1, next_notice_due_at=now + RETRY_AFTER)
            .returning(Takedown.id)).scalars().all())
    if not claimed:
        session.commit()
        return [], len(ids)
    # read them inside the claim, so what is sent is what was claimed
    takedowns = session.exec(select(Takedown).where(col(Takedown.id).in_(claimed))
                             .order_by(col(Takedown.id))
                             .execution_options(populate_existing=True)).all()
    accounts = {a.id: a for a in session.exec(select(Account).where(
        col(Account.id).in_({t.account_id for t in takedowns}))).all()}
    held: dict[int, list[Notice]] = defaultdict(list)
    for n in session.exec(select(Notice).where(col(Notice.takedown_id).in_(claimed))
                          .order_by(col(Notice.takedown_id), col(Notice.number))).all():
        held[n.takedown_id].append(n)
    session.commit()
    return [Claimed(t, accounts[t.account_id], platforms[t.platform], held[t.id or 0])
            for t in takedowns], len(ids)


def record_failure(session: Session, actor: Actor, item: Claimed, error: str,
                   now: datetime) -> None:
    """A re-notice that never left (its template fails): kept as failed, retried later."""
    notices.record_failure(session, actor, item.takedown, item.platform, error, now, item.held)


def record_group(session: Session, actor: Actor,
                 done: list[tuple[Claimed, notices.Prepared, delivery.Outcome]],
                 now: datetime) -> int:
    """Record deliveries that came back (one transaction for the caller to commit): the
    notice rows, one disclosure audit event naming every recipient, and each takedown's
    counters -> how many takedowns this escalated. Never resurrects the cadence of a takedown
    someone resolved while its notice was in flight."""
    rows = [notices.notice_row(actor, item.takedown, prepared, outcome)
            for item, prepared, outcome in done]
    session.add_all(rows)
    session.flush()
    failed = sum(o.delivery == delivery.FAILED for _, _, o in done)
    record(session, actor, "takedown.disclosure", object_type="takedown",
           object_ids=[item.takedown.id or 0 for item, _, _ in done],
           outcome="success" if not failed else "failure" if failed == len(done) else "partial",
           purpose="takedown re-notices",
           details={"via": "sent", "notices": [notices.disclosed(item.takedown, row)
                                               for (item, _, _), row in zip(done, rows,
                                                                            strict=True)]})
    sent = [(item, p.out.number) for item, p, o in done if o.delivery != delivery.FAILED]
    if sent:  # failed ones keep the claim's next_notice_due_at (now + RETRY_AFTER)
        table = Takedown.__table__  # type: ignore[attr-defined]
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(
                notices_sent=bindparam("b_number"),
                next_notice_due_at=case(  # no IN (...): executemany cannot expand it
                    (or_(*[table.c.state == w for w in WAITING]), bindparam("b_next")),
                    else_=None),
                escalated=or_(table.c.escalated, bindparam("b_escalate"))),
            [{"b_id": item.takedown.id, "b_number": number,
              "b_next": now + timedelta(hours=item.platform.renotice_hours),
              "b_escalate": number >= ESCALATE_AFTER} for item, number in sent])
    escalated = 0
    for item, number in sent:
        if number >= ESCALATE_AFTER and not item.takedown.escalated:
            escalated += 1
            takedown = item.takedown
            add_event(session, takedown, takedown.state, takedown.state, actor,
                      f"Escalated: {number} notices without an outcome", now)
            record(session, actor, "takedown.escalated", object_type="takedown",
                   object_ids=[takedown.id or 0], details={"notices": number})
    return escalated
