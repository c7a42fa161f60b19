"""User administration: admins only, and nothing here shows prisoner data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth import users
from app.auth.deps import Principal, requires
from app.auth.permissions import Permission as P
from app.auth.permissions import Role
from app.auth.sessions import push_flash
from app.db import SessionDep
from app.errors import AppError
from app.web import render

router = APIRouter(prefix="/admin")
Admin = Annotated[Principal, Depends(requires(P.users_manage))]


def _page(request: Request, db: Session, *, status: int = 200, **extra: object) -> Response:
    return render(request, "admin/users.html",
                  {"users": users.list_users(db), "roles": [r.value for r in Role], **extra},
                  status_code=status)


def _flash(db: Session, who: Principal, message: str) -> None:
    if who.session_row is not None:
        push_flash(who.session_row, message)
        db.add(who.session_row)


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
        db.rollback()
        return _page(request, db, error=exc.message, status=exc.status_code)
    db.commit()
    return _page(request, db, one_time={"username": user.username, "password": secret})


@router.post("/users/{user_id}/role")
def users_set_role(
    user_id: int, db: SessionDep, who: Admin, role: Annotated[str, Form(max_length=16)]
) -> Response:
    user = users.get_user(db, user_id)
    users.set_role(db, who.actor, user, role)
    _flash(db, who, f"{user.username} is now {role}; their sessions were ended.")
    db.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/active")
def users_set_active(
    user_id: int, db: SessionDep, who: Admin, active: Annotated[bool, Form()]
) -> Response:
    user = users.get_user(db, user_id)
    users.set_active(db, who.actor, user, active)
    _flash(db, who, f"{user.username} was {'enabled' if active else 'disabled'}.")
    db.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/reset-password")
def users_reset_password(request: Request, user_id: int, db: SessionDep, who: Admin) -> Response:
    user = users.get_user(db, user_id)
    secret = users.reset_password(db, who.actor, user)
    db.commit()
    return _page(request, db, one_time={"username": user.username, "password": secret})
