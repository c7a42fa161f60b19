"""Drafting a takedown from an account page: the form, the POST that creates it, and the
account page's panel of its takedowns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from app.accounts.models import Account
from app.accounts.platforms import display_name_of, profile_url_of
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import Drafter, TakedownReader
from app.auth.permissions import Permission as P
from app.db import SessionDep
from app.errors import AppError
from app.takedowns import packs, service
from app.takedowns.channels import CHANNELS, get_platform
from app.takedowns.deps import AccountDep
from app.takedowns.forms import doer
from app.takedowns.machine import Action
from app.takedowns.models import Takedown
from app.web import render
from app.web.flash import flash
from app.web.forms import refused

router = APIRouter()


def form_page(request: Request, db: Session, who: Principal, account: Account, *,
              reason: str = "", error: str = "", status: int = 200) -> Response:
    account_id = account.id or 0
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
def new_takedown(request: Request, db: SessionDep, who: Drafter,
                 account: AccountDep) -> Response:
    return form_page(request, db, who, account)


@router.post("/accounts/{account_id:int}/takedowns")
def create_takedown(request: Request, db: SessionDep, settings: SettingsDep, who: Drafter,
                    account: AccountDep, reason: Annotated[str, Form(max_length=4000)] = "",
                    submit: Annotated[str, Form(max_length=8)] = "") -> Response:
    account_id = account.id or 0
    try:
        takedown = service.create_takedown(db, doer(who), account_id, reason)
        if submit == "yes":  # "create and submit for approval" in one go
            service.transition(db, settings, doer(who), takedown.id or 0,
                               Action.submit.value, version=takedown.version)
    except AppError as exc:
        return refused(db, exc, form_page, request, db, who, account, reason=reason)
    flash(db, who, f"Takedown TD-{takedown.id} was created"
                   f"{' and submitted for approval' if submit == 'yes' else ' as a draft'}.")
    return RedirectResponse(f"/takedowns/{takedown.id}", status_code=303)


@router.get("/accounts/{account_id:int}/takedowns/panel")
def account_panel(request: Request, db: SessionDep, who: TakedownReader,
                  account: AccountDep) -> Response:
    """The account page's takedowns (loaded by htmx: accounts sits below takedowns, so the
    account page cannot query them itself); its cell searches load into it the same way."""
    takedowns = db.exec(select(Takedown).where(Takedown.account_id == account.id)
                        .order_by(col(Takedown.created_at).desc())).all()
    return render(request, "takedowns/_account_panel.html", {
        "account_id": account.id, "takedowns": takedowns,
        "can_draft": who.can(P.takedowns_draft), "can_search": who.can(P.searches_request)})
