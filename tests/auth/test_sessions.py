from datetime import timedelta

from sqlmodel import select

from app.auth.models import UserSession
from app.db import utcnow
from tests.conftest import PASSWORD, login, login_csrf, page_csrf


def _row(session, user):
    return session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()


def test_logout_ends_the_session_at_once(client, make_user):
    user = make_user()
    login(client, user.username)
    cookie = client.cookies.get("cw_session")
    r = client.post("/logout", data={"csrf_token": page_csrf(client)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.set("cw_session", cookie)  # replay the old cookie
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_logout_by_get_is_not_possible(client, make_user):
    user = make_user()
    login(client, user.username)
    assert client.get("/logout").status_code == 405
    assert client.get("/", follow_redirects=False).status_code == 200


def test_idle_session_expires(client, make_user, session):
    user = make_user()
    login(client, user.username)
    row = _row(session, user)
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    session.add(row)
    session.commit()
    assert client.get("/", follow_redirects=False).status_code == 303
    assert session.exec(select(UserSession).where(UserSession.user_id == user.id)).first() is None


def test_activity_keeps_a_session_alive(client, make_user, session):
    user = make_user()
    login(client, user.username)
    row = _row(session, user)
    row.last_seen_at = utcnow() - timedelta(minutes=29)
    session.add(row)
    session.commit()
    assert client.get("/", follow_redirects=False).status_code == 200
    session.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_absolute_lifetime_ends_even_an_active_session(client, make_user, session):
    user = make_user()
    login(client, user.username)
    row = _row(session, user)
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    assert client.get("/", follow_redirects=False).status_code == 303


def test_absolute_lifetime_is_twelve_hours(client, make_user, session):
    user = make_user()
    login(client, user.username)
    row = _row(session, user)
    assert row.expires_at - row.created_at == timedelta(hours=12)


def test_forced_password_change_blocks_everything_else(client, make_user, session):
    # a one-time password (bootstrap admin, demo users) comes with no authenticator yet
    user = make_user(must_change_password=True, factor=False)
    r = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                    "csrf_token": login_csrf(client)}, follow_redirects=False)
    assert r.headers["location"] == "/account/password"
    assert client.get("/", follow_redirects=False).headers["location"] == "/account/password"
    assert client.get("/api/v1/me").status_code == 403
    token = page_csrf(client)
    short = client.post("/account/password", data={"current": PASSWORD, "new": "short",
                                                    "confirm": "short", "csrf_token": token})
    assert short.status_code == 422 and "at least 12 characters" in short.text
    ok = client.post("/account/password", data={"current": PASSWORD, "new": "a new long secret",
                                                "confirm": "a new long secret",
                                                "csrf_token": token}, follow_redirects=True)
    assert ok.status_code == 200 and "Your password has been changed." in ok.text
    session.refresh(user)
    assert not user.must_change_password
