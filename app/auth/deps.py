"""Who is asking (browser session or API key) and whether they may: every route declares it."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlmodel import Session

from app.audit.service import Actor
from app.auth import apikeys, sessions, users
from app.auth.models import User, UserSession
from app.auth.permissions import Permission, permissions_for
from app.db import SessionDep, write_regardless
from app.errors import Forbidden, NotAuthenticated
from app.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


@dataclass
class Principal:
    user: User
    permissions: frozenset[Permission]
    via: Literal["session", "api_key"]
    actor: Actor
    session_row: UserSession | None = None

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def client_addr(request: Request) -> str:
    return request.client.host if request.client else ""


def request_actor(request: Request, user: User | None = None) -> Actor:
    return Actor(
        user_id=user.id if user else None,
        name=user.username if user else "anonymous",
        client_addr=client_addr(request),
        request_id=getattr(request.state, "request_id", ""),
    )


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def get_principal(request: Request, db: SessionDep, settings: SettingsDep) -> Principal | None:
    """Resolve once per request; session upkeep (touch, expiry, flashes taken) joins the
    request's transaction, so a request that fails leaves them as they were."""
    if (cached := getattr(request.state, "principal", None)) is not None:
        return cached
    principal: Principal | None = None
    if (key := _bearer(request)) is not None:
        user = apikeys.resolve(db, key)
        if user is not None:
            principal = Principal(user, permissions_for(user.role), "api_key",
                                  request_actor(request, user))
    elif token := request.cookies.get(sessions.COOKIE_NAME):
        found = sessions.resolve(db, settings, token)
        if isinstance(found, UserSession):
            # The request that carried the cookie is refused (and rolled back), but the dead
            # session must go all the same.
            write_regardless(request, lambda own: sessions.end(own, token))
        elif found is not None:
            row, user = found
            principal = Principal(user, permissions_for(user.role), "session",
                                  request_actor(request, user), row)
            request.state.csrf_token = row.csrf_token
            request.state.flashes = sessions.pop_flashes(db, row)
    db.flush()  # the upkeep is written before the rows are detached below
    if principal is not None:
        # Detached, so that a rollback later in the request cannot expire them and the error
        # page can still say who is signed in; a service that changes them adds them back.
        db.expunge(principal.user)
        if principal.session_row is not None:
            db.expunge(principal.session_row)
    request.state.principal = principal
    return principal


async def check_csrf(request: Request, expected: str) -> None:
    """Refuse state changes that do not carry this session's token, or come from another site."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Forbidden("Refused: this request came from another site.")
    given = request.headers.get(CSRF_HEADER)
    if given is None and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if not given or not hmac.compare_digest(given, expected):
        raise Forbidden("Refused: the form has expired or did not come from Cellwatch. "
                        "Reload the page and try again.")


class Requires:
    """A route's declared permission; `Requires(None)` declares a public route."""

    def __init__(self, permission: Permission | None, *, pending_password_ok: bool = False) -> None:
        self.permission = permission
        self.pending_password_ok = pending_password_ok

    async def __call__(
        self, request: Request, principal: Annotated[Principal | None, Depends(get_principal)]
    ) -> Principal | None:
        if self.permission is None:
            return principal
        if principal is None:
            raise NotAuthenticated("Sign in to continue.")
        if principal.user.must_change_password and not self.pending_password_ok:
            raise Forbidden("Choose a new password before going on.",
                            redirect_to="/account/password")
        if self.permission not in principal.permissions:
            raise Forbidden("Your role does not allow this.")
        if request.method not in SAFE_METHODS and principal.session_row is not None:
            await check_csrf(request, principal.session_row.csrf_token)
        return principal


def requires(permission: Permission, *, pending_password_ok: bool = False) -> Requires:
    return Requires(permission, pending_password_ok=pending_password_ok)


PUBLIC = Requires(None)


def user_from_path(user_id: int, db: SessionDep) -> User:
    return users.get_user(db, user_id)


# The user a path names (`/admin/users/{user_id}/...`); 404 when there is none.
UserDep = Annotated[User, Depends(user_from_path)]


__all__ = ["PUBLIC", "Principal", "Requires", "Session", "SettingsDep", "UserDep", "requires"]
