"""Slow and silent clients: how `cellwatch serve` bounds what a connection may hold.

uvicorn times out only an idle keep-alive connection. A connection that opens and sends
nothing, or half a request head, is held for ever, and a body that stalls or trickles in a
byte at a time holds its request (and a worker thread) for as long as the client likes. So:

- `DeadlineH11Protocol`: uvicorn's h11 protocol with a deadline for each request head, from
  the connection's opening or from the first byte of the next request on a kept-alive one;
- `BodyReadTimeout` (ASGI): a body that stalls or trickles is answered 408 and the connection
  closed (uvicorn has no body timeout of its own);
- `uvicorn_options`: those, the connection limit, keep-alive and the head size cap, from the
  settings.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import h11
from fastapi import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.errors import error_response
from app.middleware import WatchedSend
from app.settings import Settings, get_settings


class DeadlineH11Protocol(H11Protocol):
    """h11 with a deadline for each request head (settings.server_header_timeout_seconds)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = get_settings().server_header_timeout_seconds
        self.head_timer: asyncio.TimerHandle | None = None

    def _waiting_for_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self.head_timer = self.loop.call_later(self.head_timeout, self._head_overdue)

    def _disarm(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a new connection owes its first head at once

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._waiting_for_head():
            self._disarm()  # the head is in: the body has its own timeout
        elif self.head_timer is None:
            self._arm()  # the first bytes of the next head on a kept-alive connection

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _head_overdue(self) -> None:
        self.head_timer = None
        if self._waiting_for_head() and not self.transport.is_closing():
            with contextlib.suppress(h11.LocalProtocolError):  # mid-exchange: say nothing
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "http": f"{__name__}:DeadlineH11Protocol",
        "limit_concurrency": settings.server_max_connections,
        # keep-alive longer than a client's own (httpx 5 s, browsers and proxies 60 s or
        # more): the client closes an idle connection first, never racing the server's close
        "timeout_keep_alive": settings.server_keep_alive_seconds,
        "h11_max_incomplete_event_size": settings.server_max_header_bytes,
    }


class BodyTimedOut(HTTPException):
    """An HTTPException, so that FastAPI's body parsing passes it on instead of a 400."""

    def __init__(self) -> None:
        super().__init__(408, "The request body arrived too slowly and was not accepted. "
                              "Send it again.", headers={"Connection": "close"})


class BodyReadTimeout:
    """No body chunk for `idle` seconds, or an average under `min_rate` bytes a second once
    `idle` seconds have passed: 408, and the connection closes."""

    def __init__(self, app: ASGIApp, *, idle: float, min_rate: int) -> None:
        self.app = app
        self.idle = idle
        self.min_rate = min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        started, received, done = loop.time(), 0, False

        async def timed_receive() -> Message:
            nonlocal received, done
            if done:  # after the body: waiting for a disconnect is not a slow body
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.idle)
            except TimeoutError:
                raise BodyTimedOut() from None
            done = message["type"] != "http.request" or not message.get("more_body")
            received += len(message.get("body", b""))
            elapsed = loop.time() - started
            if not done and elapsed > self.idle and received < self.min_rate * elapsed:
                raise BodyTimedOut()
            return message

        watched = WatchedSend(send)
        try:
            await self.app(scope, timed_receive, watched)
        except BodyTimedOut as exc:
            if watched.started:
                raise
            await error_response(Request(scope), 408, "Too slow", str(exc.detail),
                                 headers=exc.headers)(scope, receive, send)
