"""Pure ASGI middleware: a request id and security headers on every response, transactions
retried after a lost race, and one boundary that answers unhandled errors."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import secrets

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import retryable, unreachable
from app.errors import error_response, unexpected_response

log = logging.getLogger("cellwatch")

# media-src: a video's preview, served by the app itself (never the original, never elsewhere)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts  # production is served over HTTPS only (secure cookies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Cross-Origin-Resource-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                headers["X-Request-ID"] = request_id
                if self.hsts:
                    headers["Strict-Transport-Security"] = HSTS
                if not is_static:  # anything but the static assets may show data
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class WatchedSend:
    """A `send` that remembers whether the response has started (after that, no status)."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


class RetryTransactions:
    """Run a request again when its transaction lost a deadlock or serialization race.

    The request's unit of work has rolled back by the time the error arrives here, and no byte
    of an answer has gone out (the transaction commits before the response starts), so running
    the whole request again is safe. The body is kept as the app reads it and replayed.
    A request that still loses after `attempts` gets 503 with Retry-After, never a 500.
    """

    def __init__(self, app: ASGIApp, *, attempts: int) -> None:
        self.app = app
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        fresh = dict(state)  # what the outer middleware put there (the request id)
        seen: list[Message] = []

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen.append(message)
            return message

        for attempt in range(1, self.attempts + 1):
            replay = list(seen)
            watched = WatchedSend(send)

            async def attempt_receive(replay: list[Message] = replay) -> Message:
                return replay.pop(0) if replay else await recording_receive()

            try:
                await self.app(scope, attempt_receive, watched)
                return
            except Exception as exc:
                if watched.started or not retryable(exc):
                    raise
                orig = getattr(exc, "orig", exc)
                log.warning("transaction lost a race on %s %s (attempt %d of %d): %s: %s",
                            scope.get("method"), scope.get("path"), attempt, self.attempts,
                            type(orig).__name__, str(orig)[:120])
            state.clear()
            state.update(fresh)
            await asyncio.sleep(random.uniform(0.01, 0.05) * 2 ** attempt)  # noqa: S311
        response = error_response(
            Request(scope), 503, "Busy",
            "Cellwatch is very busy and your request was not stored. Try again in a moment.",
            headers={"Retry-After": "2"})
        await response(scope, receive, send)


class ErrorBoundary:
    """An unhandled error becomes a logged 500 page or JSON, and the connection stays usable.

    (Starlette's own last-resort handler answers and then re-raises, and the server then
    closes the keep-alive connection, so a client's next request failed as well.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watched = WatchedSend(send)
        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if watched.started:  # too late for a status: let the server drop the connection
                raise
            request = Request(scope)
            if unreachable(exc):  # the database is restarting or away: say so, no traceback
                log.warning("database unreachable on %s %s: %s", request.method,
                            request.url.path, exc.__class__.__name__)
                await error_response(
                    request, 503, "Database unavailable",
                    "Cellwatch cannot reach its database at the moment. Try again in a few "
                    "seconds; if you were saving something, check whether it was stored first.",
                    headers={"Retry-After": "5"})(scope, receive, send)
                return
            if isinstance(exc, PoolTimeout):  # every connection busy for the pool's timeout
                log.warning("no database connection free on %s %s", request.method,
                            request.url.path)
                await error_response(
                    request, 503, "Busy",
                    "Cellwatch is very busy and your request was not stored. Try again in a "
                    "moment.", headers={"Retry-After": "2"})(scope, receive, send)
                return
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            await unexpected_response(request)(scope, receive, send)
