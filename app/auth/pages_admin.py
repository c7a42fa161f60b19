"""User administration: admins only, and nothing here shows prisoner data.

Granting access is a proposal that a second person approves (app/auth/grants.py); only what
takes access away (a lower role, disabling) happens at once. Every change asks for a recent
second-factor check.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth import grants, users
from app.auth.deps import UserDep
from app.auth.guards import Admin, FreshBrowserFactor
from app.auth.permissions import Role
from app.db import SessionDep
from app.errors import AppError, Unprocessable
from app.web import render
from app.web.flash import flash
from app.web.forms import refused

router = APIRouter(prefix="/admin")


def _a(role: str) -> str:
    return f"{'an' if role[0] in 'aeiou' else 'a'} {role}"


def _page(request: Request, db: Session, *, error: str = "", status: int = 200) -> Response:
    names = {u.id: u.username for u in users.list_users(db)}
    return render(request, "admin/users.html",
                  {"users": users.list_users(db), "roles": [r.value for r in Role],
                   "proposals": grants.pending(db), "names": names,
                   "approver_role": {r.value: a.value for r, a in grants.APPROVER_ROLE.items()},
                   "error": error}, status_code=status)


@router.get("/users")
def users_page(request: Request, db: SessionDep, who: Admin) -> Response:
    return _page(request, db)


@router.post("/users")
def users_create(
    request: Request, db: SessionDep, who: Admin, _fresh: FreshBrowserFactor,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
    display_name: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    try:
        proposal = grants.propose_create(db, who.actor, username=username, role=role,
                                         display_name=display_name)
    except AppError as exc:
        return refused(db, exc, _page, request, db)
    approver = _a(grants.APPROVER_ROLE[Role(proposal.role)].value)
    flash(db, who, f"Proposed: {proposal.username} as {proposal.role}. {approver.capitalize()}"
          " must approve it; they will receive the enrolment code to hand over.", "info")
    return RedirectResponse("/admin/users", status_code=303)


# `who` comes before the user a path names: a caller without the permission gets 403, never a
# 404 that tells which user ids exist.
@router.post("/users/{user_id}/role")
def users_set_role(
    db: SessionDep, who: Admin, _fresh: FreshBrowserFactor, user: UserDep,
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    if role not in {r.value for r in Role}:
        raise Unprocessable(f"Unknown role {role!r}.")
    if user.id == who.user.id:
        raise Unprocessable("You cannot change your own role.")
    if grants.needs_approval(user.role, role):
        proposal = grants.propose_role(db, who.actor, user, role)
        approver = _a(grants.APPROVER_ROLE[Role(proposal.role)].value)
        flash(db, who, f"Proposed: {user.username} as {role}. It takes effect when "
              f"{approver} approves it.", "info")
    else:
        users.apply_role(db, who.actor, user, role)
        flash(db, who, f"{user.username} is now {role}; their sessions were ended and their "
              "API keys revoked.", "info")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/active")
def users_set_active(
    db: SessionDep, who: Admin, _fresh: FreshBrowserFactor, user: UserDep,
    active: Annotated[bool, Form()],
) -> Response:
    users.set_active(db, who.actor, user, active)
    flash(db, who, f"{user.username} was {'enabled' if active else 'disabled'}.", "info")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/reset")
def users_reset(db: SessionDep, who: Admin, _fresh: FreshBrowserFactor,
                user: UserDep) -> Response:
    """Lost authenticator or forgotten password: proposed here, approved by a second person,
    who receives the enrolment code."""
    proposal = grants.propose_reset(db, who.actor, user)
    approver = _a(grants.APPROVER_ROLE[Role(proposal.role)].value)
    flash(db, who, f"Proposed: a new sign-in for {user.username}. {approver.capitalize()} "
          "must approve it; they will receive the enrolment code to hand over.", "info")
    return RedirectResponse("/admin/users", status_code=303)
