"""Every route declares the permission it needs; only a short list is public."""

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.auth.deps import Requires
from app.auth.permissions import ROLE_PERMISSIONS, Permission, Role
from tests.conftest import page_csrf

PUBLIC_PATHS = {"/login", "/healthz", "/readyz", "/enrol", "/enrol/finish"}


def _declared(dependant: Dependant) -> list[Requires]:
    found = [d.call for d in dependant.dependencies if isinstance(d.call, Requires)]
    for sub in dependant.dependencies:
        found += _declared(sub)
    return found


def api_routes(routes) -> list[APIRoute]:
    """Every APIRoute, including those of included routers (which FastAPI now keeps nested)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def test_the_walk_sees_every_route(app):
    """The OpenAPI document lists the /api/v1 operations (app/apidocs.py): the walk sees those
    and the pages besides."""
    operations = sum(len(methods) for methods in app.openapi()["paths"].values())
    walked = api_routes(app.routes)
    in_api = sum(len(r.methods) for r in walked
                 if r.include_in_schema and r.path.startswith("/api/v1/"))
    assert in_api == operations > 30
    assert len(walked) > operations + 50  # the HTML pages


def test_every_route_declares_a_permission(app):
    missing, public = [], set()
    for route in api_routes(app.routes):
        declared = _declared(route.dependant)
        if not declared:
            missing.append(f"{sorted(route.methods)} {route.path}")
        elif all(r.permission is None for r in declared):
            public.add(route.path)
    assert missing == [], f"routes without a declared permission: {missing}"
    assert public <= PUBLIC_PATHS, f"unexpected public routes: {public - PUBLIC_PATHS}"


def test_admins_hold_no_permission_on_prisoner_data():
    admin = ROLE_PERMISSIONS[Role.admin]
    # their own account, users, and deciding another admin's proposal to grant admin
    assert admin == {Permission.self_manage, Permission.users_manage, Permission.grants_approve}


def test_only_admins_manage_users_and_only_auditors_read_the_log():
    for role, perms in ROLE_PERMISSIONS.items():
        assert (Permission.users_manage in perms) == (role is Role.admin)
        assert (Permission.audit_read in perms) == (role is Role.auditor)


def test_only_supervisors_approve_takedowns():
    holders = {r for r, perms in ROLE_PERMISSIONS.items() if Permission.takedowns_approve in perms}
    assert holders == {Role.supervisor}


def test_role_pages(as_role):
    client, _ = as_role("admin")
    assert client.get("/admin/users").status_code == 200
    assert client.get("/audit").status_code == 403
    home = client.get("/").text
    assert 'href="/admin/users"' in home and 'href="/search"' not in home
    assert 'href="/intake"' not in home


def test_analyst_cannot_manage_users_or_read_the_audit_log(as_role):
    client, _ = as_role("analyst")
    assert client.get("/admin/users").status_code == 403
    assert client.get("/audit").status_code == 403
    assert "Your role does not allow this." in client.get("/admin/users").text


WITHDRAWAL_ROUTES = {("DELETE", "/api/v1/images/{image_id}"),
                     ("POST", "/images/{image_id}/withdraw")}


def test_withdrawing_an_image_is_for_supervisors_only(app):
    found = {(method, route.path): {r.permission for r in _declared(route.dependant)}
             for route in api_routes(app.routes) for method in route.methods
             if (method, route.path) in WITHDRAWAL_ROUTES}
    assert found == {key: {Permission.evidence_withdraw} for key in WITHDRAWAL_ROUTES}
    holders = {r for r, perms in ROLE_PERMISSIONS.items() if Permission.evidence_withdraw in perms}
    assert holders == {Role.supervisor}  # admins see no prisoner data, so none of its images


def test_other_roles_are_refused_a_withdrawal(as_role):
    for role in ("analyst", "auditor", "admin"):
        client, _ = as_role(role)
        r = client.request("DELETE", "/api/v1/images/1",
                           headers={"X-CSRF-Token": page_csrf(client)},
                           json={"reason": "not theirs to withdraw"})
        assert r.status_code == 403 and "Your role does not allow this." in r.text, role


ERASURE_ROUTES = {("DELETE", "/api/v1/accounts/{account_id}/evidence"),
                  ("GET", "/accounts/{account_id}/erase"),
                  ("POST", "/accounts/{account_id}/erase")}


def test_erasing_an_accounts_evidence_early_is_for_supervisors_only(app):
    found = {(method, route.path): {r.permission for r in _declared(route.dependant)}
             for route in api_routes(app.routes) for method in route.methods
             if (method, route.path) in ERASURE_ROUTES}
    assert found == {key: {Permission.evidence_erase} for key in ERASURE_ROUTES}
    holders = {r for r, perms in ROLE_PERMISSIONS.items() if Permission.evidence_erase in perms}
    assert holders == {Role.supervisor}


REVIEW_ROUTES = {("GET", "/review"): Permission.matches_review,
                 ("POST", "/matches/{match_id}/confirm"): Permission.matches_review,
                 ("POST", "/matches/{match_id}/reject"): Permission.matches_review,
                 ("GET", "/matches/{match_id}"): Permission.evidence_read,
                 ("GET", "/matches/{match_id}/compare"): Permission.evidence_read,
                 ("GET", "/images/{image_id}/stage"): Permission.evidence_read}


def test_the_review_queue_and_the_comparisons_declare_their_permissions(app):
    found = {(method, route.path): {r.permission for r in _declared(route.dependant)}
             for route in api_routes(app.routes) for method in route.methods
             if (method, route.path) in REVIEW_ROUTES}
    assert found == {key: {perm} for key, perm in REVIEW_ROUTES.items()}
    for role in (Role.admin, Role.auditor):  # neither sees a match nor decides one
        assert not set(REVIEW_ROUTES.values()) & ROLE_PERMISSIONS[role], role
