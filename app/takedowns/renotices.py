"""Re-notices in batches: claim, store as being sent, deliver side by side, record as they
come back. Each step is a unit of work of its own (the caller's); none holds a transaction
while a platform answers.

1. Claim: `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one writer anyway), then
   `UPDATE ... WHERE id IN (...) AND still due` that moves each claimed takedown's
   next_notice_due_at past the run (to now + RETRY_AFTER) and bumps its version. A second
   runner's UPDATE no longer matches those rows: each notice number is made once.
2. Prepare: render each notice and store it as `sending` (outbox.py), committed before any is
   delivered, so that a crash during delivery leaves a visible trace that a later run acts on.
3. Deliver outside any transaction, several at a time (network waits overlap).
4. Record each group that came back: the outcome on each notice, one disclosure audit event,
   the takedowns' counters. A failed one keeps the claim's next_notice_due_at (now +
   RETRY_AFTER): a later run makes the same number again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.audit.service import Actor, record
from app.errors import Unprocessable
from app.settings import Settings
from app.takedowns import delivery, notices, outbox
from app.takedowns.delivery import FAILED, SENDING, Outcome
from app.takedowns.models import Notice, PlatformSettings, Takedown
from app.takedowns.outbox import WAITING, Attempt

RETRY_AFTER = timedelta(minutes=30)  # after a failed re-notice


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
    """Claim up to `limit` due takedowns for this runner (the caller commits the claim)
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
    return [Claimed(t, accounts[t.account_id], platforms[t.platform], held[t.id or 0])
            for t in takedowns], len(ids)


@dataclass
class Prepared:
    ready: list[tuple[Claimed, Attempt]]
    failed: int = 0  # the template fails: recorded as a failed notice, retried after a fix
    skipped: int = 0  # its number is still on its way from an earlier run (outbox.py)
    unfiled: int = 0  # a portal notice still waits to be filed: no new one on top of it


def prepare_batch(session: Session, settings: Settings, actor: Actor, batch: list[Claimed],
                  now: datetime) -> Prepared:
    """Each claimed takedown's next notice, stored as being sent (the caller commits)."""
    out = Prepared([])
    made: list[tuple[Claimed, Notice, delivery.Outgoing]] = []
    for item in batch:
        last = item.held[-1] if item.held else None
        if last is not None and last.delivery == delivery.MANUAL and last.submitted_at is None:
            out.unfiled += 1  # the claim brings it round again after RETRY_AFTER
            continue
        number = item.takedown.notices_sent + 1
        if any(n.number == number and n.delivery in delivery.IN_FLIGHT for n in item.held):
            out.skipped += 1
            continue
        try:
            prepared = notices.prepare(session, settings, item.takedown, item.account,
                                       item.platform, now, item.held)
        except Unprocessable as exc:
            notices.record_failure(session, actor, item.takedown, item.platform, exc.message,
                                   now, item.held)
            out.failed += 1
            continue
        notice = notices.notice_row(actor, item.takedown, prepared, SENDING, now)
        session.add(notice)
        made.append((item, notice, prepared.out))
    session.flush()
    out.ready = [(item, Attempt(notice.id or 0, notice.takedown_id, notice.number,
                                notice.version, sent))
                 for item, notice, sent in made]
    return out


def record_group(session: Session, actor: Actor, done: list[tuple[Claimed, Attempt, Outcome]],
                 now: datetime) -> int:
    """Record deliveries that came back (one unit of work, the caller's): each notice's
    outcome, one disclosure audit event naming every recipient, and each takedown's counters
    -> how many takedowns this escalated."""
    ids = [attempt.notice_id for _, attempt, _ in done]
    list(session.exec(select(Notice).where(col(Notice.id).in_(ids))).all())  # one read
    settled = [(item, notice, outcome) for item, attempt, outcome in done
               if (notice := outbox.settle(session, attempt, outcome)) is not None]
    if not settled:
        return 0
    failed = sum(o.delivery == FAILED for _, _, o in settled)
    record(session, actor, "takedown.disclosure", object_type="takedown",
           object_ids=[item.takedown.id or 0 for item, _, _ in settled],
           outcome="success" if not failed else "failure" if failed == len(settled)
           else "partial",
           purpose="takedown re-notices",
           details={"via": ", ".join(sorted({notices.via_of(o) for _, _, o in settled})),
                    "notices": [{**notices.disclosed(item.takedown, notice),
                                 "via": notices.via_of(o)} for item, notice, o in settled]})
    return outbox.advance(session, actor, [
        (item.takedown, item.platform.renotice_hours, notice.number)
        for item, notice, outcome in settled if outcome.delivery != FAILED], now)
