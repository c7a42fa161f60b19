"""Spread the demo's casework over the days its stories tell.

The takedown and cell-search services stamp every step with the present moment (and refuse
times in the past), so a demo built in one minute would show every takedown removed seconds
after it was sent, and the reports' "time to removal" would read 0. Once the stories are
walked through, this moves the casework's times onto a plausible calendar: each account
taken in (and its matches and attributions decided) the morning after it posted, its takedown
drafted soon after, approved that afternoon, sent the next morning, an answer a day or a few
later; cell searches requested that morning. The order of steps is kept, nothing is later
than now, and the audit log is left as it is: it records truthfully when the demo was built.
"""

from __future__ import annotations

import zlib
from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, col, select

from app.accounts.models import Account, Attribution
from app.cellsearch.models import CellSearch
from app.demo.stories import STORIES
from app.evidence.models import EvidenceImage, Image
from app.matching.models import Match
from app.takedowns.machine import State
from app.takedowns.models import Notice, Takedown, TakedownEvent

# hours after the previous step that each new state is reached, as a busy unit manages it
AFTER: dict[str, float] = {
    State.awaiting_approval.value: 1.5, State.approved.value: 4.0, State.sent.value: 17.0,
    State.ready_to_submit.value: 17.0, State.acknowledged.value: 20.0,
    State.removed.value: 30.0, State.refused.value: 60.0, State.withdrawn.value: 40.0}
NOT_BEFORE_NOW = timedelta(hours=6)  # a re-notice falls due no sooner after the demo is built


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _jitter(key: str) -> float:
    """0.5 .. 2.0, fixed per key: answers do not all take the same time."""
    return 0.5 + (zlib.crc32(key.encode()) % 1000) / 666.0


class _Timeline:
    """Old moments -> new ones: each value moves by the shift of the latest step at or before
    it (a notice sent by a step, a due date set by it)."""

    def __init__(self) -> None:
        self.old: list[datetime] = []
        self.shift: list[timedelta] = []

    def add(self, old: datetime, new: datetime) -> None:
        self.old.append(_aware(old))
        self.shift.append(new - _aware(old))

    def move(self, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        i = max(bisect_right(self.old, _aware(value)) - 1, 0)
        return _aware(value) + self.shift[i]


def backdate(session: Session, accounts: dict[str, int], today: date, now: datetime) -> None:
    """`accounts`: story handle -> account id."""
    days_ago = {s.handle: s.days_ago for s in STORIES}
    posted = {account_id: today - timedelta(days=days_ago[handle])
              for handle, account_id in accounts.items()}
    for account_id, day in posted.items():
        _account(session, account_id, _intake_time(day, now))
    for takedown in session.exec(select(Takedown).order_by(col(Takedown.id))).all():
        if (day := posted.get(takedown.account_id)) is not None:
            _takedown(session, takedown, day, now)
    for search in session.exec(select(CellSearch).order_by(col(CellSearch.id))).all():
        if (day := posted.get(search.account_id or 0)) is not None:
            _search(search, day, now)
            session.add(search)


def _intake_time(posted: date, now: datetime) -> datetime:
    """The analysts take an account in at 08:00 the day after its posts."""
    return min(datetime.combine(posted + timedelta(days=1), time(8, 0), tzinfo=UTC),
               now - timedelta(hours=1))


def _account(session: Session, account_id: int, taken: datetime) -> None:
    account = session.get(Account, account_id)
    if account is None:
        return
    account.created_at = account.updated_at = taken
    session.add(account)
    held = session.exec(select(EvidenceImage).where(
        EvidenceImage.account_id == account_id)).all()
    for evidence in held:
        evidence.submitted_at = taken
        session.add(evidence)
        image = session.get(Image, evidence.image_id)
        if image is not None:  # a copy another account posted first keeps its earlier time
            image.created_at = min(_aware(image.created_at), taken)
            session.add(image)
    image_ids = [e.image_id for e in held]
    for match in session.exec(select(Match).where(
            col(Match.query_image_id).in_(image_ids))).all() if image_ids else []:
        match.created_at = taken + timedelta(minutes=2)
        if match.reviewed_at is not None:
            match.reviewed_at = taken + timedelta(minutes=40)
        session.add(match)
    for row in session.exec(select(Attribution).where(
            Attribution.account_id == account_id)).all():
        row.created_at = taken + timedelta(minutes=40)
        if row.decided_at is not None:
            row.decided_at = taken + timedelta(minutes=60)
        session.add(row)


def _takedown(session: Session, takedown: Takedown, posted: date, now: datetime) -> None:
    events = session.exec(select(TakedownEvent).where(
        TakedownEvent.takedown_id == takedown.id).order_by(col(TakedownEvent.id))).all()
    start = min(datetime.combine(posted + timedelta(days=1), time(9, 30), tzinfo=UTC),
                now - timedelta(hours=8))
    steps = [start] + [timedelta(0)] * len(events)
    at = start
    for n, event in enumerate(events):
        at += timedelta(hours=AFTER.get(event.to_state, 2.0)
                        * _jitter(f"{takedown.id}/{event.id}"))
        steps[n + 1] = at
    # squeeze the whole history in before now, keeping its order and proportions
    latest = now - timedelta(minutes=30)
    if steps[-1] > latest:
        scale = max((latest - start) / (steps[-1] - start), 0.0) if steps[-1] > start else 0
        steps = [start + (s - start) * scale for s in steps]
    line = _Timeline()
    line.add(takedown.created_at, steps[0])
    for event, new in zip(events, steps[1:], strict=True):
        line.add(event.at, new)
        event.at = new
        session.add(event)
    sent_shift = line.move(takedown.first_sent_at)
    for name in ("created_at", "first_sent_at", "acknowledged_at", "resolved_at"):
        setattr(takedown, name, line.move(getattr(takedown, name)))
    if sent_shift is not None and takedown.next_notice_due_at is not None:
        moved = line.move(takedown.next_notice_due_at) or now
        takedown.next_notice_due_at = max(moved, now + NOT_BEFORE_NOW)
    takedown.target_due_at = line.move(takedown.target_due_at)
    session.add(takedown)
    for notice in session.exec(select(Notice).where(Notice.takedown_id == takedown.id)).all():
        notice.sent_at = line.move(notice.sent_at) or notice.sent_at
        session.add(notice)


def _search(search: CellSearch, posted: date, now: datetime) -> None:
    """Requested the morning after the posts; the prison acknowledges that afternoon and
    searches the next day."""
    requested = min(datetime.combine(posted + timedelta(days=1), time(10, 15), tzinfo=UTC),
                    now - timedelta(hours=3))
    acknowledged = requested + timedelta(hours=5)
    searched = requested + timedelta(hours=26)
    if search.acknowledged_at is not None:
        search.acknowledged_at = min(acknowledged, now - timedelta(hours=2))
    if search.completed_at is not None:
        search.completed_at = min(searched + timedelta(hours=2), now - timedelta(hours=1))
        search.searched_at = min(searched, search.completed_at)
    search.requested_at = requested
