"""Every takedown route declares its permission; auditors and admins get 403 on all of them."""

import re

import pytest
from fastapi.routing import APIRoute

from app.auth.deps import Requires
from app.auth.permissions import Permission
from tests.conftest import page_csrf
from tests.test_route_permissions import _declared


def _walk(routes):
    """APIRoutes, also inside included routers (newer FastAPI nests them)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _walk(route.original_router.routes)


def _ours(app):
    return [r for r in _walk(app.routes) if "takedown" in r.path]


def _concrete(path):
    return re.sub(r"\{[a-z_]+(:int)?\}", lambda m: "1" if m.group(1) else "x", path)


def test_every_takedown_route_declares_a_takedown_permission(app):
    routes = _ours(app)
    assert len(routes) >= 19
    wanted = {Permission.takedowns_read, Permission.takedowns_draft, Permission.takedowns_send,
              Permission.takedowns_approve, Permission.platforms_edit}
    for route in routes:
        declared = [r for r in _declared(route.dependant) if isinstance(r, Requires)]
        assert declared, f"{route.path} declares no permission"
        assert all(r.permission in wanted for r in declared), route.path


def test_no_state_change_on_get(app):
    for route in _ours(app):
        if "GET" in route.methods:
            name = route.endpoint.__name__
            assert not name.startswith(("create", "save", "claim", "bulk", "release")), name


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_auditors_and_admins_are_refused_everywhere(app, as_role, role):
    client, _ = as_role(role)
    token = page_csrf(client)
    for route in _ours(app):
        path = _concrete(route.path)
        for method in route.methods:
            r = client.request(method, path, headers={"X-CSRF-Token": token},
                               follow_redirects=False)
            assert r.status_code == 403, (method, path, r.status_code)
    assert 'href="/takedowns"' not in client.get("/").text


def test_signed_out_is_sent_to_login(client):
    r = client.get("/takedowns", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/api/v1/takedowns").status_code == 401


def test_pages_carry_csrf_tokens_and_no_inline_script(client, session, world):
    from tests.takedowns.helpers import sign_in

    sign_in(client, world.sup1)
    for path in ("/takedowns", "/takedowns/platforms",
                 f"/accounts/{world.account.id}/takedowns/new"):
        html = client.get(path).text
        forms = html.count("<form")
        posts = html.count('method="post"')
        assert html.count('name="csrf_token"') >= posts, path
        assert forms >= 1
        assert "<script>" not in html and "onclick" not in html, path
