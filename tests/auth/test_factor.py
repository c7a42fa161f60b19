"""The second factor: the code after the password, set-up with a QR code made on the server,
recovery codes, and which settings let a user without one in."""

import re
from datetime import timedelta

import pyotp
import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import RecoveryCode, TotpFactor, User, UserSession
from app.db import utcnow
from app.settings import Environment, Settings
from tests.conftest import PASSWORD, answer_code, csrf_from, login, login_csrf, page_csrf
from tests.support.factors import totp_code


def _password(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": login_csrf(client)}, follow_redirects=False)


def _events(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def _code(client, code, next_="/"):
    form = client.get(f"/login/code?next={next_}")
    return client.post("/login/code", data={"code": code, "next": next_,
                                            "csrf_token": csrf_from(form.text)},
                       follow_redirects=False)


def test_the_password_alone_does_not_sign_in(client, make_user, session, settings):
    user = make_user()
    r = _password(client, user.username)
    assert r.headers["location"] == "/login/code?next=/"
    # half signed in: every page leads to the code, no API call answers
    assert client.get("/", follow_redirects=False).headers["location"] == "/login/code?next=/"
    assert client.get("/search", follow_redirects=False).headers["location"] \
        == "/login/code?next=/search"
    assert client.get("/api/v1/me").status_code == 403
    page = client.get("/login/code")
    assert "Authenticator code" in page.text and 'autocomplete="one-time-code"' in page.text
    wrong = _code(client, "000000" if totp_code(client.app.state.session_factory, settings,
                                                user.username) != "000000" else "111111")
    assert wrong.status_code == 401 and "That code is not right" in wrong.text
    right = _code(client, totp_code(client.app.state.session_factory, settings, user.username))
    assert right.status_code == 303 and right.headers["location"] == "/"
    assert client.get("/", follow_redirects=False).status_code == 200
    assert [e.outcome for e in _events(session, "auth.factor")] == ["failure", "success"]
    assert '"method": "totp"' in _events(session, "auth.factor")[-1].details


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_code_works_once(client, make_user, settings):
    user = make_user()
    _password(client, user.username)
    code = totp_code(client.app.state.session_factory, settings, user.username)
    assert _code(client, code).status_code == 303
    # the same six digits again (a step-up a moment later): refused, it was spent
    again = _code(client, code)
    assert again.status_code == 401 and "used already" in again.text


def test_wrong_codes_lock_the_account_and_end_the_session(client, make_user, session,
                                                          settings):
    user = make_user()
    _password(client, user.username)
    right = totp_code(client.app.state.session_factory, settings, user.username)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(settings.login_max_failures - 1):
        assert _code(client, wrong).status_code == 401
    last = _code(client, wrong)
    assert last.status_code == 303 and last.headers["location"] == "/login"
    session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()
    assert session.exec(select(UserSession).where(UserSession.user_id == user.id)).first() \
        is None
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert '"sessions_ended": 1' in _events(session, "auth.lockout")[-1].details


def test_set_up_with_a_qr_code_made_here_and_ten_recovery_codes(client, make_user, session,
                                                                settings):
    user = make_user(factor=False)
    login(client, user.username)  # development lets them in, with a warning
    home = client.get("/")
    assert home.status_code == 200 and "No second factor." in home.text
    setup = client.post("/account/factor/setup",
                        data={"csrf_token": page_csrf(client, "/account/factor")})
    assert setup.status_code == 200
    assert re.search(r'<figure class="qr"[^>]*><svg[^>]*class="segno"', setup.text)
    assert "http" not in setup.text.split('<figure class="qr"')[1].split("</figure>")[0]
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', setup.text).group(1)
    row = session.exec(select(TotpFactor).where(TotpFactor.user_id == user.id)).one()
    assert secret not in row.pending and row.confirmed_at is None  # sealed, not yet in use
    bad = client.post("/account/factor/confirm", data={"code": "12345",
                                                       "csrf_token": csrf_from(setup.text)})
    assert bad.status_code == 422 and "does not match" in bad.text
    assert secret in bad.text  # the same secret offered again
    done = client.post("/account/factor/confirm", data={"code": pyotp.TOTP(secret).now(),
                                                        "csrf_token": csrf_from(setup.text)})
    assert done.status_code == 200
    codes = re.findall(r'<code class="secret">([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</code>',
                       done.text)
    assert len(set(codes)) == 10
    stored = session.exec(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10 and not any(c.replace("-", "") in s.code_hash
                                         for c in codes for s in stored)
    assert "No second factor." not in client.get("/").text
    assert "Recovery codes left: 10 of 10" in client.get("/account/factor").text
    assert _events(session, "user.factor_enrol")[-1].object_ids == f'["{user.id}"]'

    # each recovery code works once in place of the app's code
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    _password(client, user.username)
    assert _code(client, codes[0].lower()).status_code == 303
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    _password(client, user.username)
    assert _code(client, codes[0]).status_code == 401
    assert '"method": "recovery code"' in _events(session, "auth.factor")[-2].details


def test_production_requires_a_second_factor():
    assert Settings(environment=Environment.production).factor_required
    assert not Settings().factor_required
    unsafe = Settings(environment=Environment.production, second_factor_required=False)
    assert "CELLWATCH_SECOND_FACTOR_REQUIRED is false" in unsafe.unsafe_reasons()


def test_the_code_page_needs_a_session(client):
    assert client.get("/login/code", follow_redirects=False).headers["location"] \
        .startswith("/login")


def test_step_up_asks_again_after_the_window(client, make_user, session):
    user = make_user()
    login(client, user.username)
    row = session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.factor_at = utcnow() - timedelta(minutes=16)
    session.add(row)
    session.commit()
    r = client.post("/account/factor/recovery-codes",
                    data={"csrf_token": page_csrf(client, "/account/factor")})
    assert r.status_code == 403 and "Enter your authenticator code again" in r.text
    assert 'href="/login/code?next=/account/factor"' in r.text
    answer_code(client, "/login/code?next=/account/factor")
    r = client.post("/account/factor/recovery-codes",
                    data={"csrf_token": page_csrf(client, "/account/factor")})
    assert r.status_code == 200 and r.text.count('class="secret"') == 10


def test_user_rows_never_hold_the_secret(make_user, session):
    user = make_user()
    row = session.exec(select(TotpFactor).where(TotpFactor.user_id == user.id)).one()
    assert row.secret and not re.fullmatch(r"[A-Z2-7]{32}", row.secret)
    assert session.get(User, user.id).password_hash.startswith("$argon2id$")
