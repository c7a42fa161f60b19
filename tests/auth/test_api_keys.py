import re
from datetime import timedelta

from sqlmodel import select

from app.auth.models import ApiKey
from app.db import utcnow
from tests.conftest import page_csrf


def _new_key(client, name="script", days=7):
    r = client.post("/account/keys", data={"name": name, "days": str(days),
                                           "csrf_token": page_csrf(client, "/account/keys")})
    assert r.status_code == 200
    return re.search(r'<code class="secret">([^<]+)</code>', r.text).group(1)


def test_api_key_in_header_works_without_a_session(app, as_role, session):
    from fastapi.testclient import TestClient

    client, user = as_role("analyst")
    key = _new_key(client)
    row = session.exec(select(ApiKey)).one()
    assert key not in row.key_hash and row.prefix == key[:12]
    with TestClient(app) as bare:
        r = bare.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200
        assert r.json()["username"] == user.username
        assert bare.get(f"/api/v1/me?api_key={key}").status_code == 401  # never in a URL


def test_expired_and_revoked_keys_are_refused(app, as_role, session):
    from fastapi.testclient import TestClient

    client, _ = as_role("analyst")
    key = _new_key(client)
    row = session.exec(select(ApiKey)).one()
    with TestClient(app) as bare:
        headers = {"Authorization": f"Bearer {key}"}
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
        assert bare.get("/api/v1/me", headers=headers).status_code == 401
        row.expires_at = utcnow() + timedelta(days=1)
        session.add(row)
        session.commit()
        assert bare.get("/api/v1/me", headers=headers).status_code == 200
        client.post(f"/account/keys/{row.id}/revoke",
                    data={"csrf_token": page_csrf(client, "/account/keys")})
        assert bare.get("/api/v1/me", headers=headers).status_code == 401


def test_key_lifetime_is_bounded(as_role):
    client, _ = as_role("analyst")
    r = client.post("/account/keys", data={"name": "forever", "days": "5000",
                                           "csrf_token": page_csrf(client, "/account/keys")})
    assert r.status_code == 422


def test_api_key_of_disabled_user_stops_working(app, as_role, session):
    from fastapi.testclient import TestClient

    client, user = as_role("analyst")
    key = _new_key(client)
    user.is_active = False
    session.add(user)
    session.commit()
    with TestClient(app) as bare:
        assert bare.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}
                        ).status_code == 401


def test_the_key_form_offers_what_the_server_allows_and_keeps_the_form(as_role, session):
    client, _ = as_role("analyst")
    form = client.get("/account/keys").text
    assert 'max="90"' in form and "1 to 90" in form and 'max="366"' not in form
    assert 'href="/docs"' in form
    r = client.post("/account/keys", data={"name": "nightly export", "days": "120",
                                           "csrf_token": page_csrf(client, "/account/keys")})
    assert r.status_code == 422
    # the reason beside the days field, what was typed still there, nothing made
    assert re.search(r'name="days"[^>]*value="120"[^>]*aria-invalid="true"', r.text)
    assert '<span class="field-error" id="days-error">A key lasts 1 to 90 days' in r.text
    assert 'name="name" maxlength="64" required value="nightly export"' in r.text
    assert 'id="name-error"' not in r.text
    assert session.exec(select(ApiKey)).all() == []
    blank = client.post("/account/keys", data={"name": "  ", "days": "ten",
                                               "csrf_token": page_csrf(client, "/account/keys")})
    assert blank.status_code == 422
    assert 'id="name-error">Give the key a name' in blank.text
    assert 'id="days-error">A key lasts 1 to 90 days' in blank.text
    made = client.post("/account/keys", data={"name": "ok", "days": "90",
                                              "csrf_token": page_csrf(client, "/account/keys")})
    assert made.status_code == 200 and 'class="secret"' in made.text
