"""Proposals awaiting a second person: supervisors (and admins, for admin grants) decide here.
The approver alone sees the enrolment code, once, to hand to the new user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth import grants, users
from app.auth.deps import Principal, SettingsDep
from app.auth.guards import FreshBrowserFactor, GrantApprover
from app.db import SessionDep
from app.web import render
from app.web.flash import flash

router = APIRouter()
Version = Annotated[int, Form(ge=1)]


def _page(request: Request, db: Session, who: Principal, *,
          handed_over: dict[str, str] | None = None) -> Response:
    names = {u.id: u.username for u in users.list_users(db)}
    rows = [(p, grants.why_not(p, who.user)) for p in grants.pending(db)]
    return render(request, "admin/grants.html", {
        "rows": rows, "names": names, "handed_over": handed_over,
        "approver_role": {r.value: a.value for r, a in grants.APPROVER_ROLE.items()},
    })


@router.get("/grants")
def grants_page(request: Request, db: SessionDep, who: GrantApprover) -> Response:
    return _page(request, db, who)


@router.post("/grants/{proposal_id}/approve")
def grants_approve(request: Request, db: SessionDep, settings: SettingsDep,
                   who: GrantApprover, _fresh: FreshBrowserFactor, proposal_id: int,
                   version: Version) -> Response:
    proposal, user, code = grants.approve(db, settings, who.actor, who.user, proposal_id,
                                          version)
    if code is None:
        flash(db, who, f"Approved: {user.username} is now {user.role}.", "info")
        return RedirectResponse("/grants", status_code=303)
    return _page(request, db, who, handed_over={
        "username": user.username, "code": code, "hours": str(settings.enrolment_hours)})


@router.post("/grants/{proposal_id}/reject")
def grants_reject(db: SessionDep, who: GrantApprover, _fresh: FreshBrowserFactor,
                  proposal_id: int, version: Version) -> Response:
    proposal = grants.reject(db, who.actor, who.user, proposal_id, version)
    flash(db, who, f"Rejected proposal #{proposal.id} about {proposal.username}.", "info")
    return RedirectResponse("/grants", status_code=303)
