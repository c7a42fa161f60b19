"""Enrolment: with the one-time code someone handed over, a new (or reset) user chooses a
password and sets up an authenticator. Public pages; the code travels only in form bodies,
never in a URL, so that no access log keeps it."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from app.audit.service import record
from app.auth import enrolment, factors
from app.auth.deps import PUBLIC, SettingsDep, request_actor
from app.db import SessionDep
from app.errors import AppError, Forbidden
from app.settings import Settings
from app.web import render

router = APIRouter()
ENROL_COOKIE = "cw_enrol"
Text = Annotated[str, Form(max_length=256)]


def _with_token(request: Request, settings: Settings, template: str, context: dict[str, str],
                status: int = 200) -> Response:
    """Pages before anyone is signed in carry their own form token (a cookie and a field)."""
    token = secrets.token_urlsafe(32)
    response = render(request, template, {**context, "enrol_csrf": token}, status_code=status)
    response.set_cookie(ENROL_COOKIE, token, httponly=True, samesite="strict",
                        secure=settings.secure_cookies, max_age=3600, path="/enrol")
    return response


def _check_form(request: Request, given: str) -> None:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("Refused: this form came from another site.")
    expected = request.cookies.get(ENROL_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, given):
        raise Forbidden("The enrolment form expired. Open /enrol and type the code again.")


def _code_form(request: Request, settings: Settings, *, error: str = "",
               status: int = 200) -> Response:
    return _with_token(request, settings, "auth/enrol.html", {"error": error}, status)


def _setup_form(request: Request, settings: Settings, *, code: str, secret: str,
                username: str, error: str = "", status: int = 200) -> Response:
    uri = factors.provisioning_uri(secret, username)
    return _with_token(request, settings, "auth/enrol_setup.html", {
        "qr": factors.qr_svg(uri), "secret": secret, "code": code, "username": username,
        "error": error}, status)


@router.get("/enrol", dependencies=[Depends(PUBLIC)])
def enrol_form(request: Request, settings: SettingsDep) -> Response:
    return _code_form(request, settings)


@router.post("/enrol", dependencies=[Depends(PUBLIC)])
def enrol_code(request: Request, db: SessionDep, settings: SettingsDep,
               enrolment_code: Text = "", enrol_csrf: Text = "") -> Response:
    _check_form(request, enrol_csrf)
    try:
        user, secret = enrolment.begin(db, settings, request_actor(request), enrolment_code)
    except AppError as exc:
        # returned, not raised: the failed attempt is recorded (never the code itself)
        record(db, request_actor(request), "user.enrol", outcome="failure",
               details={"reason": "code not valid"})
        return _code_form(request, settings, error=exc.message, status=exc.status_code)
    return _setup_form(request, settings, code=enrolment_code, secret=secret,
                       username=user.username)


@router.post("/enrol/finish", dependencies=[Depends(PUBLIC)])
def enrol_finish(
    request: Request, db: SessionDep, settings: SettingsDep, enrolment_code: Text = "",
    enrol_csrf: Text = "", new: Text = "", confirm: Text = "",
    code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    _check_form(request, enrol_csrf)
    try:
        user, codes = enrolment.finish(db, settings, request_actor(request),
                                       code=enrolment_code, password=new, confirm=confirm,
                                       otp=code)
    except AppError as exc:
        found = enrolment.redeemable(db, enrolment_code)
        secret = factors.pending_secret(db, settings, found[1]) if found else None
        if found is None or secret is None:
            return _code_form(request, settings, error=exc.message, status=exc.status_code)
        return _setup_form(request, settings, code=enrolment_code, secret=secret,
                           username=found[1].username, error=exc.message,
                           status=exc.status_code)
    return render(request, "auth/recovery_codes.html", {"codes": codes, "next": "/login",
                                                         "enrolled": user.username})
