"""Drafting a takedown from an account page: the form, and the POST that creates it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from app.accounts.platforms import display_name_of, profile_url_of
from app.accounts.service import get_account
from app.auth.deps import Principal, requires
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import AppError, NotFound
from app.takedowns import packs, service
from app.takedowns.forms import Drafter, doer, flash
from app.takedowns.machine import Action
from app.takedowns.models import Takedown
from app.takedowns.platforms import CHANNELS, get_platform
from app.web import render

router = APIRouter()
Reader = Annotated[Principal, Depends(requires(P.takedowns_read))]


def form_page(request: Request, db: Session, who: Principal, account_id: int, *,
              reason: str = "", error: str = "", status: int = 200) -> Response:
    account = get_account(db, account_id)
    platform = get_platform(db, account.platform)
    return render(request, "takedowns/new.html", {
        "account": account, "profile_url": profile_url_of(account.platform, account.handle),
        "platform_name": display_name_of(account.platform),
        "channel": CHANNELS.get(platform.channel, platform.channel),
        "address": platform.address, "open": service.open_takedown_of(db, account_id),
        "images": len(packs.evidence_of(db, account_id)), "reason": reason, "error": error,
        "reason_min": service.REASON_MIN, "reason_max": service.REASON_MAX,
    }, status_code=status)


@router.get("/accounts/{account_id:int}/takedowns/new")
def new_takedown(request: Request, account_id: int, db: SessionDep, who: Drafter) -> Response:
    return form_page(request, db, who, account_id)


@router.post("/accounts/{account_id:int}/takedowns")
def create_takedown(request: Request, account_id: int, db: SessionDep, who: Drafter,
                    reason: Annotated[str, Form(max_length=4000)] = "",
                    submit: Annotated[str, Form(max_length=8)] = "") -> Response:
    try:
        takedown = service.create_takedown(db, doer(who), account_id, reason)
        if submit == "yes":  # "create and submit for approval" in one go
            service.transition(db, request.app.state.settings, doer(who), takedown.id or 0,
                               Action.submit.value, version=takedown.version)
    except NotFound:
        raise
    except AppError as exc:
        db.rollback()
        return form_page(request, db, who, account_id, reason=reason, error=exc.message,
                         status=exc.status_code)
    flash(db, who, f"Takedown TD-{takedown.id} was created"
                   f"{' and submitted for approval' if submit == 'yes' else ' as a draft'}.")
    db.commit()
    return RedirectResponse(f"/takedowns/{takedown.id}", status_code=303)


@router.get("/accounts/{account_id:int}/takedowns/panel")
def account_panel(request: Request, account_id: int, db: SessionDep, who: Reader) -> Response:
    """The account page's takedowns (loaded by htmx: accounts sits below takedowns, so the
    account page cannot query them itself); its cell searches load into it the same way."""
    get_account(db, account_id)
    takedowns = db.exec(select(Takedown).where(Takedown.account_id == account_id)
                        .order_by(col(Takedown.created_at).desc())).all()
    return render(request, "takedowns/_account_panel.html", {
        "account_id": account_id, "takedowns": takedowns,
        "can_draft": who.can(P.takedowns_draft), "can_search": who.can(P.searches_request)})
