"""The API's documentation: `/docs` (Swagger UI served from static/swagger: the CSP allows no
other origin and no inline script) and an OpenAPI document of the `/api/v1` operations only,
declaring the bearer API key they take. Off in production (settings refuse api_docs there).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute, APIRouter

from app import nul
from app.auth.guards import Anyone
from app.errors import flat_routes
from app.web import render

API_PREFIX = "/api/v1/"
SCHEME = "apiKey"
DESCRIPTION = (
    "Cellwatch's JSON API. Every call takes an API key (made on /account/keys) in the "
    "`Authorization: Bearer cwk_…` header, never in a URL. Times are ISO 8601 in UTC; a time "
    "sent without an offset is read as the unit's local time. Errors answer "
    "`{\"title\", \"detail\"}` with their HTTP status.")

router = APIRouter()


@router.get("/docs", include_in_schema=False)
def docs_page(request: Request, who: Anyone) -> Response:
    return render(request, "apidocs.html")


def api_routes(routes: Iterable[Any]) -> list[APIRoute]:
    """Every `/api/v1` route, including those of nested included routers."""
    return [route for route in flat_routes(routes) if isinstance(route, APIRoute)
            and route.path.startswith(API_PREFIX) and route.include_in_schema]


# Every refusal has one shape (app/errors.py): what went wrong, in words, and per-field or
# per-file detail where there is some.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "title": "Error", "required": ["error", "message"],
    "properties": {"error": {"type": "string", "description": "What kind of refusal"},
                   "message": {"type": "string", "description": "What to do, in words"},
                   "detail": {"description": "Per field or per file, where there is some"}}}
ERRORS = {
    "400": "The body could not be read (not valid JSON or multipart)",
    "401": "No API key, or a key that is expired, revoked or unknown",
    "403": "The key's user may not do this",
    "404": "Nothing at this address, or no record with an id the body names",
    "409": "The record changed meanwhile, or the request repeats one under way",
    "413": "The upload is larger than allowed",
    "415": "A file is not a JPEG, PNG or WebP image",
    "422": "The request is not acceptable; nothing was changed",
    "429": "Too many requests: wait as long as Retry-After says",
}


def _names_records(schema: dict[str, Any], op: dict[str, Any]) -> bool:
    """The JSON body names a record by its id (`account_id`): an unknown one is a 404."""
    ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}) \
        .get("schema", {}).get("$ref", "")
    body = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}) if ref else {}
    return any(name.endswith("_id") for name in body.get("properties", {}))


def error_responses(schema: dict[str, Any], path: str, method: str,
                    op: dict[str, Any]) -> dict[str, Any]:
    """The refusals an operation may answer with, each with the one error shape."""
    codes = ["401", "403", "422", "429"]
    if "{" in path or _names_records(schema, op):
        codes.append("404")
    if method != "get":
        codes += ["400", "409"]
    if "multipart/form-data" in op.get("requestBody", {}).get("content", {}):
        codes += ["413", "415"]
    ref = {"$ref": "#/components/schemas/Error"}
    return {code: {"description": ERRORS[code],
                   "content": {"application/json": {"schema": ref}}} for code in sorted(codes)}


def install(app: FastAPI) -> None:
    """`/docs` and the filtered document (at the app's openapi_url) on `app`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=DESCRIPTION,
                                 routes=api_routes(app.routes))
            # every free text the operations take or give: no U+0000 (app/nul.py); not the
            # error shape added below, whose message may quote what was refused
            nul.document(schema)
            schema.setdefault("components", {})["securitySchemes"] = {SCHEME: {
                "type": "http", "scheme": "bearer", "bearerFormat": "cwk_…",
                "description": "An API key from /account/keys."}}
            schema["security"] = [{SCHEME: []}]
            schema["components"].setdefault("schemas", {})["Error"] = ERROR_SCHEMA
            for path, item in schema["paths"].items():  # grouped by what they act on
                for method, op in item.items():
                    op.setdefault("tags", [path.removeprefix(API_PREFIX).split("/")[0]])
                    op["responses"].update(error_responses(schema, path, method, op))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(router)
