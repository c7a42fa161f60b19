import re

from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import User, UserSession
from tests.conftest import PASSWORD, login, page_csrf


def _events(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_admin_creates_user_with_one_time_password(as_role, session, client):
    client, admin = as_role("admin")
    r = client.post("/admin/users", data={"username": "jsmith", "role": "analyst",
                                          "display_name": "J Smith",
                                          "csrf_token": page_csrf(client, "/admin/users")})
    assert r.status_code == 200
    secret = re.search(r'<code class="secret">([^<]+)</code>', r.text).group(1)
    user = session.exec(select(User).where(User.username == "jsmith")).one()
    assert user.must_change_password and user.role == "analyst"
    assert secret not in user.password_hash and user.password_hash.startswith("$argon2id$")
    event = _events(session, "user.create")[-1]
    assert event.actor_name == admin.username and secret not in event.details


def test_duplicate_or_bad_username_is_a_clear_error(as_role, session, make_user):
    client, _ = as_role("admin")
    existing = make_user("analyst")
    token = page_csrf(client, "/admin/users")
    dup = client.post("/admin/users", data={"username": existing.username, "role": "analyst",
                                            "csrf_token": token})
    assert dup.status_code == 409 and "already exists" in dup.text
    bad = client.post("/admin/users", data={"username": "Bad Name!", "role": "analyst",
                                            "csrf_token": token})
    assert bad.status_code == 422 and "A username is" in bad.text
    role = client.post("/admin/users", data={"username": "okname", "role": "god",
                                             "csrf_token": token})
    assert role.status_code == 422 and "Unknown role" in role.text
    assert session.exec(select(User).where(User.username == "okname")).first() is None


def test_disabling_a_user_ends_their_sessions_at_once(app, as_role, make_user, session):
    from fastapi.testclient import TestClient

    victim = make_user("analyst")
    with TestClient(app) as other:
        login(other, victim.username)
        assert other.get("/", follow_redirects=False).status_code == 200
        client, _ = as_role("admin")
        r = client.post(f"/admin/users/{victim.id}/active",
                        data={"active": "false", "csrf_token": page_csrf(client, "/admin/users")},
                        follow_redirects=True)
        assert "was disabled" in r.text
        assert other.get("/", follow_redirects=False).status_code == 303
    assert session.exec(select(UserSession).where(UserSession.user_id == victim.id)).first() \
        is None
    assert _events(session, "user.disable")[-1].object_ids == f'["{victim.id}"]'


def test_changing_a_role_ends_their_sessions(app, as_role, make_user):
    from fastapi.testclient import TestClient

    victim = make_user("analyst")
    with TestClient(app) as other:
        login(other, victim.username)
        client, _ = as_role("admin")
        client.post(f"/admin/users/{victim.id}/role",
                    data={"role": "auditor", "csrf_token": page_csrf(client, "/admin/users")})
        assert other.get("/", follow_redirects=False).status_code == 303
        login(other, victim.username)
        assert other.get("/audit").status_code == 200  # the new role applies


def test_admin_cannot_disable_themselves(as_role):
    client, admin = as_role("admin")
    r = client.post(f"/admin/users/{admin.id}/active",
                    data={"active": "false", "csrf_token": page_csrf(client, "/admin/users")})
    assert r.status_code == 422 and "cannot disable your own" in r.text


def test_reset_password_forces_a_change(as_role, make_user, session, app):
    from fastapi.testclient import TestClient

    victim = make_user("analyst")
    client, _ = as_role("admin")
    r = client.post(f"/admin/users/{victim.id}/reset-password",
                    data={"csrf_token": page_csrf(client, "/admin/users")})
    secret = re.search(r'<code class="secret">([^<]+)</code>', r.text).group(1)
    with TestClient(app) as other:
        assert other.post("/login", data={"username": victim.username, "password": PASSWORD,
                                          "csrf_token": "x"}).status_code == 403
        login(other, victim.username, secret)
        assert other.get("/", follow_redirects=False).headers["location"] == "/account/password"
