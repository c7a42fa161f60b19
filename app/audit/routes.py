"""The auditor's view of the log. Reading the log is itself audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.audit.models import AuditEvent
from app.audit.service import EventFilter, list_events, record
from app.auth.deps import Principal, requires
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import Unprocessable
from app.web import render

router = APIRouter()
Auditor = Annotated[Principal, Depends(requires(P.audit_read))]
PAGE_SIZE = 100


def _day(value: str, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"{value!r} is not a date (YYYY-MM-DD).") from None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=UTC)


def _events(
    db: SessionDep, who: Principal, actor: str, action: str, object_type: str, object_id: str,
    since: str, until: str, before: int | None,
) -> list[AuditEvent]:
    flt = EventFilter(actor_name=actor.strip(), action=action.strip(),
                      object_type=object_type.strip(), object_id=object_id.strip(),
                      since=_day(since), until=_day(until, end=True))
    events = list_events(db, flt, limit=PAGE_SIZE, before_id=before)
    record(db, who.actor, "audit.read", object_type="audit_event",
           object_ids=[e.id or 0 for e in events],
           details={k: v for k, v in vars(flt).items() if v})
    db.commit()
    return events


Text = Annotated[str, Query(max_length=64)]
Day = Annotated[str, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")]


@router.get("/audit")
def audit_page(
    request: Request, db: SessionDep, who: Auditor, actor: Text = "", action: Text = "",
    object_type: Text = "", object_id: Text = "", since: Day = "", until: Day = "",
    before: int | None = None,
) -> Response:
    events = _events(db, who, actor, action, object_type, object_id, since, until, before)
    filters = {"actor": actor, "action": action, "object_type": object_type,
               "object_id": object_id, "since": since, "until": until}
    return render(request, "audit/list.html", {
        "events": events, "filters": filters, "page_size": PAGE_SIZE,
        "next_before": events[-1].id if len(events) == PAGE_SIZE else None,
    })


@router.get("/api/v1/audit")
def audit_api(
    db: SessionDep, who: Auditor, actor: Text = "", action: Text = "", object_type: Text = "",
    object_id: Text = "", since: Day = "", until: Day = "", before: int | None = None,
) -> list[AuditEvent]:
    return _events(db, who, actor, action, object_type, object_id, since, until, before)
