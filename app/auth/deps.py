"""Who is asking (browser session or API key) and whether they may: every route declares it."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.routing import Match

from app.audit.service import Actor
from app.auth import apikeys, factors, sessions, users
from app.auth.models import User, UserSession
from app.auth.permissions import Permission, permissions_for
from app.db import SessionDep, utcnow, write_regardless
from app.errors import Forbidden, NotAuthenticated
from app.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
CROSS_SITE = "Refused: this request came from another site."


@dataclass
class Principal:
    user: User
    permissions: frozenset[Permission]
    via: Literal["session", "api_key"]
    actor: Actor
    session_row: UserSession | None = None
    # A browser session whose user has an authenticator but has not yet given its code.
    factor_pending: bool = False
    # A browser session whose user has no authenticator (development lets them in, warned).
    factor_missing: bool = False

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


def bearer_token(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def get_principal(request: Request, db: SessionDep, settings: SettingsDep) -> Principal | None:
    """Resolve once per request; session upkeep (touch, expiry, flashes taken) joins the
    request's transaction, so a request that fails leaves them as they were."""
    if (cached := getattr(request.state, "principal", None)) is not None:
        return cached
    principal: Principal | None = None
    if (key := bearer_token(request)) is not None:
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
            if row.factor_at is None:
                enrolled = factors.has_second_factor(db, user.id or 0)
                principal.factor_pending, principal.factor_missing = enrolled, not enrolled
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
        raise Forbidden(CROSS_SITE)
    given = request.headers.get(CSRF_HEADER)
    if given is None and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        given = field if isinstance(field, str) else None
    if not given or not hmac.compare_digest(given, expected):
        raise Forbidden("Refused: the form has expired or did not come from Cellwatch. "
                        "Reload the page and try again.")


def safe_next(target: str) -> str:
    # only local paths: never an open redirect to another site
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _page_to_return_to(request: Request) -> str:
    """This page; for a form post, the page at its path or the nearest above it (the dossier
    for its reveal-date form), so that the person comes back to where they were."""
    path = request.url.path
    if request.method == "GET":
        return path
    while path.count("/") >= 1 and path != "/":
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            return path
        path = path.rsplit("/", 1)[0] or "/"
    return "/"


def code_page(request: Request) -> str:
    """The second-factor page, coming back afterwards (a path only: never a query)."""
    return f"/login/code?next={quote(_page_to_return_to(request))}"


FactorStage = Literal["required", "enrol", "pending"]


class Requires:
    """A route's declared permission; `Requires(None)` declares a public route.

    `factor`: "required" (the default) lets in only sessions that gave their second factor, or
    whose user has none where settings allow that; "enrol" also lets in a user with none (the
    set-up and password pages); "pending" also a session still to give its code (that page).
    """

    def __init__(self, permission: Permission | None, *, pending_password_ok: bool = False,
                 factor: FactorStage = "required") -> None:
        self.permission = permission
        self.pending_password_ok = pending_password_ok
        self.factor = factor

    async def __call__(
        self, request: Request, principal: Annotated[Principal | None, Depends(get_principal)]
    ) -> Principal | None:
        if self.permission is None:
            return principal
        if principal is None:
            raise NotAuthenticated("Sign in to continue.")
        if principal.factor_pending and self.factor != "pending":
            raise Forbidden("Enter the code from your authenticator app to finish signing in.",
                            redirect_to=code_page(request))
        if principal.user.must_change_password and not self.pending_password_ok:
            raise Forbidden("Choose a new password before going on.",
                            redirect_to="/account/password")
        if (principal.factor_missing and self.factor == "required"
                and request.app.state.settings.factor_required):
            raise Forbidden("Set up an authenticator app before going on.",
                            redirect_to="/account/factor")
        if self.permission not in principal.permissions:
            raise Forbidden("Your role does not allow this.")
        if request.method not in SAFE_METHODS and principal.session_row is not None:
            await check_csrf(request, principal.session_row.csrf_token)
        return principal


def requires(permission: Permission, *, pending_password_ok: bool = False,
             factor: FactorStage = "required") -> Requires:
    return Requires(permission, pending_password_ok=pending_password_ok, factor=factor)


class StepUpRequired(Forbidden):
    """The session's last factor check is too old for this: the code is asked again."""


class StepUp:
    """Ask for the second factor again when the last check is older than the settings allow.

    `browser_only`: also refuse API keys (minting or changing keys and users happens only in a
    signed-in browser). Otherwise an API key passes: it was made after a fresh check, and a
    script cannot answer one.
    """

    def __init__(self, *, browser_only: bool = False) -> None:
        self.browser_only = browser_only

    def __call__(self, request: Request,
                 principal: Annotated[Principal | None, Depends(get_principal)]) -> None:
        if principal is None:
            raise NotAuthenticated("Sign in to continue.")
        if principal.via != "session":
            if self.browser_only:
                raise Forbidden("This is done only in a signed-in browser, not with an API key.")
            return
        if principal.factor_missing:  # only where settings allow no factor (development)
            return
        settings: Settings = request.app.state.settings
        checked = principal.session_row.factor_at if principal.session_row else None
        if checked is None or utcnow() - checked > timedelta(minutes=settings.step_up_minutes):
            page = code_page(request)
            raise StepUpRequired(
                f"Enter your authenticator code again (or use your security key): the last "
                f"check was more than {settings.step_up_minutes} minutes ago. Then try once "
                "more.",
                redirect_to=page, detail={"step_up": page})


PUBLIC = Requires(None)


def user_from_path(user_id: int, db: SessionDep) -> User:
    return users.get_user(db, user_id)


# The user a path names (`/admin/users/{user_id}/...`); 404 when there is none.
UserDep = Annotated[User, Depends(user_from_path)]


__all__ = ["PUBLIC", "Principal", "Requires", "Session", "SettingsDep", "StepUp", "UserDep",
           "requires"]
