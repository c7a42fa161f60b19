"""Refuse request bodies over the upload cap before reading them (pure ASGI middleware).

A declared Content-Length over the cap gets 413 at once, without the app running or a byte
of the body being read. A body without one (chunked) is counted as it streams in and cut off
with 413 the moment it passes the cap, so nothing over the cap is ever buffered or spooled.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_response
from app.middleware import WatchedSend
from app.settings import Settings
from app.web.numbers import whole_number

# Multipart framing and the form's small fields ride on top of the image itself.
FRAMING_ALLOWANCE = 256 * 1024


def body_limit(settings: Settings) -> int:
    return settings.max_upload_bytes + FRAMING_ALLOWANCE


class BodyTooLarge(HTTPException):
    """An HTTPException so FastAPI's body parsing re-raises it instead of turning it into 400
    and the app's handler renders it like any other error (page, fragment or JSON)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The upload is too large: at most {limit // (1024 * 1024)} MB "
                              "can be sent at once. Send fewer or smaller images.")


class UploadSizeLimit:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        size = whole_number(declared) if declared else None
        if size is not None and size > self.max_body_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        watched = WatchedSend(send)

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        try:
            await self.app(scope, counting_receive, watched)
        except BodyTooLarge:
            if watched.started:  # too late for a status; the connection is dropped
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = BodyTooLarge(self.max_body_bytes)
        response = error_response(Request(scope), 413, "Too large", str(error.detail),
                                  headers={"Connection": "close"})
        await response(scope, receive, send)
