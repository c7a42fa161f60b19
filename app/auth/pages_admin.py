"""User administration: admins only, and nothing here shows prisoner data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth import users
from app.auth.deps import UserDep
from app.auth.guards import Admin
from app.auth.permissions import Role
from app.db import SessionDep
from app.errors import AppError
from app.web import render
from app.web.flash import flash
from app.web.forms import refused

router = APIRouter(prefix="/admin")


def _page(request: Request, db: Session, *, error: str = "", status: int = 200,
          one_time: dict[str, str] | None = None) -> Response:
    return render(request, "admin/users.html",
                  {"users": users.list_users(db), "roles": [r.value for r in Role],
                   "error": error, "one_time": one_time}, status_code=status)


@router.get("/users")
def users_page(request: Request, db: SessionDep, who: Admin) -> Response:
    return _page(request, db)


@router.post("/users")
def users_create(
    request: Request, db: SessionDep, who: Admin,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
    display_name: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    try:
        user, secret = users.create_user(db, who.actor, username=username, role=role,
                                         display_name=display_name)
    except AppError as exc:
        return refused(db, exc, _page, request, db)
    return _page(request, db, one_time={"username": user.username, "password": secret})


# `who` comes before the user a path names: a caller without the permission gets 403, never a
# 404 that tells which user ids exist.
@router.post("/users/{user_id}/role")
def users_set_role(
    db: SessionDep, who: Admin, user: UserDep, role: Annotated[str, Form(max_length=16)]
) -> Response:
    users.set_role(db, who.actor, user, role)
    flash(db, who, f"{user.username} is now {role}; their sessions were ended.", "info")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/active")
def users_set_active(
    db: SessionDep, who: Admin, user: UserDep, active: Annotated[bool, Form()]
) -> Response:
    users.set_active(db, who.actor, user, active)
    flash(db, who, f"{user.username} was {'enabled' if active else 'disabled'}.", "info")
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/reset-password")
def users_reset_password(request: Request, db: SessionDep, who: Admin,
                         user: UserDep) -> Response:
    secret = users.reset_password(db, who.actor, user)
    return _page(request, db, one_time={"username": user.username, "password": secret})
