from datetime import timedelta

from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import User, UserSession
from app.auth.users import LOGIN_FAILED
from app.db import utcnow
from tests.conftest import PASSWORD, csrf_from, login, login_csrf
from tests.support.factors import totp_code


def _try(client, username, password):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": login_csrf(client)},
                       follow_redirects=False)


def _actions(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_failure_message_is_the_same_for_unknown_user_and_wrong_password(client, make_user):
    user = make_user()
    unknown = _try(client, "nobody-here", "whatever-password")
    wrong = _try(client, user.username, "wrong password!!")
    assert unknown.status_code == wrong.status_code == 401
    assert LOGIN_FAILED in unknown.text and LOGIN_FAILED in wrong.text
    assert "nobody-here" not in LOGIN_FAILED


def test_failures_are_audited_without_the_password(client, make_user, session):
    user = make_user()
    for _ in range(3):  # within the free failures of an address
        assert _try(client, user.username, "wrong password!!").status_code == 401
    failures = [e for e in _actions(session, "auth.login") if e.outcome == "failure"]
    assert len(failures) == 3
    assert all(PASSWORD not in e.details and "wrong password!!" not in e.details
               for e in failures)
    session.refresh(user)
    assert user.locked_until is None  # failures from one address never lock an account


def test_lock_expires(client, make_user, session):
    user = make_user()
    user.locked_until = utcnow() - timedelta(seconds=1)
    session.add(user)
    session.commit()
    assert _try(client, user.username, PASSWORD).status_code == 303


def test_success_is_audited_and_rotates_the_session(client, make_user, session):
    user = make_user()
    login(client, user.username)
    first = client.cookies.get("cw_session")
    login(client, user.username)
    second = client.cookies.get("cw_session")
    assert first != second
    rows = session.exec(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(rows) == 1  # the pre-login session ended at sign-in
    assert first not in rows[0].token_hash and second not in rows[0].token_hash
    assert [e.outcome for e in _actions(session, "auth.login")] == ["success", "success"]


def test_login_form_without_its_token_is_refused(client, make_user, session):
    user = make_user()
    r = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                    "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert "cw_session" not in r.cookies


def test_cross_site_login_post_is_refused(client, make_user):
    user = make_user()
    r = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                    "csrf_token": login_csrf(client)},
                    headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert r.status_code == 403


def test_next_parameter_never_redirects_off_site(client, make_user, settings):
    user = make_user()
    r = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                    "csrf_token": login_csrf(client),
                                    "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/login/code?next=/"
    # the code page's own `next` is checked again
    form = client.get("/login/code?next=//evil.example/x").text
    code = totp_code(client.app.state.session_factory, settings, user.username)
    done = client.post("/login/code", data={"code": code, "next": "//evil.example/x",
                                            "csrf_token": csrf_from(form)},
                       follow_redirects=False)
    assert done.headers["location"] == "/"


def test_session_cookie_flags(client, make_user):
    user = make_user()
    r = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                    "csrf_token": login_csrf(client)}, follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "cw_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie  # development over plain http; production sets Secure


def test_disabled_user_cannot_sign_in(client, make_user, session):
    user = make_user()
    user.is_active = False
    session.add(user)
    session.commit()
    r = _try(client, user.username, PASSWORD)
    assert r.status_code == 401 and LOGIN_FAILED in r.text


def test_unknown_user_login_is_recorded_without_password(client, session):
    _try(client, "ghost", "some password here")
    event = _actions(session, "auth.login")[-1]
    assert event.outcome == "failure" and "ghost" in event.details
    assert "some password here" not in event.details
    assert session.exec(select(User).where(User.username == "ghost")).first() is None
