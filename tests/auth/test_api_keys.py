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


def test_a_key_cannot_mint_a_key(app, as_role, session):
    from fastapi.testclient import TestClient

    client, _ = as_role("analyst")
    key = _new_key(client)
    with TestClient(app) as bare:
        headers = {"Authorization": f"Bearer {key}"}
        r = bare.post("/account/keys", data={"name": "offspring", "days": "90"},
                      headers=headers)
        assert r.status_code == 403 and "only in a signed-in browser" in r.text
        row = session.exec(select(ApiKey)).one()
        revoke = bare.post(f"/account/keys/{row.id}/revoke", headers=headers)
        assert revoke.status_code == 403
    assert [k.name for k in session.exec(select(ApiKey)).all()] == ["script"]


def test_minting_a_key_asks_for_a_fresh_factor(as_role, session):
    from app.auth.models import UserSession
    from tests.conftest import answer_code

    client, user = as_role("analyst")
    row = session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.factor_at = utcnow() - timedelta(minutes=20)
    session.add(row)
    session.commit()
    r = client.post("/account/keys", data={"name": "late", "days": "7",
                                           "csrf_token": page_csrf(client, "/account/keys")})
    assert r.status_code == 403 and "Enter your authenticator code again" in r.text
    assert 'href="/login/code?next=/account/keys"' in r.text
    assert session.exec(select(ApiKey)).all() == []
    answer_code(client, "/login/code?next=/account/keys")
    assert _new_key(client, "late")


def test_at_most_five_live_keys(as_role, session):
    client, _ = as_role("analyst")
    for n in range(5):
        _new_key(client, f"k{n}")
    r = client.post("/account/keys", data={"name": "sixth", "days": "7",
                                           "csrf_token": page_csrf(client, "/account/keys")})
    assert r.status_code == 422
    assert "No key was made. You have 5 live API keys, the most allowed" in r.text
    assert 'value="sixth"' in r.text  # what was typed is kept
    assert len(session.exec(select(ApiKey)).all()) == 5
    first = session.exec(select(ApiKey).where(ApiKey.name == "k0")).one()
    client.post(f"/account/keys/{first.id}/revoke",
                data={"csrf_token": page_csrf(client, "/account/keys")})
    assert _new_key(client, "sixth")  # a revoked key no longer counts


def test_keys_are_revoked_when_the_user_is_disabled(app, as_role, make_user, session,
                                                    settings):
    from app.auth import apikeys
    from tests.conftest import TEST_ACTOR

    victim = make_user("analyst")
    apikeys.create(session, settings, TEST_ACTOR, victim, name="nightly", days=30)
    session.commit()
    client, _ = as_role("admin")
    client.post(f"/admin/users/{victim.id}/active",
                data={"active": "false", "csrf_token": page_csrf(client, "/admin/users")})
    key = session.exec(select(ApiKey)).one()
    session.refresh(key)
    assert key.revoked_at is not None
    victim.is_active = True  # enabling again does not bring the key back
    session.add(victim)
    session.commit()
    session.refresh(key)
    assert key.revoked_at is not None


def test_the_key_page_shows_last_use(app, as_role, session):
    from fastapi.testclient import TestClient

    client, _ = as_role("analyst")
    key = _new_key(client)
    assert re.search(r"<td>never</td>", client.get("/account/keys").text)
    with TestClient(app) as bare:
        assert bare.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}
                        ).status_code == 200
    row = session.exec(select(ApiKey)).one()
    session.refresh(row)
    assert row.last_used_at is not None
    page = client.get("/account/keys").text
    assert "<td>never</td>" not in page and "Last used" in page
