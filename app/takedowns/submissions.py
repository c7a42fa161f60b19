"""Portal re-notices: a person files each one by hand and records it here (notice #1's filing
is the machine's `submitted` move, service.py, since it starts the cadence)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from app.audit.service import record
from app.errors import Conflict, NotFound, Unprocessable
from app.takedowns import notices
from app.takedowns.delivery import MANUAL
from app.takedowns.models import Notice, Takedown
from app.takedowns.service import CLOCK_SKEW, Doer, get_takedown


def record_submitted(session: Session, doer: Doer, takedown_id: int, number: int, *,
                     reference: str, at: datetime | None, now: datetime) -> Notice:
    """Who filed re-notice `number` on the portal, when, and the portal's reference."""
    takedown: Takedown = get_takedown(session, takedown_id)
    notice = session.exec(select(Notice).where(Notice.takedown_id == takedown_id,
                                               Notice.number == number)).first()
    if notice is None:
        raise NotFound(f"TD-{takedown_id} has no notice #{number}.")
    if number == 1:
        raise Conflict("Notice #1 is recorded as submitted with the takedown's own button.")
    if notice.delivery != MANUAL:
        raise Conflict(f"Notice #{number} went by {notice.channel}: there is nothing to file.")
    if notice.submitted_at is not None:
        raise Conflict(f"Notice #{number} was already recorded as submitted.")
    reference = reference.strip()
    if len(reference) > 128 or any(ord(ch) < 32 for ch in reference):
        raise Unprocessable("The portal's reference is at most 128 plain characters.")
    when = at or now
    if when.tzinfo is None:
        raise Unprocessable("Give the time with its time zone.")
    if when > now + CLOCK_SKEW or when < notice.sent_at - CLOCK_SKEW:
        raise Unprocessable(f"Give a time between when notice #{number} was made and now.")
    notice.submitted_by, notice.submitted_at = doer.user_id, when
    notice.submission_reference = reference
    session.add(notice)
    session.flush()
    record(session, doer.actor, "takedown.notice_submitted", object_type="takedown",
           object_ids=[takedown_id],
           details={"notice": number, "reference": reference, "at": when.isoformat()})
    notices.disclosure(session, doer.actor, takedown, notice, via="submitted on the portal")
    return notice
