"""The audit log over JSON: `/api/v1/audit`, the same filter and paging as the page."""

from __future__ import annotations

from fastapi import APIRouter

from app.audit.forms import PAGE_SIZE, Before, EventQuery
from app.audit.models import AuditEvent
from app.audit.service import read_events
from app.auth.guards import Auditor
from app.db import SessionDep

router = APIRouter()


@router.get("/api/v1/audit")
def audit_api(db: SessionDep, who: Auditor, flt: EventQuery,
              before: Before = None) -> list[AuditEvent]:
    """The newest PAGE_SIZE events matching; pass the last id as `before` for older ones."""
    return read_events(db, who.actor, flt, limit=PAGE_SIZE, before_id=before)[0]
