"""The second factor in the browser: the code after the password (and again for a step-up),
setting up an authenticator, recovery codes. Security keys: pages_securitykeys.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.audit.service import record
from app.auth import factors, securitykeys, sessions, users
from app.auth.deps import Principal, SettingsDep, safe_next
from app.auth.guards import Anyone, FreshBrowserFactor, SelfUser, SigningIn
from app.db import SessionDep
from app.errors import AppError
from app.web import render

router = APIRouter()
Code = Annotated[str, Form(max_length=32)]


def _code_page(request: Request, db: Session, who: Principal, next_: str, *,
               error: str = "", status: int = 200) -> Response:
    user_id = who.user.id or 0
    return render(request, "auth/code.html", {
        "next": safe_next(next_), "error": error, "step_up": not who.factor_pending,
        "totp": factors.has_factor(db, user_id),
        "security_keys": bool(securitykeys.list_for(db, user_id)),
        "rp_id": request.app.state.settings.webauthn_rp_id,
    }, status_code=status)


@router.get("/login/code")
def code_form(request: Request, db: SessionDep, who: SigningIn,
              next: str = "/") -> Response:  # noqa: A002
    if who.factor_missing:
        return RedirectResponse("/account/factor", status_code=303)
    return _code_page(request, db, who, next)


@router.post("/login/code")
def code_submit(
    request: Request, db: SessionDep, settings: SettingsDep, who: SigningIn, code: Code = "",
    next: Annotated[str, Form(max_length=512)] = "/",  # noqa: A002
) -> Response:
    user = db.merge(who.user)
    try:
        users.check_second_factor(db, settings, who.actor, user, code)
    except users.LoginFailed as exc:
        # Returned, not raised: the failure count, any lockout and their audit events stay.
        if user.locked_until is not None:
            response = RedirectResponse("/login", status_code=303)
            response.delete_cookie(sessions.COOKIE_NAME, path="/")
            return response
        return _code_page(request, db, who, next, error=str(exc), status=401)
    if who.session_row is not None:
        sessions.mark_factor(db, who.session_row)
    target = "/account/password" if user.must_change_password else safe_next(next)
    return RedirectResponse(target, status_code=303)


@router.get("/account/factor")
def factor_page(request: Request, db: SessionDep, settings: SettingsDep,
                who: SelfUser) -> Response:
    user_id = who.user.id or 0
    row = factors.factor_of(db, user_id)
    return render(request, "auth/factor.html", {
        "enrolled_at": row.confirmed_at if row else None,
        "codes_left": factors.recovery_codes_left(db, user_id),
        "security_keys": securitykeys.list_for(db, user_id),
        "keys_per_user": settings.security_keys_per_user,
        "rp_id": settings.webauthn_rp_id, "step_up_minutes": settings.step_up_minutes,
    })


def _setup_page(request: Request, secret: str, username: str, *, error: str = "",
                status: int = 200) -> Response:
    uri = factors.provisioning_uri(secret, username)
    return render(request, "auth/factor_setup.html", {
        "qr": factors.qr_svg(uri), "secret": secret, "error": error}, status_code=status)


@router.post("/account/factor/setup")
def factor_setup(request: Request, db: SessionDep, settings: SettingsDep, who: SelfUser,
                 _fresh: FreshBrowserFactor) -> Response:
    """A new secret to scan; the current authenticator (if any) works until it is confirmed."""
    secret = factors.start_setup(db, settings, who.actor, who.user, via="account")
    return _setup_page(request, secret, who.user.username)


@router.post("/account/factor/confirm")
def factor_confirm(request: Request, db: SessionDep, settings: SettingsDep, who: SelfUser,
                   _fresh: FreshBrowserFactor, code: Code = "") -> Response:
    try:
        codes = factors.confirm_setup(db, settings, who.actor, who.user, code)
    except AppError as exc:
        secret = factors.pending_secret(db, settings, who.user)
        if secret is None:
            raise
        # nothing was changed; the same secret is offered again
        return _setup_page(request, secret, who.user.username, error=exc.message,
                           status=exc.status_code)
    if who.session_row is not None:
        sessions.mark_factor(db, who.session_row)
    return render(request, "auth/recovery_codes.html", {"codes": codes, "next": "/"})


@router.post("/account/factor/recovery-codes")
def recovery_codes_renew(request: Request, db: SessionDep, who: Anyone,
                         _fresh: FreshBrowserFactor) -> Response:
    if not factors.has_factor(db, who.user.id or 0):
        return RedirectResponse("/account/factor", status_code=303)
    codes = factors.new_recovery_codes(db, who.user.id or 0)
    record(db, who.actor, "user.recovery_codes_renew", object_type="user",
           object_ids=[who.user.id or 0], details={"recovery_codes": len(codes)})
    return render(request, "auth/recovery_codes.html", {"codes": codes, "next": "/account/factor"})
