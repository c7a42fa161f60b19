"""The triage queue and the account page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts import intake_routes, review_routes, service, views
from app.accounts.models import AccountStatus
from app.audit.service import record
from app.auth.deps import Principal, SettingsDep, requires
from app.auth.permissions import Permission as P
from app.auth.sessions import push_flash
from app.db import SessionDep
from app.errors import Unprocessable
from app.web import render

router = APIRouter()
router.include_router(intake_routes.router)
router.include_router(review_routes.router)
Reader = Annotated[Principal, Depends(requires(P.accounts_read))]
Editor = Annotated[Principal, Depends(requires(P.accounts_edit))]
Assigner = Annotated[Principal, Depends(requires(P.accounts_assign))]
Text = Annotated[str, Query(max_length=64)]


def _filter(establishment: str, platform: str, status: str, assignee: str) -> views.QueueFilter:
    if status and status not in views.STATUS_LABELS:
        raise Unprocessable(f"Unknown status {status!r}.")
    return views.QueueFilter(establishment.strip(), platform.strip(), status, assignee.strip())


@router.get("/accounts")
def queue_page(request: Request, db: SessionDep, who: Reader, establishment: Text = "",
               platform: Text = "", status: Text = "", assignee: Text = "",
               page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    flt = _filter(establishment, platform, status, assignee)
    data = views.queue(db, flt, who.user.id or 0, page)
    return render(request, "accounts/queue.html", {
        **data, "filters": flt, "statuses": views.STATUS_LABELS,
        "platforms": intake_routes.PLATFORMS, "assignable": views.assignable(db)})


@router.get("/api/v1/accounts")
def queue_api(db: SessionDep, who: Reader, establishment: Text = "", platform: Text = "",
              status: Text = "", assignee: Text = "",
              page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> dict[str, Any]:
    data = views.queue(db, _filter(establishment, platform, status, assignee),
                       who.user.id or 0, page)
    return {"page": page, "more": data["more"], "accounts": [{
        "id": i["account"].id, "platform": i["account"].platform,
        "handle": i["account"].handle, "status": i["account"].status,
        "priority": i["account"].priority, "factors": i["factors"],
        "assignee": i["assignee"], "establishment": i["establishment"]} for i in data["items"]]}


@router.post("/accounts/bulk")
def bulk(db: SessionDep, who: Assigner,
         action: Annotated[str, Form(max_length=16)],
         ids: Annotated[list[int] | None, Form()] = None,
         assignee_id: Annotated[str, Form(max_length=16)] = "",
         reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    chosen = ids or []
    # a refusal raises before the commit below, so nothing of a half-done bulk change is kept
    if action == "assign":
        target = int(assignee_id) if assignee_id.isdigit() else None
        n = service.assign(db, who.actor, chosen, target)
        message = f"{n} account(s) {'assigned' if target else 'unassigned'}."
    elif action == "close":
        n = service.close_no_further_action(db, who.actor, chosen, reason)
        message = f"{n} account(s) closed with no further action."
    else:
        raise Unprocessable("Choose assign or close.")
    if who.session_row is not None:
        push_flash(who.session_row, message)
        db.add(who.session_row)
    db.commit()
    return RedirectResponse("/accounts", status_code=303)


@router.get("/accounts/{account_id}")
def account_page(request: Request, account_id: int, db: SessionDep, settings: SettingsDep,
                 who: Reader) -> Response:
    account = service.get_account(db, account_id)
    context = views.account_page(db, account, settings.local_timezone)
    record(db, who.actor, "account.view", object_type="account", object_ids=[account_id],
           details={"prisoners_shown": [p.id for _, p in context["attributions"]]})
    db.commit()
    return render(request, "accounts/account.html", {
        **context, "assignable": views.assignable(db), "statuses": views.STATUS_LABELS})


@router.get("/api/v1/accounts/{account_id}")
def account_api(account_id: int, db: SessionDep, settings: SettingsDep,
                who: Reader) -> dict[str, Any]:
    account = service.get_account(db, account_id)
    context = views.account_page(db, account, settings.local_timezone)
    record(db, who.actor, "account.view", object_type="account", object_ids=[account_id],
           details={"prisoners_shown": [p.id for _, p in context["attributions"]]})
    db.commit()
    return {
        "id": account.id, "platform": account.platform, "handle": account.handle,
        "profile_url": context["profile_url"], "status": account.status,
        "priority": account.priority, "factors": context["factors"],
        "version": account.version, "re_emerged_from": account.re_emerged_from_id,
        "images": [{"image_id": i["image"]["image_id"], "post_url": i["evidence"]["post_url"],
                    "candidates": [c["match"].id for c in i["candidates"]]}
                   for i in context["images"]],
        "links": [{"account_id": other.id, "kind": link.kind, "match_id": link.match_id}
                  for link, other in context["links"]],
        "attributions": [{"id": a.id, "prison_number": p.prison_number, "status": a.status,
                          "basis": a.basis, "time_source": a.time_source}
                         for a, p in context["attributions"]],
    }


@router.post("/accounts/{account_id}/status")
def change_status(account_id: int, db: SessionDep, who: Editor,
                  status: Annotated[str, Form(max_length=24)],
                  version: Annotated[int, Form()],
                  note: Annotated[str, Form(max_length=500)] = "") -> Response:
    allowed = {AccountStatus.under_review.value, AccountStatus.new.value}
    if status not in allowed:  # the other statuses follow from attributions and takedowns
        raise Unprocessable("Only 'new' and 'under review' are set by hand; closing uses "
                            "'no further action' from the queue.")
    account = service.get_account(db, account_id)
    service.set_status(db, who.actor, account, AccountStatus(status), note=note,
                       expected_version=version)
    db.commit()
    return RedirectResponse(f"/accounts/{account_id}", status_code=303)


@router.post("/accounts/{account_id}/assign")
def assign_one(account_id: int, db: SessionDep, who: Assigner,
               assignee_id: Annotated[str, Form(max_length=16)] = "") -> Response:
    service.assign(db, who.actor, [account_id],
                   int(assignee_id) if assignee_id.isdigit() else None)
    db.commit()
    return RedirectResponse(f"/accounts/{account_id}", status_code=303)
