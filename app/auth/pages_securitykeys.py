"""Security keys in the browser: adding and removing them on the factor page, and using one
instead of the code at sign-in or a step-up. The ceremonies are JSON calls made by
static/js/securitykey.js; a refused answer is returned (not raised) so that its audit event
and the spent challenge are committed, and nothing else changes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.auth import securitykeys, sessions, users
from app.auth.deps import Principal, SettingsDep, safe_next
from app.auth.guards import FreshBrowserFactor, SelfUser, SigningIn
from app.auth.models import UserSession
from app.db import SessionDep
from app.errors import AppError, Conflict
from app.web.flash import flash

router = APIRouter()


class NewKey(BaseModel):
    name: str = Field(max_length=200)
    credential: dict[str, Any]  # navigator.credentials.create(), base64url-encoded


class KeyAnswer(BaseModel):
    credential: dict[str, Any]  # navigator.credentials.get(), base64url-encoded
    next: str = Field(default="/", max_length=512)


def _session_row(who: Principal) -> UserSession:
    if who.session_row is None:  # the guards let only browser sessions this far
        raise Conflict("Security keys are used from a signed-in browser.")
    return who.session_row


def _refusal(exc: AppError, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": exc.title, "message": exc.message, **extra},
                        status_code=exc.status_code)


def _push_flash(db: Session, row: UserSession, message: str) -> None:
    # the row as this transaction holds it (the ceremony changed it), not the principal's copy
    stored = db.get(UserSession, row.id)
    if stored is not None:
        sessions.push_flash(stored, message, "success")
        db.add(stored)


@router.post("/account/factor/keys/options")
def register_options(db: SessionDep, settings: SettingsDep, who: SelfUser,
                     _fresh: FreshBrowserFactor) -> JSONResponse:
    options = securitykeys.registration_options(db, settings, _session_row(who), who.user)
    return JSONResponse(options)


@router.post("/account/factor/keys")
def register_key(body: NewKey, db: SessionDep, settings: SettingsDep, who: SelfUser,
                 _fresh: FreshBrowserFactor) -> JSONResponse:
    row = _session_row(who)
    try:
        key = securitykeys.register(db, settings, who.actor, who.user, row, name=body.name,
                                    credential=body.credential)
    except securitykeys.KeyRefused as exc:
        return _refusal(exc)
    # the key proves the person holds it now: the session's factor check is fresh
    sessions.mark_factor(db, row)
    _push_flash(db, row, f"Security key \u201c{key.name}\u201d added. You can use it instead "
                         "of the code when you sign in.")
    return JSONResponse({"id": key.id, "name": key.name, "redirect": "/account/factor"},
                        status_code=201)


@router.post("/account/factor/keys/{key_id}/remove")
def remove_key(key_id: int, db: SessionDep, settings: SettingsDep, who: SelfUser,
               _fresh: FreshBrowserFactor) -> Response:
    key = securitykeys.remove(db, settings, who.actor, who.user, key_id)
    flash(db, who, f"Security key \u201c{key.name}\u201d removed.", "info")
    return RedirectResponse("/account/factor", status_code=303)


@router.post("/login/key/options")
def sign_in_options(db: SessionDep, settings: SettingsDep, who: SigningIn) -> JSONResponse:
    options = securitykeys.authentication_options(db, settings, _session_row(who), who.user)
    return JSONResponse(options)


@router.post("/login/key")
def sign_in_with_key(body: KeyAnswer, db: SessionDep, settings: SettingsDep,
                     who: SigningIn) -> JSONResponse:
    row, user = _session_row(who), db.merge(who.user)
    try:
        users.check_security_key(db, settings, who.actor, user, row, body.credential)
    except users.LoginFailed as exc:
        # Returned, not raised: the failure, any lockout and their audit events stay.
        if user.locked_until is not None:
            response = JSONResponse({"error": "Locked", "message": str(exc),
                                     "redirect": "/login"}, status_code=401)
            response.delete_cookie(sessions.COOKIE_NAME, path="/")
            return response
        return JSONResponse({"error": "Security key refused", "message": str(exc)},
                            status_code=401)
    sessions.mark_factor(db, row)
    target = "/account/password" if user.must_change_password else safe_next(body.next)
    return JSONResponse({"redirect": target})

