"""Deciding on matches and attributions: a confirmed cell match suggests the occupants."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts import attribution
from app.auth.deps import Principal, SettingsDep, requires
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import Unprocessable
from app.matching import service as matching
from app.matching.routes import back_to_image

router = APIRouter()
Reviewer = Annotated[Principal, Depends(requires(P.matches_review))]
Attributor = Annotated[Principal, Depends(requires(P.attribution_confirm))]
Note = Annotated[str, Form(max_length=500)]
ReturnTo = Annotated[str, Form(max_length=64)]


def _decide_match(db: SessionDep, who: Principal, tz: str, match_id: int, confirm: bool,
                  note: str) -> tuple[Any, int]:
    match = matching.get_match(db, match_id)
    matching.review(db, who.actor, match, confirm=confirm, note=note)
    suggested = attribution.suggest_for_match(db, who.actor, match, tz) if confirm else []
    db.commit()
    return match, len(suggested)


@router.post("/matches/{match_id}/confirm")
def confirm_match(request: Request, match_id: int, db: SessionDep, settings: SettingsDep,
                  who: Reviewer, note: Note = "",
                  back_to: Annotated[int | None, Form()] = None,
                  return_to: ReturnTo = "") -> Response:
    match, _ = _decide_match(db, who, settings.local_timezone, match_id, True, note)
    return back_to_image(request, match, back_to, return_to)


@router.post("/matches/{match_id}/reject")
def reject_match(request: Request, match_id: int, db: SessionDep, settings: SettingsDep,
                 who: Reviewer, note: Note = "",
                 back_to: Annotated[int | None, Form()] = None,
                 return_to: ReturnTo = "") -> Response:
    match, _ = _decide_match(db, who, settings.local_timezone, match_id, False, note)
    return back_to_image(request, match, back_to, return_to)


@router.post("/api/v1/matches/{match_id}/{decision}")
def decide_match_api(match_id: int, decision: str, db: SessionDep, settings: SettingsDep,
                     who: Reviewer, note: str = "") -> dict[str, Any]:
    if decision not in ("confirm", "reject"):
        raise Unprocessable("The decision is 'confirm' or 'reject'.")
    match, suggested = _decide_match(db, who, settings.local_timezone, match_id,
                                     decision == "confirm", note)
    return {"match_id": match.id, "status": match.status, "attributions_suggested": suggested}


def _decide_attribution(db: SessionDep, who: Principal, attribution_id: int, confirm: bool,
                        note: str) -> int:
    row = attribution.get_attribution(db, attribution_id)
    attribution.decide(db, who.actor, row, confirm=confirm, note=note)
    db.commit()
    return row.account_id


@router.post("/attributions/{attribution_id}/confirm")
def confirm_attribution(attribution_id: int, db: SessionDep, who: Attributor,
                        note: Note = "") -> Response:
    account_id = _decide_attribution(db, who, attribution_id, True, note)
    return RedirectResponse(f"/accounts/{account_id}#attributions", status_code=303)


@router.post("/attributions/{attribution_id}/reject")
def reject_attribution(attribution_id: int, db: SessionDep, who: Attributor,
                       note: Note = "") -> Response:
    account_id = _decide_attribution(db, who, attribution_id, False, note)
    return RedirectResponse(f"/accounts/{account_id}#attributions", status_code=303)


@router.post("/api/v1/attributions/{attribution_id}/{decision}")
def decide_attribution_api(attribution_id: int, decision: str, db: SessionDep,
                           who: Attributor, note: str = "") -> dict[str, Any]:
    if decision not in ("confirm", "reject"):
        raise Unprocessable("The decision is 'confirm' or 'reject'.")
    _decide_attribution(db, who, attribution_id, decision == "confirm", note)
    row = attribution.get_attribution(db, attribution_id)
    return {"attribution_id": row.id, "status": row.status, "account_id": row.account_id}


@router.post("/accounts/{account_id}/attributions")
def manual_attribution(account_id: int, db: SessionDep, who: Attributor,
                       prison_number: Annotated[str, Form(max_length=16)],
                       reason: Annotated[str, Form(max_length=1000)]) -> Response:
    attribution.attribute_manually(db, who.actor, account_id, prison_number, reason)
    db.commit()
    return RedirectResponse(f"/accounts/{account_id}#attributions", status_code=303)
