"""JSON API under /api/v1/takedowns: list, create, change a draft, read (with notice #1's
preview and the evidence basis), transition (with version), claim, platforms. The same
services as the pages; no bulk approval (each approval follows reading its evidence)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool
from sqlmodel import Session

from app.accounts.platforms import Platform
from app.audit.service import record
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import Drafter, Sender, TakedownReader
from app.db import SessionDep, utcnow
from app.settings import Settings
from app.takedowns import (
    basis,
    cited_videos,
    claims,
    drafts,
    packs,
    queries,
    service,
    tasks,
)
from app.takedowns.channels import get_platform, list_platforms
from app.takedowns.deps import TakedownDep
from app.takedowns.drafts import Draft
from app.takedowns.forms import board_filter, doer
from app.takedowns.machine import Action, State
from app.takedowns.models import Takedown
from app.takedowns.presenters import notice_public
from app.takedowns.schemas import (
    Claimed,
    PlatformOut,
    TakedownDetail,
    TakedownPage,
    TransitionOut,
)
from app.web.numbers import ROW_ID_MAX
from app.web.wire import Instant, Whole

router = APIRouter(prefix="/api/v1/takedowns")


def _declared(**rules: object) -> Any:
    """Bounds shown in the document but checked by drafts.check, which names every field that
    is missing or wrong in one refusal (`detail.fields`), after trimming."""
    return Field(json_schema_extra=rules)


class DraftIn(BaseModel):
    evidence_ids: list[Whole] = Field(
        default_factory=list,
        description="the account's images that go in the notice and pack (these and "
                    "`video_ids` together: at least one)",
        json_schema_extra={"maxItems": packs.MAX_IMAGES})
    video_ids: list[Whole] = Field(
        default_factory=list,
        description="the account's videos cited: each one's matched frames go in as images "
                    "and the manifest names its original by sha256 (sampled videos only)",
        json_schema_extra={"maxItems": cited_videos.MAX_VIDEOS})
    reason: str = _declared(minLength=drafts.REASON_MIN, maxLength=drafts.REASON_MAX)
    legal_basis: str = _declared(minLength=drafts.BASIS_MIN, maxLength=drafts.BASIS_MAX)
    contact: str = Field(description="who the platform answers, with an email address",
                         json_schema_extra={"minLength": drafts.CONTACT_MIN,
                                            "maxLength": drafts.CONTACT_MAX})
    good_faith: StrictBool = Field(description="the drafter makes the good-faith statement (a "
                                   "notice without it is refused)")
    platform_account_id: str = Field(default="", description="the platform's numeric account "
                                     "id, if known", json_schema_extra={"maxLength": 32,
                                                                        "pattern": "^[0-9]*$"})

    def draft(self) -> Draft:
        return Draft(reason=self.reason, evidence_ids=tuple(self.evidence_ids),
                     video_ids=tuple(self.video_ids),
                     legal_basis=self.legal_basis, contact=self.contact,
                     good_faith=self.good_faith, platform_account_id=self.platform_account_id)


class TakedownIn(DraftIn):
    account_id: Whole


class DraftEdit(DraftIn):
    version: Whole = Field(description="the version you read: a stale one is refused "
                                           "with 409")


class TransitionIn(BaseModel):
    action: Action
    version: Whole = Field(description="the version you read: a stale one is refused with 409")
    note: str = Field(default="", max_length=2000)
    reference: str = Field(default="", max_length=128, description="the platform's reference")
    at: Instant | None = Field(default=None, description="when the platform acted")


@router.get("", response_model=TakedownPage)
def list_api(db: SessionDep, who: TakedownReader,
             platform: Annotated[Platform | Literal[""], Query()] = "",
             establishment: Annotated[str, Query(max_length=8)] = "",
             state: Annotated[State | Literal[""], Query()] = "",
             after_id: Annotated[int, Query(ge=0, le=ROW_ID_MAX)] = 0,
             limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    now = utcnow()
    items = queries.listing(db, board_filter(db, str(platform), establishment, str(state)), now,
                            after_id=after_id, limit=limit)
    for i in items:
        for key in ("target_due_at", "next_notice_due_at", "created_at"):
            i[key] = i[key].isoformat() if i[key] else None
    return {"items": items, "next_after_id": items[-1]["id"] if len(items) == limit else None}


@router.post("", status_code=201, response_model=TakedownDetail)
def create_api(body: TakedownIn, db: SessionDep, settings: SettingsDep,
               who: Drafter) -> dict[str, Any]:
    """A draft with notice #1 previewed (GET it to read the preview before submitting); a
    missing or wrong field is a 422 whose detail.fields names each."""
    takedown = service.create_takedown(db, settings, doer(who), body.account_id, body.draft())
    return _full(db, settings, who, takedown)


@router.put("/{takedown_id:int}", response_model=TakedownDetail)
def edit_api(body: DraftEdit, db: SessionDep, settings: SettingsDep, who: Drafter,
             takedown: TakedownDep) -> dict[str, Any]:
    """The author changes a draft; notice #1 is previewed again."""
    service.edit_draft(db, settings, doer(who), takedown.id or 0, body.draft(),
                       version=body.version)
    return _full(db, settings, who, takedown)


@router.get("/platforms", response_model=list[PlatformOut])
def platforms_api(db: SessionDep, who: TakedownReader) -> list[dict[str, Any]]:
    return [{"platform": p.platform, "channel": p.channel, "address": p.address,
             "renotice_hours": p.renotice_hours, "target_hours": p.target_hours,
             "template": p.template, "tells_holder": p.tells_holder,
             "tells_holder_note": p.tells_holder_note} for p in list_platforms(db)]


@router.post("/claim-next", response_model=Claimed)
def claim_api(db: SessionDep, who: Sender) -> dict[str, Any]:
    takedown = claims.claim_next(db, doer(who))
    return {"takedown": queries.public(takedown, utcnow()) if takedown else None}


@router.get("/{takedown_id:int}", response_model=TakedownDetail)
def read_api(db: SessionDep, settings: SettingsDep, who: TakedownReader,
             takedown: TakedownDep) -> dict[str, Any]:
    return _full(db, settings, who, takedown)


def _full(db: Session, settings: Settings, who: Principal, takedown: Takedown) -> dict[str, Any]:
    """A takedown with its events, notices, notice #1's preview and the evidence basis; the
    read of the people and pictures in it is audited."""
    now = utcnow()
    context = queries.detail(db, takedown, now)
    evidence = basis.basis_of(db, takedown, settings.local_timezone)
    record(db, who.actor, "takedown.view", object_type="takedown", object_ids=[takedown.id or 0],
           details={"account_id": takedown.account_id, "image_ids": evidence.image_ids,
                    "video_ids": evidence.video_ids, "prisoner_ids": evidence.prisoner_ids})
    preview = drafts.preview_of(db, takedown.id or 0)
    platform = get_platform(db, takedown.platform)
    return {**queries.public(takedown, now), "handle": context["account"].handle,
            "evidence_ids": drafts.chosen_ids(db, takedown.id or 0),
            "video_ids": cited_videos.cited_ids(db, takedown.id or 0),
            "platform_tells_holder": platform.tells_holder,
            "platform_tells_holder_note": platform.tells_holder_note,
            "preview": None if preview is None else {
                "subject": preview.subject, "body": preview.body,
                "channel": platform.channel, "recipient": platform.address,
                "pack_filename": f"TD-{takedown.id}-evidence.zip",
                "pack_sha256": preview.pack_sha256, "made_at": preview.made_at.isoformat()},
            "basis": basis.basis_json(evidence),
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
    done = service.transition(db, settings, doer(who), takedown.id or 0, body.action.value,
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
