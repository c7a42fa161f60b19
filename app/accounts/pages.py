"""The triage queue and the account page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts import presenters, service
from app.accounts.deps import AccountDep
from app.accounts.forms import PLATFORMS, Text, assignee_from, queue_filter
from app.accounts.models import AccountStatus
from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import AccountEditor, AccountReader, Assigner
from app.db import SessionDep
from app.errors import Unprocessable
from app.web import render
from app.web.flash import flash
from app.web.paging import PageNumber

router = APIRouter()


@router.get("/accounts")
def queue_page(request: Request, who: AccountReader, db: SessionDep, establishment: Text = "",
               platform: Text = "", status: Text = "", assignee: Text = "",
               attribution: Text = "", page: PageNumber = 1) -> Response:
    flt = queue_filter(establishment, platform, status, assignee, attribution)
    return render(request, "accounts/queue.html", {
        "page": presenters.queue(db, flt, who.user.id or 0, page, request), "filters": flt,
        "statuses": presenters.STATUS_LABELS, "platforms": PLATFORMS,
        "assignable": presenters.assignable(db)})


@router.post("/accounts/bulk")
def bulk(who: Assigner, db: SessionDep,
         action: Annotated[str, Form(max_length=16)],
         ids: Annotated[list[int] | None, Form()] = None,
         assignee_id: Annotated[str, Form(max_length=16)] = "",
         reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    """A refusal raises, so nothing of a half-done bulk change is kept."""
    chosen = ids or []
    if action == "assign":
        target = assignee_from(assignee_id)
        n = service.assign(db, who.actor, chosen, target)
        message = f"{n} account(s) {'assigned' if target else 'unassigned'}."
    elif action == "close":
        n = service.close_no_further_action(db, who.actor, chosen, reason)
        message = f"{n} account(s) closed with no further action."
    else:
        raise Unprocessable("Choose assign or close.")
    flash(db, who, message)
    return RedirectResponse("/accounts", status_code=303)


@router.get("/accounts/{account_id}")
def account_page(request: Request, who: AccountReader, account: AccountDep, db: SessionDep,
                 settings: SettingsDep) -> Response:
    context = presenters.account_page(db, account, settings.local_timezone)
    record(db, who.actor, "account.view", object_type="account", object_ids=[account.id or 0],
           details={"prisoners_shown": [p.id for _, p in context["attributions"]]})
    return render(request, "accounts/account.html", {
        **context, "assignable": presenters.assignable(db),
        "statuses": presenters.STATUS_LABELS})


@router.post("/accounts/{account_id}/status")
def change_status(who: AccountEditor, account: AccountDep, db: SessionDep,
                  status: Annotated[str, Form(max_length=24)],
                  version: Annotated[int, Form()],
                  note: Annotated[str, Form(max_length=500)] = "") -> Response:
    """From the version the page showed: a change made since is a 409, not overwritten."""
    allowed = {AccountStatus.under_review.value, AccountStatus.new.value}
    if status not in allowed:  # the other statuses follow from attributions and takedowns
        raise Unprocessable("Only 'new' and 'under review' are set by hand; closing uses "
                            "'no further action' from the queue.")
    service.set_status(db, who.actor, account, AccountStatus(status), note=note,
                       expected_version=version)
    return RedirectResponse(f"/accounts/{account.id}", status_code=303)


@router.post("/accounts/{account_id}/assign")
def assign_one(who: Assigner, account: AccountDep, db: SessionDep,
               assignee_id: Annotated[str, Form(max_length=16)] = "") -> Response:
    service.assign(db, who.actor, [account.id or 0], assignee_from(assignee_id))
    return RedirectResponse(f"/accounts/{account.id}", status_code=303)
