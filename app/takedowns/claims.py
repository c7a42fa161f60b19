"""Working the queue: claim the next takedown, release it.

A claim is a compare-and-set on claimed_by (`... WHERE claimed_by IS NULL`), so two analysts
pressing "claim next" together never get the same takedown. Claiming does not move the
version: it is not a decision about the takedown, and must not turn someone's open page stale.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.audit.service import record
from app.auth.permissions import Permission
from app.db import utcnow
from app.errors import Conflict, Forbidden
from app.takedowns import machine
from app.takedowns.machine import Action, State
from app.takedowns.models import Takedown
from app.takedowns.service import Doer, get_takedown

CANDIDATES = 10


def claimable_states(permissions: frozenset[Permission]) -> list[str]:
    """States where this role has work to do (drafts stay with their authors)."""
    return sorted({t.source.value for t in machine.TRANSITIONS
                   if t.permission in permissions and t.action is not Action.withdraw
                   and t.source is not State.draft})


def claim_next(session: Session, doer: Doer) -> Takedown | None:
    """Overdue first, then the nearest target, then the oldest; None when nothing is left."""
    states = claimable_states(doer.permissions)
    if not states:
        raise Forbidden("Your role has no takedown work to claim.")
    for _ in range(5):  # others may take the candidates we saw; look again a few times
        query = (select(Takedown.id).where(col(Takedown.state).in_(states),
                                           col(Takedown.claimed_by).is_(None))
                 .where(~((col(Takedown.state) == State.awaiting_approval.value)
                          & (col(Takedown.author_id) == doer.user_id)))
                 .order_by(col(Takedown.overdue).desc(), col(Takedown.target_due_at).is_(None),
                           col(Takedown.target_due_at), col(Takedown.id))
                 .limit(CANDIDATES))
        ids = list(session.exec(query).all())
        if not ids:
            return None
        for takedown_id in ids:
            taken = session.execute(
                update(Takedown).where(col(Takedown.id) == takedown_id,
                                       col(Takedown.claimed_by).is_(None))
                .values(claimed_by=doer.user_id, claimed_at=utcnow())
                .execution_options(synchronize_session=False))
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                record(session, doer.actor, "takedown.claim", object_type="takedown",
                       object_ids=[takedown_id])
                return get_takedown(session, takedown_id)
    return None


def release(session: Session, doer: Doer, takedown_id: int) -> Takedown:
    takedown = get_takedown(session, takedown_id)
    if takedown.claimed_by is None:
        return takedown
    if (takedown.claimed_by != doer.user_id
            and Permission.takedowns_approve not in doer.permissions):
        raise Forbidden("Only the person who claimed it, or a supervisor, may release it.")
    done = session.execute(
        update(Takedown).where(col(Takedown.id) == takedown_id,
                               col(Takedown.claimed_by) == takedown.claimed_by)
        .values(claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"TD-{takedown_id} was released or claimed again meanwhile; reload.")
    record(session, doer.actor, "takedown.release", object_type="takedown",
           object_ids=[takedown_id], details={"was_claimed_by": takedown.claimed_by})
    return get_takedown(session, takedown_id)
