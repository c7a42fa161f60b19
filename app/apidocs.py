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

from app.auth.guards import Anyone
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
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            if route.path.startswith(API_PREFIX) and route.include_in_schema:
                found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def install(app: FastAPI) -> None:
    """`/docs` and the filtered document (at the app's openapi_url) on `app`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=DESCRIPTION,
                                 routes=api_routes(app.routes))
            schema.setdefault("components", {})["securitySchemes"] = {SCHEME: {
                "type": "http", "scheme": "bearer", "bearerFormat": "cwk_…",
                "description": "An API key from /account/keys."}}
            schema["security"] = [{SCHEME: []}]
            for path, item in schema["paths"].items():  # grouped by what they act on
                for op in item.values():
                    op.setdefault("tags", [path.removeprefix(API_PREFIX).split("/")[0]])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(router)
