"""Sign-in before the body: a request that carries a body is answered before a byte of it is
read unless it comes signed in (a live session cookie or API key), or goes to a public route.

FastAPI reads and parses a route's body before it resolves the route's dependencies, so the
permission a route declares (app/auth/deps.py) is checked only after a stranger's 20 MB
upload has been received and spooled. This pure ASGI middleware looks at the headers alone.
It checks only that someone is signed in; the route's own dependency still decides whether
they may, and checks the form's CSRF token, once the body is read. The part of the CSRF check
that needs no body is done here too: a state change riding on a session cookie but sent from
another site's page (Sec-Fetch-Site) is refused 403 before its body.

Public routes (sign-in, enrolment) take bodies from anyone, so their bodies are capped small:
a declared length over the cap is refused at once, a chunked one as soon as it passes it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import apikeys, sessions
from app.auth.deps import CROSS_SITE, SAFE_METHODS, Requires, bearer_token
from app.errors import error_response, flat_routes
from app.web.numbers import whole_number


class PublicBodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body parsing passes it on instead of a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"This form sends at most {limit // 1024} KB.",
                         headers={"Connection": "close"})


def _is_public(route: BaseRoute) -> bool:
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return False
    declared: list[Requires] = []
    pending = list(dependant.dependencies)
    while pending:
        sub = pending.pop()
        if isinstance(sub.call, Requires):
            declared.append(sub.call)
        pending.extend(sub.dependencies)
    return bool(declared) and all(r.permission is None for r in declared)


def _carries_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return "transfer-encoding" in headers or (length is not None and length.strip() != "0")


def cross_site_session(request: Request) -> bool:
    """A state change riding on a session cookie, sent from another site's page (an API key
    is not a cookie: a browser never adds it on its own)."""
    return (request.method not in SAFE_METHODS and not bearer_token(request)
            and sessions.COOKIE_NAME in request.cookies
            and request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin",
                                                                            "none"))


def signed_in(app: Any, request: Request) -> bool:
    """A live session or a valid API key (read only: the route does the session's upkeep)."""
    key, cookie = bearer_token(request), request.cookies.get(sessions.COOKIE_NAME, "")
    if not key and not cookie:
        return False  # nobody to look up: no database read for a stranger
    with app.state.session_factory() as db:  # closed without commit: nothing is written
        if key:
            return apikeys.resolve(db, key) is not None
        return isinstance(sessions.resolve(db, app.state.settings, cookie), tuple)


class RecentlyValid:
    """Credentials found valid in the last few seconds, by digest (never the secret itself):
    a burst of uploads under one key costs this gate one lookup, not one each. Only the gate
    trusts it: the route resolves the credential again, so a key revoked meanwhile is still
    refused (after its body was read, as it would have been a moment earlier)."""

    def __init__(self, seconds: float = 5.0, size: int = 4096) -> None:
        self.seconds, self.size = seconds, size
        self._until: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _digest(credential: str) -> bytes:
        return hashlib.sha256(credential.encode()).digest()

    def fresh(self, credential: str) -> bool:
        with self._lock:
            until = self._until.get(self._digest(credential))
        return until is not None and until > time.monotonic()

    def remember(self, credential: str) -> None:
        with self._lock:
            digest = self._digest(credential)
            self._until[digest] = time.monotonic() + self.seconds
            self._until.move_to_end(digest)
            while len(self._until) > self.size:
                self._until.popitem(last=False)


class SignInBeforeBody:
    def __init__(self, app: ASGIApp, *, public_body_bytes: int) -> None:
        self.app = app
        self.public_body_bytes = public_body_bytes
        # per application and number of routes: built once, again if a route is added
        self._public: dict[tuple[int, int], list[BaseRoute]] = {}
        self._recent = RecentlyValid()

    def _public_routes(self, application: Any) -> list[BaseRoute]:
        key = (id(application), len(application.router.routes))
        if key not in self._public:
            self._public[key] = [r for r in flat_routes(application.routes) if _is_public(r)]
        return self._public[key]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not _carries_body(headers):
            await self.app(scope, receive, send)
            return
        application = scope["app"]
        if any(route.matches(scope)[0] is Match.FULL
               for route in self._public_routes(application)):
            await self._capped(scope, receive, send, headers)
            return
        request = Request(scope)
        if cross_site_session(request):  # check_csrf's first rule, which needs no body
            await error_response(request, 403, "Not allowed", CROSS_SITE,
                                 headers={"Connection": "close"})(scope, receive, send)
            return
        credential = bearer_token(request) or request.cookies.get(sessions.COOKIE_NAME, "")
        if credential and self._recent.fresh(credential):
            await self.app(scope, receive, send)
            return
        if await run_in_threadpool(signed_in, application, request):
            self._recent.remember(credential)
            await self.app(scope, receive, send)
            return
        # the body stays unread: the connection closes after the answer, not after a drain
        await error_response(request, 401, "Sign-in needed", "Sign in to continue.",
                             headers={"Connection": "close"})(scope, receive, send)

    async def _capped(self, scope: Scope, receive: Receive, send: Send,
                      headers: Headers) -> None:
        limit = self.public_body_bytes
        declared = headers.get("content-length")
        size = whole_number(declared) if declared else None
        if size is not None and size > limit:
            error = PublicBodyTooLarge(limit)
            await error_response(Request(scope), 413, "Too large", str(error.detail),
                                 headers=error.headers)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise PublicBodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)
