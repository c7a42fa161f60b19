"""The auditor's view of the log. Reading the log is itself audited."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.audit.forms import PAGE_SIZE, Before, EventQuery
from app.audit.service import lag, read_events
from app.auth.guards import Auditor
from app.db import SessionDep, utcnow
from app.web import render
from app.web.paging import Page, kept_params

router = APIRouter()


@router.get("/audit")
def audit_page(request: Request, db: SessionDep, who: Auditor, flt: EventQuery,
               before: Before = None) -> Response:
    waiting = lag(db)  # as the log stood when this reading began
    events, more = read_events(db, who.actor, flt, limit=PAGE_SIZE, before_id=before)
    params = dict(request.query_params)
    filters = {k: params.get(k, "") for k in ("actor", "action", "object_type", "object_id",
                                               "since", "until")}
    page = Page(items=events, size=PAGE_SIZE, more=more,
                params=kept_params(request, "before"),
                cursor=("before", str(events[-1].id)) if more and events else None)
    return render(request, "audit/list.html", {
        "page": page, "filters": filters, "unlinked": waiting.unlinked,
        "unlinked_seconds": round(waiting.seconds(utcnow()))})
