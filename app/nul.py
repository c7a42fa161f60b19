"""Text holding the NUL character (U+0000) is refused with a 422, on both databases.

PostgreSQL cannot store NUL in text and SQLite can, so without this rule the same request is
stored on one and refused on the other. Every text a request carries is checked before the
route runs: the path, the query string, a JSON body (every string, keys included), a form body
(urlencoded: every name and value; multipart: every field and file name, but not a file's own
bytes, which are binary). The body is checked as the app reads it, chunk by chunk, and the
request is refused at the chunk that shows the NUL, before the route's code (and so any write)
runs. The OpenAPI document says so on every text (`document`), so that a client, or a fuzzer,
knows it up front.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MESSAGE = "text may not contain the NUL character"
PATTERN = "^[^\\u0000]*$"
_NUL = "\x00"


class NulInText(HTTPException):
    """A text of the request holds U+0000 (`field` names where); answered 422."""

    def __init__(self, field: str) -> None:
        super().__init__(422, f"{field}: {MESSAGE}")
        self.field = field


def _shown(name: str) -> str:
    """A field's name as the answer quotes it: never with the NUL itself."""
    return name.replace(_NUL, "\\0") or "(a field)"


def _walk(value: Any, at: str) -> Iterator[str]:
    if isinstance(value, str):
        if _NUL in value:
            yield at or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            name = _shown(f"{at}.{key}" if at else str(key))
            if _NUL in str(key):
                yield name
            yield from _walk(item, name)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _walk(item, f"{at}.{n}" if at else str(n))


def _in_pairs(text: str) -> str | None:
    for name, value in parse_qsl(text, keep_blank_values=True, encoding="latin-1"):
        if _NUL in name or _NUL in value:
            return _shown(name)
    return None


class _Whole:
    """JSON or urlencoded: the body is looked at once whole (such bodies are small)."""

    def __init__(self, kind: str) -> None:
        self.kind, self.body = kind, bytearray()

    def feed(self, chunk: bytes, last: bool) -> str | None:
        self.body += chunk
        if not last:
            return None
        if self.kind == "form":
            return _in_pairs(self.body.decode("latin-1"))
        if b"\\u0000" not in self.body and b"\x00" not in self.body:
            return None  # the common case: no escape that could be a NUL
        try:
            return next(_walk(json.loads(self.body), ""), None)
        except ValueError:
            return None  # not JSON: the route's own parsing says so


class _Multipart:
    """Multipart: each part's headers and, for a field (not a file), its value, streamed."""

    def __init__(self, boundary: bytes) -> None:
        self.found: str | None = None
        self.field, self.value = bytearray(), bytearray()  # a header, maybe split in chunks
        self.headers: dict[bytes, bytes] = {}
        self.name, self.is_file = "", False
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._field,
            "on_header_value": self._value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done, "on_part_data": self._data})

    def _begin(self) -> None:
        self.headers, self.name, self.is_file = {}, "", False

    def _field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def _header_end(self) -> None:
        self.headers[bytes(self.field).lower()] = bytes(self.value)
        self.field, self.value = bytearray(), bytearray()

    def _headers_done(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("latin-1")
        filename = options.get(b"filename")
        self.is_file = filename is not None
        if self.found is None and (_NUL in self.name or b"\x00" in (filename or b"")):
            self.found = _shown(self.name)

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.found is None and not self.is_file and b"\x00" in data[start:end]:
            self.found = _shown(self.name)

    def feed(self, chunk: bytes, last: bool) -> str | None:
        try:
            self.parser.write(chunk)
        except Exception:  # noqa: BLE001  malformed: the route's own parser refuses it
            return None
        return self.found


def _scanner(scope: Scope) -> _Whole | _Multipart | None:
    ctype = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1")
    kind, options = parse_options_header(ctype)
    if kind == b"multipart/form-data" and options.get(b"boundary"):
        return _Multipart(options[b"boundary"])
    if kind == b"application/x-www-form-urlencoded":
        return _Whole("form")
    if not kind or kind == b"application/json" or kind.endswith(b"+json"):
        return _Whole("json")
    return None


class RefuseNul:
    """Pure ASGI middleware, innermost (inside the retries, which replay the body through it),
    so that its refusal from the body is raised where the app reads the body and answered by
    the app's own error handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = ("path" if _NUL in scope.get("path", "") else
                 _in_pairs(scope.get("query_string", b"").decode("latin-1")))
        if where is not None:
            from app.errors import nul_response  # late: errors renders pages

            await nul_response(Request(scope), NulInText(where))(scope, receive, send)
            return
        scanner = _scanner(scope)
        if scanner is None:
            await self.app(scope, receive, send)
            return

        async def checked() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                found = scanner.feed(message.get("body", b""), not message.get("more_body"))
                if found is not None:
                    raise NulInText(found)
            return message

        await self.app(scope, checked, send)


def document(schema: Any) -> None:
    """Every free text of an OpenAPI document says that it may not hold NUL, as a pattern
    (a text with a pattern or a format of its own already rules it out)."""
    if isinstance(schema, list):
        for item in schema:
            document(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not ({"pattern", "format", "enum", "const"}
                                                & set(schema)):
        schema["pattern"] = PATTERN
        schema["description"] = (schema.get("description", "") + " " +
                                 "Text may not contain the NUL character (U+0000).").strip()
    for value in schema.values():
        document(value)
