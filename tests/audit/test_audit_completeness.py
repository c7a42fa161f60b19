"""Every route of the app is accounted for by the audit tables: each state-changing route has
a row (or is named below as changing nothing, with why), and each read of personal data has a
read row (the other reads are named below, with why they show none). A new route therefore
fails here until someone decides what its audit row is.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from pathlib import Path
from typing import Any

from app.errors import flat_routes
from tests.audit.rows import Row

# every module of this folder named test_audit_<domain>.py may hold rows
TABLES = sorted(p.stem for p in Path(__file__).parent.glob("test_audit_*.py"))
CHANGING = {"POST", "PUT", "PATCH", "DELETE"}

# State-changing methods on routes that change nothing, with why. None today: each search
# and dossier POST is a read and has its read row; sign-out ends a session and has its row.
CHANGE_NOTHING: dict[str, str] = {
    "POST /account/factor/keys/options": "a one-time challenge kept on the caller's own "
    "session; the key it lets them add is audited (POST /account/factor/keys)",
    "POST /login/key/options": "a one-time challenge kept on the signing-in session; the "
    "answer is audited (POST /login/key)",
}

# Reads that show no personal data: nothing of a prisoner, no image, no candidate list.
NO_PERSONAL_DATA = {
    "GET /": "counts of work waiting; no record of anyone",
    "GET /api/v1/me": "the signed-in user's own name and role",
    "GET /healthz": "liveness only",
    "GET /readyz": "database reachable and queue lengths",
    "GET /docs": "the API's description",
    "GET /openapi.json": "the API's description",
    "GET /login": "the sign-in form",
    "GET /login/code": "the second-factor form",
    "GET /enrol": "the enrolment form",
    "GET /account/password": "the password form",
    "GET /account/factor": "whether the user has an authenticator, and codes left",
    "GET /account/keys": "the user's own API keys",
    "GET /admin/users": "staff accounts only (admins see no prisoner data)",
    "GET /grants": "proposed grants of staff roles",
    "GET /accounts": "the queue: handles, platforms, statuses; no prisoner",
    "GET /api/v1/accounts": "the queue: handles, platforms, statuses; no prisoner",
    "GET /accounts/new": "the intake form",
    "GET /intake": "the intake form",
    "GET /estate": "establishments and their cell counts",
    "GET /estate/{code}": "an establishment's cells with how many they hold, no names",
    "GET /estate/prisoners": "the look-up box: redirects to the prisoner page, which is a read",
    "GET /estate/prisoners/new": "the new-prisoner form",
    "GET /api/v1/estate/establishments": "establishments and their cell counts",
    "GET /api/v1/estate/establishments/{code}": "one establishment: code, name, category",
    "GET /api/v1/estate/establishments/{code}/cells": "cell labels and capacities, no names",
    "GET /images/{image_id}/stage": "whether the second stage is done and how many candidates",
    "GET /matching/queue": "second stages waiting or failed: image ids, times and errors",
    "GET /search": "the search form",
    "GET /search/prisoners/{prison_number}": "asks for the purpose; shows nothing until it is "
                                              "given (POST, a read)",
    "GET /searches": "cell searches: establishment, cell, state, counts; no prisoner",
    "GET /api/v1/searches": "cell searches: establishment, cell, state, counts; no prisoner",
    "GET /accounts/{account_id:int}/searches/panel": "an account's cell searches, no prisoner",
    "GET /accounts/{account_id:int}/takedowns/panel": "an account's takedowns and states",
    "GET /takedowns": "the takedown board: accounts, platforms, states",
    "GET /api/v1/takedowns": "takedowns: accounts, platforms, states",
    "GET /takedowns/platforms": "each platform's channel and notice template",
    "GET /api/v1/takedowns/platforms": "each platform's channel and notice template",
    "GET /reports": "monthly figures per platform and establishment, no record of anyone",
}


def _tables() -> list[Row]:
    rows: list[Row] = []
    for name in TABLES:
        module = importlib.import_module(f"tests.audit.{name}")
        rows += [r for value in vars(module).values() if isinstance(value, list)
                 for r in value if isinstance(r, Row)]
    return rows


class _Any(dict[str, Any]):
    """Formats every placeholder of a row's path as 1, to find the route it reaches."""

    def __missing__(self, key: str) -> str:
        return "1"


def _routes(app) -> list[Any]:  # noqa: ANN001
    return [r for r in flat_routes(app.routes) if getattr(r, "methods", None)]


def _route_of(routes: list[Any], row: Row) -> str:
    """The route the row's request reaches: the first whose path and method match, as the
    router picks it."""
    path = row.path.format_map(_Any()).split("?")[0]
    for route in routes:
        if row.method in route.methods and route.path_regex.match(path):
            return f"{row.method} {route.path}"
    raise AssertionError(f"no route takes {row.method} {row.path}")


def _key(route: Any, method: str) -> str:
    return f"{method} {route.path}"


def test_every_route_has_its_audit_row_or_a_reason(app):  # noqa: ANN001
    routes = _routes(app)
    covered: dict[str, set[bool]] = defaultdict(set)  # route -> {read?} of its rows
    for row in _tables():
        covered[_route_of(routes, row)].add(row.read)
    missing_changes, missing_reads = [], []
    for route in routes:
        for method in sorted(route.methods - {"HEAD"}):
            key = _key(route, method)
            if key in covered:
                continue
            if method in CHANGING and key not in CHANGE_NOTHING:
                missing_changes.append(key)
            elif method == "GET" and key not in NO_PERSONAL_DATA:
                missing_reads.append(key)
    assert missing_changes == [], "state-changing routes with no audit row:\n" + "\n".join(
        missing_changes)
    assert missing_reads == [], "reads with no audit row and no reason:\n" + "\n".join(
        missing_reads)


def test_the_reasons_name_routes_that_exist_and_have_no_row(app):  # noqa: ANN001
    """A reason left behind for a route that is gone, or that has a row now, is stale."""
    routes = _routes(app)
    keys = {_key(r, m) for r in routes for m in r.methods}
    covered = {_route_of(routes, row) for row in _tables()}
    stale = [k for k in [*CHANGE_NOTHING, *NO_PERSONAL_DATA] if k not in keys or k in covered]
    assert stale == []

