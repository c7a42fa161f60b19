"""JSON API under /api/v1/takedowns: list, create, read, transition (with version), claim,
bulk approve, platforms. The same services as the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import Approver, Drafter, Sender, TakedownReader
from app.db import SessionDep, utcnow
from app.takedowns import claims, queries, service, tasks
from app.takedowns.channels import list_platforms
from app.takedowns.deps import TakedownDep
from app.takedowns.forms import board_filter, doer
from app.takedowns.presenters import notice_public
from app.takedowns.schemas import (
    BulkApproval,
    Claimed,
    PlatformOut,
    TakedownDetail,
    TakedownOut,
    TakedownPage,
    TransitionOut,
)

router = APIRouter(prefix="/api/v1/takedowns")


class TakedownIn(BaseModel):
    account_id: int
    reason: str = Field(max_length=4000)


class TransitionIn(BaseModel):
    action: str = Field(max_length=24)
    version: int = Field(description="the version you read: a stale one is refused with 409")
    note: str = Field(default="", max_length=2000)
    reference: str = Field(default="", max_length=128, description="the platform's reference")
    at: datetime | None = Field(default=None, description="when the platform acted (ISO 8601)")


class BulkIn(BaseModel):
    ids: list[int] = Field(max_length=500)


@router.get("", response_model=TakedownPage)
def list_api(db: SessionDep, who: TakedownReader,
             platform: Annotated[str, Query(max_length=16)] = "",
             establishment: Annotated[str, Query(max_length=8)] = "",
             state: Annotated[str, Query(max_length=24)] = "",
             after_id: Annotated[int, Query(ge=0)] = 0,
             limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    now = utcnow()
    items = queries.listing(db, board_filter(db, platform, establishment, state), now,
                            after_id=after_id, limit=limit)
    for i in items:
        for key in ("target_due_at", "next_notice_due_at", "created_at"):
            i[key] = i[key].isoformat() if i[key] else None
    return {"items": items, "next_after_id": items[-1]["id"] if len(items) == limit else None}


@router.post("", status_code=201, response_model=TakedownOut)
def create_api(body: TakedownIn, db: SessionDep, who: Drafter) -> dict[str, Any]:
    takedown = service.create_takedown(db, doer(who), body.account_id, body.reason)
    return queries.public(takedown, utcnow())


@router.get("/platforms", response_model=list[PlatformOut])
def platforms_api(db: SessionDep, who: TakedownReader) -> list[dict[str, Any]]:
    return [{"platform": p.platform, "channel": p.channel, "address": p.address,
             "renotice_hours": p.renotice_hours, "target_hours": p.target_hours,
             "template": p.template} for p in list_platforms(db)]


@router.post("/claim-next", response_model=Claimed)
def claim_api(db: SessionDep, who: Sender) -> dict[str, Any]:
    takedown = claims.claim_next(db, doer(who))
    return {"takedown": queries.public(takedown, utcnow()) if takedown else None}


@router.post("/bulk-approve", response_model=BulkApproval)
def bulk_api(body: BulkIn, db: SessionDep, settings: SettingsDep,
             who: Approver) -> dict[str, Any]:
    result = claims.bulk_approve(db, settings, doer(who), body.ids)
    return {"approved": result.approved,
            "refused": [{"id": i, "reason": r} for i, r in result.refused]}


@router.get("/{takedown_id:int}", response_model=TakedownDetail)
def read_api(db: SessionDep, who: TakedownReader, takedown: TakedownDep) -> dict[str, Any]:
    context = queries.detail(db, takedown, utcnow())
    record(db, who.actor, "takedown.view", object_type="takedown", object_ids=[takedown.id or 0],
           details={"account_id": takedown.account_id})
    return {**queries.public(takedown, utcnow()), "handle": context["account"].handle,
            "events": [{"from": e["event"].from_state, "to": e["event"].to_state,
                        "actor": e["actor"], "note": e["event"].note,
                        "at": e["event"].at.isoformat()} for e in context["events"]],
            "notices": [notice_public(n["notice"]) for n in context["notices"]]}


@router.post("/{takedown_id:int}/transitions", response_model=TransitionOut,
             responses={202: {"model": TransitionOut,
                              "description": "accepted: notice #1 is delivered after it"}})
def transition_api(request: Request, body: TransitionIn, db: SessionDep, settings: SettingsDep,
                   who: Drafter, takedown: TakedownDep,
                   background: BackgroundTasks) -> dict[str, Any] | JSONResponse:
    done = service.transition(db, settings, doer(who), takedown.id or 0, body.action,
                              version=body.version, note=body.note, reference=body.reference,
                              at=body.at)
    out = queries.public(done.takedown, utcnow())
    if done.notice is not None:
        out["notice"] = notice_public(done.notice)
    if done.due and done.notice is not None:
        # Accepted, not done: notice #1 is delivered once this request has committed; its
        # outcome shows on GET /api/v1/takedowns/{id} (sent, or approved with the error).
        background.add_task(tasks.deliver_first_notice, request.app.state.session_factory,
                            settings, who.actor, done.notice.id or 0, body.note.strip())
        return JSONResponse(out, status_code=202)
    return out
