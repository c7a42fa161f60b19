"""A supervisor erases an account's evidence early: a confirmation page, then the form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.accounts.deps import AccountDep
from app.accounts.models import Account
from app.audit.service import record
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import Eraser
from app.db import SessionDep
from app.errors import AppError, Unprocessable
from app.evidence.withdrawal import REASON_MAX
from app.lifecycle.service import erase_early, holding
from app.web import render
from app.web.flash import flash
from app.web.forms import refused

router = APIRouter()


def _page(request: Request, db: Session, who: Principal, account: Account, *, error: str = "",
          form: dict[str, str] | None = None, status: int = 200) -> Response:
    record(db, who.actor, "account.view", object_type="account", object_ids=[account.id or 0],
           details={"page": "erase evidence"})
    return render(request, "lifecycle/erase.html",
                  {"account": account, "holding": holding(db, account), "error": error,
                   "form": form or {}}, status_code=status)


@router.get("/accounts/{account_id}/erase")
def erase_page(request: Request, who: Eraser, account: AccountDep, db: SessionDep) -> Response:
    return _page(request, db, who, account)


@router.post("/accounts/{account_id}/erase")
def erase_form(
    request: Request, who: Eraser, account: AccountDep, db: SessionDep, settings: SettingsDep,
    reason: Annotated[str, Form(max_length=REASON_MAX * 2)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        if confirm != "yes":
            raise Unprocessable("Tick the box to confirm: the evidence cannot be brought back.")
        done = erase_early(db, settings, who.actor, account=account, reason=reason)
    except AppError as exc:
        return refused(db, exc, _page, request, db, who, account, form={"reason": reason})
    flash(db, who, f"Erased {len(done.images_erased)} image(s) and "
                   f"{done.evidence_links_removed} evidence link(s) of this account; "
                   f"{done.evidence_links_kept} link(s) cited by takedowns stay as their record.")
    return RedirectResponse(f"/accounts/{account.id}", status_code=303)
