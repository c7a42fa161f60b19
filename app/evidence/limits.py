"""Refuse request bodies over the upload cap before reading them (pure ASGI middleware).

The intake routes (the one intake path, which also takes videos) allow a body as large as one
video (CELLWATCH_VIDEO_MAX_BYTES); every other route keeps the photo cap. A photo sent to an
intake route is still held to the photo cap, file by file (validation.check_upload).

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


# POST routes that take videos beside photos (accounts/api_intake.py, accounts/pages_intake.py)
VIDEO_ROUTES = frozenset({"/api/v1/images", "/api/v1/accounts", "/intake", "/accounts/new"})


def body_limit(settings: Settings) -> int:
    return settings.max_upload_bytes + FRAMING_ALLOWANCE


def intake_file_bytes(settings: Settings) -> int:
    """The largest one file an intake route reads: a photo or a video."""
    return max(settings.max_upload_bytes, settings.video_max_bytes)


def video_body_limit(settings: Settings) -> int:
    return intake_file_bytes(settings) + FRAMING_ALLOWANCE


class BodyTooLarge(HTTPException):
    """An HTTPException so FastAPI's body parsing re-raises it instead of turning it into 400
    and the app's handler renders it like any other error (page, fragment or JSON)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The upload is too large: at most {limit // (1024 * 1024)} MB "
                              "can be sent at once. Send fewer or smaller files.")


class UploadSizeLimit:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int,
                 video_body_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.video_body_bytes = max(video_body_bytes or 0, max_body_bytes)

    def _limit(self, scope: Scope) -> int:
        if scope.get("method") == "POST" and scope.get("path") in VIDEO_ROUTES:
            return self.video_body_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = Headers(scope=scope).get("content-length", "")
        size = whole_number(declared) if declared else None
        if size is not None and size > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        watched = WatchedSend(send)

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counting_receive, watched)
        except BodyTooLarge:
            if watched.started:  # too late for a status; the connection is dropped
                raise
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        error = BodyTooLarge(limit)
        response = error_response(Request(scope), 413, "Too large", str(error.detail),
                                  headers={"Connection": "close"})
        await response(scope, receive, send)
