"""The auditor's view of the log. Reading the log is itself audited."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.audit import budget
from app.audit.forms import PAGE_SIZE, Before, EventQuery
from app.audit.service import lag, read_events, record
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


@router.get("/audit/reads")
def read_volumes_page(request: Request, db: SessionDep, who: Auditor) -> Response:
    """Records of personal data each user read (last 24 hours, 7 days) and who ran into a
    read budget; each name leads to that user's events in the log. Audited as a log read."""
    now = utcnow()
    shown = budget.volumes(db, now)
    record(db, who.actor, "audit.read", object_type="user",
           object_ids=[v.user_id for v in shown], details={"view": "read volumes"})
    settings = request.app.state.settings
    return render(request, "audit/reads.html", {
        "volumes": shown, "exceeded": budget.recent_exceeded(db, now),
        "per_hour": settings.read_budget_per_hour, "per_day": settings.read_budget_per_day})
