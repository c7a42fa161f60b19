"""The one Jinja2Templates, and render helpers that add the signed-in context."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlalchemy.exc import SQLAlchemyError

from app.demo.marker import holds_demo
from app.web.dates import local_day, local_time

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"
STATIC_DIR = Path(__file__).resolve().parents[2] / "static"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
# The unit's zone for the date filters; create_app sets it from the settings (a global, so that
# macros imported without context format the same way).
templates.env.globals["local_timezone"] = "Europe/London"


@pass_context
def _when(ctx: Context, value: datetime | None) -> str:
    return local_time(value, ctx.resolve_or_missing("local_timezone"))


@pass_context
def _day(ctx: Context, value: date | datetime | None) -> str:
    return local_day(value, ctx.resolve_or_missing("local_timezone"))


# The one way pages show a time (`{{ t | when }}`) and a day (`{{ d | day }}`): app/web/dates.py
templates.env.filters["when"] = _when
templates.env.filters["day"] = _day

# Navigation areas, in order; each shows only to users holding its permission.
NAV: list[tuple[str, str, str]] = [
    ("Intake", "/accounts/new", "evidence:submit"),
    ("Review", "/review", "matches:review"),
    ("Accounts", "/accounts", "accounts:read"),
    ("Takedowns", "/takedowns", "takedowns:read"),
    ("Cell searches", "/searches", "searches:request"),
    ("Search", "/search", "prisoners:search"),
    ("Estate", "/estate", "estate:read"),
    ("Reports", "/reports", "reports:read"),
    ("Audit", "/audit", "audit:read"),
    ("Queue", "/matching/queue", "matching:operate"),
    ("Admin", "/admin/users", "users:manage"),
    ("Access", "/grants", "grants:approve"),
]


def render(
    request: Request, template: str, context: dict[str, Any] | None = None,
    *, status_code: int = 200, headers: dict[str, str] | None = None,
) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    perms = principal.permissions if principal else frozenset()
    ctx: dict[str, Any] = {
        "principal": principal,
        "nav": [(label, href) for label, href, perm in NAV if perm in perms],
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "flashes": getattr(request.state, "flashes", []),
        "demo_banner": _demo_banner(request),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=headers
    )


def _demo_banner(request: Request) -> bool:
    """Whether this database holds the fictional demo estate (never asked in production)."""
    state = request.app.state
    settings = getattr(state, "settings", None)
    if settings is None or not settings.demo_enabled:
        return False
    try:
        with state.session_factory() as session:
            return holds_demo(session)
    except SQLAlchemyError:  # no database yet, or not reachable: the page says so itself
        return False
