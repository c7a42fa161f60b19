"""Sign-in, sign-out, and a user's own account (password, API keys)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.audit.service import record
from app.auth import apikeys, factors, sessions, throttle, users
from app.auth.deps import (
    PUBLIC,
    Principal,
    SettingsDep,
    client_addr,
    request_actor,
    safe_next,
)
from app.auth.guards import Anyone, FreshBrowserFactor, SelfUser, SigningIn
from app.db import SessionDep, utcnow
from app.errors import AppError, Forbidden
from app.settings import Settings
from app.web import render
from app.web.flash import flash
from app.web.numbers import whole_number

router = APIRouter()
PRELOGIN_COOKIE = "cw_prelogin"


def _login_page(request: Request, settings: SettingsDep, *, error: str = "", next_: str = "/",
                username: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "auth/login.html",
                      {"error": error, "next": next_, "username": username,
                       "login_csrf": token}, status_code=status)
    response.set_cookie(PRELOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=settings.secure_cookies, max_age=3600, path="/login")
    return response


@router.get("/login", dependencies=[Depends(PUBLIC)])
def login_form(request: Request, settings: SettingsDep, next: str = "/") -> Response:  # noqa: A002
    return _login_page(request, settings, next_=safe_next(next))


@router.post("/login", dependencies=[Depends(PUBLIC)])
def login_submit(
    request: Request, db: SessionDep, settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=512)] = "/",  # noqa: A002
) -> Response:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("Refused: this sign-in came from another site.")
    expected = request.cookies.get(PRELOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return _login_page(request, settings, error="The sign-in form expired. Please try again.",
                           next_=safe_next(next), username=username, status=403)
    actor, policy, now = request_actor(request), throttle.Policy.of(settings), utcnow()
    # Returned, not raised: the failures, any lock and their audit events are committed with
    # the request although the sign-in is refused.
    if wait := throttle.wait_seconds(db, policy, actor.client_addr, now):
        throttle.refuse(db, actor, username, wait)
        response = _login_page(
            request, settings, next_=safe_next(next), username=username, status=429,
            error=f"Too many failed sign-ins from your network. Try again in {wait} seconds.")
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        user = users.authenticate(db, settings, actor, username, password)
    except users.LoginFailed as exc:
        throttle.failed(db, policy, actor, username, now)
        return _login_page(request, settings, error=str(exc), next_=safe_next(next),
                           username=username, status=401)
    token = sessions.start(db, settings, user, client_addr=client_addr(request),
                           user_agent=request.headers.get("user-agent", ""),
                           replaces=request.cookies.get(sessions.COOKIE_NAME))
    if factors.has_second_factor(db, user.id or 0):
        target = f"/login/code?next={quote(safe_next(next))}"
    else:
        target = "/account/password" if user.must_change_password else safe_next(next)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(sessions.COOKIE_NAME, token, httponly=True, samesite="strict",
                        secure=settings.secure_cookies, path="/")
    response.delete_cookie(PRELOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, db: SessionDep, who: SigningIn) -> Response:
    token = request.cookies.get(sessions.COOKIE_NAME, "")
    sessions.end(db, token)
    record(db, who.actor, "auth.logout", object_type="user", object_ids=[who.user.id or 0])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response


def _password_page(request: Request, who: Principal, *, error: str = "",
                   status: int = 200) -> Response:
    return render(request, "auth/password.html",
                  {"forced": who.user.must_change_password, "error": error}, status_code=status)


@router.get("/account/password")
def password_form(request: Request, who: SelfUser) -> Response:
    return _password_page(request, who)


@router.post("/account/password")
def password_submit(
    request: Request, db: SessionDep, who: SelfUser,
    current: Annotated[str, Form(max_length=256)],
    new: Annotated[str, Form(max_length=256)],
    confirm: Annotated[str, Form(max_length=256)],
) -> Response:
    if new != confirm:
        return _password_page(request, who, error="The two new passwords differ.", status=422)
    try:
        users.change_password(db, who.actor, who.user, current=current, new=new)
    except AppError as exc:
        # Not `refused`: nothing was changed, but a wrong current password is recorded, and
        # returning (not raising, not rolling back) lets the request commit that record.
        return _password_page(request, who, error=exc.message, status=exc.status_code)
    flash(db, who, "Your password has been changed.", "info")
    return RedirectResponse("/", status_code=303)


def _keys_page(request: Request, db: Session, who: Principal, settings: Settings, *,
               form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
               extra: dict[str, Any] | None = None, status: int = 200) -> Response:
    return render(request, "auth/keys.html", {
        "keys": apikeys.list_for(db, who.user.id or 0), "max_days": settings.api_key_max_days,
        "api_docs": settings.api_docs, "per_user": settings.api_keys_per_user,
        "step_up_minutes": settings.step_up_minutes,
        "form": form or {"name": "", "days": str(min(30, settings.api_key_max_days))},
        "errors": errors or {}, **(extra or {})}, status_code=status)


@router.get("/account/keys")
def keys_page(request: Request, db: SessionDep, settings: SettingsDep, who: Anyone) -> Response:
    return _keys_page(request, db, who, settings)


@router.post("/account/keys")
def keys_create(
    request: Request, db: SessionDep, settings: SettingsDep, who: Anyone,
    _fresh: FreshBrowserFactor,
    name: Annotated[str, Form(max_length=256)] = "",
    days: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    # Checked here, field by field, so that a refusal shows each reason beside its field with
    # what was typed; the service checks the same bounds for every other caller.
    form, errors = {"name": name, "days": days}, {}
    if not 1 <= len(name.strip()) <= 64:
        errors["name"] = "Give the key a name of 1 to 64 characters."
    most = settings.api_key_max_days
    if not whole_number(days, most):  # None, or 0 days
        errors["days"] = f"A key lasts 1 to {most} days: type a whole number in that range."
    if errors:
        return _keys_page(request, db, who, settings, form=form, errors=errors, status=422)
    try:
        row, key = apikeys.create(db, settings, who.actor, who.user, name=name, days=int(days))
    except AppError as exc:  # too many live keys: said above the form, nothing made
        return _keys_page(request, db, who, settings, form=form, status=exc.status_code,
                          extra={"refusal": exc.message})
    return _keys_page(request, db, who, settings, extra={"new_key": key, "new_key_row": row})


@router.post("/account/keys/{key_id}/revoke")
def keys_revoke(key_id: int, db: SessionDep, who: Anyone, _fresh: FreshBrowserFactor) -> Response:
    apikeys.revoke(db, who.actor, who.user, key_id)
    flash(db, who, "The API key was revoked.", "info")
    return RedirectResponse("/account/keys", status_code=303)
