"""What the takedown routes share: who may, flashes, times typed into forms, queue filters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends
from sqlmodel import Session, col, select

from app.accounts.platforms import Platform
from app.auth.deps import Principal, requires
from app.auth.permissions import Permission as P
from app.auth.sessions import push_flash
from app.errors import Unprocessable
from app.estate.models import Establishment
from app.takedowns.machine import State
from app.takedowns.queries import BoardFilter
from app.takedowns.service import Doer
from app.web.dates import local_time

Reader = Annotated[Principal, Depends(requires(P.takedowns_read))]
Drafter = Annotated[Principal, Depends(requires(P.takedowns_draft))]
Sender = Annotated[Principal, Depends(requires(P.takedowns_send))]
Approver = Annotated[Principal, Depends(requires(P.takedowns_approve))]
PlatformEditor = Annotated[Principal, Depends(requires(P.platforms_edit))]

PLATFORMS = [(p.value, p.display_name) for p in Platform]


def doer(who: Principal) -> Doer:
    return Doer(who.actor, who.permissions)


def flash(db: Session, who: Principal, message: str, kind: str = "success") -> None:
    if who.session_row is not None:
        push_flash(who.session_row, message, kind)
        db.add(who.session_row)


def parse_local(value: str, tz: str) -> datetime | None:
    """A form's date-time: ISO 8601; without an offset it is the unit's local time."""
    value = value.strip()
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"{value!r} is not a date and time (YYYY-MM-DDTHH:MM).") from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(tz))


def board_filter(db: Session, platform: str, establishment: str, state: str) -> BoardFilter:
    """Filters from the query string; an unknown value is a 422, not an empty board."""
    if platform and platform not in {p.value for p in Platform}:
        raise Unprocessable(f"Unknown platform {platform!r}.")
    if state and state not in {s.value for s in State}:
        raise Unprocessable(f"Unknown state {state!r}.")
    est_id = None
    if establishment:
        est_id = db.exec(select(Establishment.id).where(
            Establishment.code == establishment.strip().upper())).first()
        if est_id is None:
            raise Unprocessable(f"Unknown establishment {establishment!r}.")
    return BoardFilter(platform=platform, establishment_id=est_id, state=state)


def establishments(db: Session) -> list[tuple[str, str]]:
    return [(c, n) for c, n in db.exec(select(Establishment.code, Establishment.name)
                                      .order_by(col(Establishment.code))).all()]


def countdown(due: datetime | None, now: datetime) -> str:
    """The text the page starts with; static/js/countdown.js keeps it moving."""
    if due is None:
        return ""
    left = due - now
    ahead = left >= timedelta(0)
    secs = int(abs(left.total_seconds()))
    d, rest = divmod(secs, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    text = f"{d}d {h:02d}h {m:02d}m" if d else f"{h}h {m:02d}m {s:02d}s"
    return f"due in {text}" if ahead else f"overdue by {text}"


def time_helpers(tz: str, now: datetime) -> dict[str, object]:
    """Functions the templates call to show times in the unit's zone."""
    return {"local": lambda v: local_time(v, tz), "countdown": lambda v: countdown(v, now),
            "now": now}
