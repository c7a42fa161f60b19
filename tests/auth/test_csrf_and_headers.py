from sqlmodel import select

from app.auth.models import ApiKey
from tests.conftest import page_csrf


def test_state_change_without_token_is_refused_and_changes_nothing(as_role, session):
    client, user = as_role("analyst")
    r = client.post("/account/keys", data={"name": "sneaky", "days": "5"})
    assert r.status_code == 403
    assert "did not come from Cellwatch" in r.text
    assert session.exec(select(ApiKey)).first() is None


def test_cross_site_request_is_refused_even_with_a_token(as_role, session):
    client, _ = as_role("analyst")
    token = page_csrf(client)
    r = client.post("/account/keys", data={"name": "x", "days": "5", "csrf_token": token},
                    headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    assert session.exec(select(ApiKey)).first() is None


def test_htmx_header_token_is_accepted(as_role, session):
    client, _ = as_role("analyst")
    token = page_csrf(client)
    r = client.post("/account/keys", data={"name": "via-htmx", "days": "5"},
                    headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert r.status_code == 200
    assert session.exec(select(ApiKey)).one().name == "via-htmx"


def test_security_headers_on_every_response(client):
    for path in ("/login", "/healthz", "/static/css/app.css", "/no-such-page"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert "script-src 'self'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-request-id"]


def test_pages_are_not_cached_but_static_assets_may_be(as_role):
    client, _ = as_role("analyst")
    assert client.get("/").headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/static/css/app.css").headers.get("cache-control", "")


def test_error_pages_show_no_traceback(app, client):
    @app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("secret internals")

    r = client.get("/boom-for-test")
    assert r.status_code == 500
    assert "Something went wrong" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text
    missing = client.get("/nope")
    assert missing.status_code == 404 and "There is nothing at this address." in missing.text


def test_api_errors_are_json(client):
    r = client.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json() == {"error": "Sign-in needed", "message": "Sign in to continue."}
