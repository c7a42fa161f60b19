"""Read side: the queue board, the API list and one takedown's page. Never writes.

The board asks for each lane with `WHERE state = ? ORDER BY target_due_at, id LIMIT n`, which
walks the (state, target_due_at) index: overdue items have the earliest targets, so they come
first without sorting the table (lanes without targets go by id). Filters are conditions on
the takedown row (the establishment as a semi-join), so each lane is limited before it is
joined to anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func
from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.accounts.platforms import display_name_of, profile_url_of
from app.auth.models import User
from app.takedowns.machine import AWAITING_PLATFORM, FINAL_STATES, State
from app.takedowns.models import Notice, Takedown, TakedownEvent

LABELS = {
    State.draft: "Draft", State.awaiting_approval: "Awaiting approval",
    State.approved: "Approved, not sent", State.ready_to_submit: "Ready to submit (not sent)",
    State.sent: "Sent", State.acknowledged: "Acknowledged",
    State.removed: "Removed", State.refused: "Refused", State.withdrawn: "Withdrawn",
}
BOARD_STATES = [State.sent, State.acknowledged, State.awaiting_approval, State.approved,
                State.ready_to_submit, State.draft]
LANE_LIMIT = 25
_WAITING = {s.value for s in AWAITING_PLATFORM}


@dataclass(frozen=True)
class BoardFilter:
    platform: str = ""
    establishment_id: int | None = None
    state: str = ""  # one state only (final states are listed only this way)


def _filtered(query: Select[Any], flt: BoardFilter) -> Select[Any]:
    """Filters as conditions on takedown alone (the establishment as a semi-join), so each
    lane is ordered and limited before anything is joined to it."""
    if flt.platform:
        query = query.where(col(Takedown.platform) == flt.platform)
    if flt.establishment_id is not None:
        query = query.where(col(Takedown.account_id).in_(
            select(Account.id).where(col(Account.establishment_id) == flt.establishment_id)))
    return query


def _rows(session: Session, query: Select[Any]) -> list[tuple[Takedown, str]]:
    """The takedowns, each with its account's handle (one query for all of them)."""
    found = list(session.exec(query).all())  # type: ignore[call-overload]
    return _with_handles(session, found)


def _with_handles(session: Session, found: list[Takedown]) -> list[tuple[Takedown, str]]:
    ids = {t.account_id for t in found}
    handles = dict(session.exec(select(Account.id, Account.handle)
                                .where(col(Account.id).in_(ids))).all()) if ids else {}
    return [(t, handles.get(t.account_id, "?")) for t in found]


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {uid or 0: name for uid, name in session.exec(
        select(User.id, User.username).where(col(User.id).in_(wanted))).all()}


def is_overdue(t: Takedown, now: datetime) -> bool:
    return t.state in _WAITING and (t.overdue or (t.target_due_at is not None
                                                   and t.target_due_at < now))


def item(t: Takedown, handle: str, names: dict[int, str], now: datetime) -> dict[str, Any]:
    return {
        "id": t.id, "ref": f"TD-{t.id}", "account_id": t.account_id, "handle": handle,
        "platform": t.platform, "platform_name": display_name_of(t.platform), "state": t.state,
        "state_label": LABELS.get(State(t.state), t.state), "version": t.version,
        "target_due_at": t.target_due_at, "next_notice_due_at": t.next_notice_due_at,
        "overdue": is_overdue(t, now), "escalated": t.escalated, "notices_sent": t.notices_sent,
        "claimed_by": names.get(t.claimed_by or 0, ""), "claimed_by_id": t.claimed_by,
        "author_id": t.author_id, "created_at": t.created_at,
        "platform_reference": t.platform_reference,
    }


def _stats(session: Session, flt: BoardFilter, now: datetime) -> tuple[dict[str, int], int]:
    """Counts by state, and how many waiting ones are past their target. Unfiltered: two
    index-only scans (GROUP BY state; a range on (state, target_due_at)). Filtered: one pass
    over the filtered rows, which is cheaper than asking twice (measured; bench/)."""
    if flt == BoardFilter(state=flt.state):
        counts = dict(session.exec(select(Takedown.state, func.count())  # type: ignore[call-overload]
                                   .group_by(col(Takedown.state))).all())
        overdue = session.exec(select(func.count()).select_from(Takedown).where(
            col(Takedown.state).in_(sorted(_WAITING)), col(Takedown.target_due_at) < now)).one()
        return counts, int(overdue)
    late = case((col(Takedown.state).in_(sorted(_WAITING))
                 & (col(Takedown.target_due_at) < now), 1), else_=0)
    query = _filtered(select(Takedown.state, func.count(), func.sum(late))
                      .select_from(Takedown), flt)
    rows = session.exec(query.group_by(col(Takedown.state))).all()  # type: ignore[call-overload]
    return {state: int(n) for state, n, _ in rows}, sum(int(p or 0) for _, _, p in rows)


def _order(state: State) -> list[Any]:
    """Waiting on the platform: nearest target first, so overdue on top. Resolved: latest
    target first (recently sent). Not sent yet (no target): oldest first. The first two walk
    the (state, target_due_at) index."""
    if state.value in _WAITING:
        return [col(Takedown.target_due_at), col(Takedown.id)]
    if state in FINAL_STATES:
        return [col(Takedown.target_due_at).desc()]
    return [col(Takedown.id)]


def board(session: Session, flt: BoardFilter, now: datetime) -> dict[str, Any]:
    counts, overdue = _stats(session, flt, now)
    base = _filtered(select(Takedown), flt)
    states = [State(flt.state)] if flt.state else BOARD_STATES
    found: list[tuple[State, list[Takedown]]] = []
    for state in states:
        query = base.where(col(Takedown.state) == state.value).order_by(*_order(state))
        found.append((state, list(session.exec(
            query.limit(200 if flt.state else LANE_LIMIT)).all())))  # type: ignore[call-overload]
    rows = dict(zip([s for s, _ in found],
                    _split(_with_handles(session, [t for _, ts in found for t in ts]),
                           [len(ts) for _, ts in found]), strict=True))
    names = _names(session, {t.claimed_by for _, ts in found for t in ts})
    lanes = [{"state": state.value, "label": LABELS[state], "count": counts.get(state.value, 0),
              "items": [item(t, h, names, now) for t, h in rows[state]]} for state, _ in found]
    return {"lanes": lanes, "counts": {s.value: counts.get(s.value, 0) for s in State},
            "overdue": overdue}


def _split(items: list[Any], sizes: list[int]) -> list[list[Any]]:
    out, start = [], 0
    for size in sizes:
        out.append(items[start:start + size])
        start += size
    return out


def listing(session: Session, flt: BoardFilter, now: datetime, *, after_id: int = 0,
            limit: int = 50) -> list[dict[str, Any]]:
    """Keyset-paged list for the API, in id order."""
    query = _filtered(select(Takedown), flt)
    if flt.state:
        query = query.where(col(Takedown.state) == flt.state)
    rows = _rows(session, query.where(col(Takedown.id) > after_id)
                 .order_by(col(Takedown.id)).limit(limit))
    names = _names(session, {t.claimed_by for t, _ in rows})
    return [item(t, h, names, now) for t, h in rows]


def detail(session: Session, takedown: Takedown, now: datetime) -> dict[str, Any]:
    account = session.get(Account, takedown.account_id)
    assert account is not None
    events = list(session.exec(select(TakedownEvent).where(
        TakedownEvent.takedown_id == takedown.id).order_by(col(TakedownEvent.at),
                                                           col(TakedownEvent.id))).all())
    sent = list(session.exec(select(Notice).where(Notice.takedown_id == takedown.id)
                             .order_by(col(Notice.number))).all())
    names = _names(session, {takedown.author_id, takedown.approver_id, takedown.claimed_by,
                             *(e.actor_id for e in events), *(n.sent_by for n in sent)})
    return {
        "takedown": takedown, "item": item(takedown, account.handle, names, now),
        "account": account, "names": names,
        "profile_url": profile_url_of(account.platform, account.handle),
        "events": [{"event": e, "actor": names.get(e.actor_id or 0, "system")} for e in events],
        "notices": [{"notice": n, "sent_by": names.get(n.sent_by or 0, "system")} for n in sent],
    }


def public(t: Takedown, now: datetime) -> dict[str, Any]:
    """A takedown as the API shows it."""
    return {
        "id": t.id, "ref": f"TD-{t.id}", "account_id": t.account_id, "platform": t.platform,
        "state": t.state, "version": t.version, "reason": t.reason, "author_id": t.author_id,
        "legal_basis": t.legal_basis, "platform_account_id": t.platform_account_id,
        "contact": t.contact, "good_faith": t.good_faith,
        "approver_id": t.approver_id, "claimed_by": t.claimed_by,
        "notices_sent": t.notices_sent, "escalated": t.escalated, "overdue": is_overdue(t, now),
        "platform_reference": t.platform_reference, "refusal_reason": t.refusal_reason,
        **{k: (v.isoformat() if v else None) for k, v in (
            ("created_at", t.created_at), ("first_sent_at", t.first_sent_at),
            ("acknowledged_at", t.acknowledged_at), ("resolved_at", t.resolved_at),
            ("next_notice_due_at", t.next_notice_due_at), ("target_due_at", t.target_due_at))},
    }
