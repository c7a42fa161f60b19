"""Errors carry their HTTP status; one handler renders them as a page, an htmx fragment or JSON."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.nul import MESSAGE as NUL_MESSAGE
from app.nul import NulInText

log = logging.getLogger("cellwatch")


class AppError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(
        self, message: str, *, headers: dict[str, str] | None = None, redirect_to: str = "",
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers
        self.redirect_to = redirect_to  # where a browser GET is sent instead of an error page
        self.detail = detail  # machine-readable specifics for the JSON body (e.g. per file)


class NotAuthenticated(AppError):
    status_code = 401
    title = "Sign-in needed"


class Forbidden(AppError):
    status_code = 403
    title = "Not allowed"


class NotFound(AppError):
    status_code = 404
    title = "Not found"


class Conflict(AppError):
    status_code = 409
    title = "Changed by someone else"


class PayloadTooLarge(AppError):
    status_code = 413
    title = "Too large"


class Unprocessable(AppError):
    status_code = 422
    title = "Cannot accept this"


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or (
        "application/json" in request.headers.get("accept", "")
        and "text/html" not in request.headers.get("accept", "")
    )


def error_response(
    request: Request, status: int, title: str, message: str,
    headers: dict[str, str] | None = None, detail: Any = None, link: str = "",
) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"error": title, "message": message}
        if detail is not None:
            body["detail"] = detail
        return JSONResponse(body, status_code=status, headers=headers)
    if status == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    from app.web import render  # late: web imports templates that need the app configured

    template = "errors/_error.html" if request.headers.get("hx-request") else "errors/error.html"
    return render(request, template, {"status": status, "title": title, "message": message,
                                      "link": link}, status_code=status, headers=headers)


def nul_response(request: Request, exc: NulInText) -> Response:
    """The one answer to text holding U+0000 (app/nul.py), shaped like a validation error."""
    return error_response(request, 422, "Cannot accept this", exc.detail,
                          detail=[{"field": exc.field, "message": NUL_MESSAGE}])


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        if exc.redirect_to and request.method == "GET" and not wants_json(request):
            return RedirectResponse(exc.redirect_to, status_code=303)
        return error_response(request, exc.status_code, exc.title, exc.message, exc.headers,
                              detail=exc.detail, link=exc.redirect_to)

    @app.exception_handler(NulInText)
    async def _nul(request: Request, exc: NulInText) -> Response:
        return nul_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Sign-in needed",
                  403: "Not allowed", 413: "Too large"}
        title = titles.get(exc.status_code, "Request refused")
        message = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404:
            message = "There is nothing at this address."
        headers = exc.headers
        if exc.status_code == 405:  # each method is its own route: Allow names them all
            message = "This address does not take that method."
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return error_response(request, exc.status_code, title, message, headers)

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        return _out_of_range(request)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Response:
        if "cannot contain NUL" in str(exc.orig):  # PostgreSQL text never holds U+0000
            return error_response(request, 422, "Cannot accept this",
                                  "A text in the request holds a NUL character (U+0000), "
                                  "which cannot be stored or searched; nothing was changed.")
        if "out of range" not in str(exc.orig):
            raise exc  # anything else is a bug: the error boundary logs it
        return _out_of_range(request)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
             "message": _readable(request, err)}
            for err in exc.errors()
        ]
        text = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid input"
        return error_response(request, 422, "Cannot accept this", text, detail=problems)


def _readable(request: Request, err: dict[str, Any]) -> str:
    """Pydantic's words, except for a pattern (a regular expression means nothing to most
    readers) or a missing field: then the field's own description of what it takes."""
    kind = err.get("type")
    if kind == "value_error":  # our own validators' words, without pydantic's "Value error, "
        return str(err.get("ctx", {}).get("error", err.get("msg", "invalid")))
    if kind not in ("string_pattern_mismatch", "missing"):
        return str(err.get("msg", "invalid"))
    described = _description(request, tuple(err.get("loc", ())))
    if kind == "missing":
        return f"is required: {described}" if described else "is required"
    return f"should be {described}" if described else "is not in the form this field takes"


def _description(request: Request, loc: tuple[Any, ...]) -> str | None:
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or len(loc) < 2:
        return None
    where, name = loc[0], loc[1]
    stack = [dependant]
    while stack:  # the route's own parameters and those of its dependencies
        dep = stack.pop()
        stack.extend(dep.dependencies)
        params = {"query": dep.query_params, "path": dep.path_params,
                  "header": dep.header_params, "body": dep.body_params}.get(where, [])
        for param in params:
            if param.alias == name or param.name == name:
                return param.field_info.description
            model = getattr(param.field_info, "annotation", None)
            fields = getattr(model, "model_fields", {})
            if where == "body" and name in fields:  # a JSON body's field
                return fields[name].description
    return None


# as app/web/numbers.py (errors.py imports nothing of the app): ids are INTEGER columns on
# PostgreSQL, which refuses a larger number where SQLite refuses only one past 64 bits
ROW_ID_MAX = 2**31 - 1


def _huge_id_in_path(path: str) -> bool:
    return any(part.lstrip("-").isascii() and part.lstrip("-").isdigit()
               and abs(int(part)) > ROW_ID_MAX for part in path.split("/") if part)


def _out_of_range(request: Request) -> Response:
    """A number too large for the database (SQLite raises OverflowError as it binds it,
    PostgreSQL a DataError): an id in the address names nothing; elsewhere it is bad input."""
    if _huge_id_in_path(request.url.path):
        return error_response(request, 404, "Not found", "There is nothing at this address.")
    return error_response(request, 422, "Cannot accept this",
                          "A number in the request is out of range; nothing was changed.")


def flat_routes(routes: Any) -> Any:
    """Every route, those of included routers too (they hold theirs in `original_router`)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from flat_routes(route.original_router.routes)
        else:
            yield route


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this address (Starlette names only the first
    route's)."""
    methods: set[str] = set()
    for route in flat_routes(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def unexpected_response(request: Request) -> Response:
    """The answer to an error nobody handled (app/middleware.py ErrorBoundary)."""
    # The request's transaction commits when its route returns; only an error before that
    # leaves nothing changed. Say which, so nobody repeats work that was in fact stored.
    stored = getattr(request.state, "committed", False)
    what = ("Your change was saved, but the answer could not be shown: reload the page "
            "before doing it again." if stored else "The request failed and nothing was "
            "changed.")
    return error_response(
        request, 500, "Something went wrong",
        f"{what} The error has been logged; quote request id "
        f"{getattr(request.state, 'request_id', '-')}.",
    )


class TooManyRequests(AppError):
    status_code = 429
    title = "Too many requests"
