"""Signing in and setting up a second factor leave their audit rows: the enrolment steps, an
authenticator set up and confirmed from the account page, new recovery codes, a security key
added, the password and the code of a sign-in, and a sign-in answered by a security key
(sign-out, key removal, API keys, grants and passwords: test_audit_coverage.py)."""

from __future__ import annotations

from collections.abc import Callable

import pyotp
from fastapi.testclient import TestClient
from sqlmodel import func, select

from app.auth import enrolment, factors
from app.auth.models import SecurityKey, User
from app.auth.passwords import verify_password
from tests.accounts.conftest import estate  # noqa: F401  (a fixture)
from tests.audit.rows import ANONYMOUS, Row, Walk, one
from tests.conftest import PASSWORD, TEST_ACTOR, csrf_from, login_csrf, page_csrf
from tests.support.factors import totp_code
from tests.support.securitykey import SoftKey, register_key

SPARE_KEY, SIGN_IN_KEY = SoftKey(), SoftKey()

NEW_PASSWORD = "a passphrase of my own 9"


def pending_code(key: str) -> Callable[[Walk], str]:
    """The code the authenticator being set up shows now (the person scanned its QR code)."""
    def code(walk: Walk) -> str:
        user = walk.session.get(User, walk.world[key])
        secret = factors.pending_secret(walk.session, walk.app.state.settings, user)
        assert secret is not None, f"{key} has no authenticator waiting"
        return pyotp.TOTP(secret).now()
    return code


def _key_options(walk: Walk) -> None:
    """The challenge the factor page's script asks for before the key is touched."""
    client = walk.browser("analyst")
    r = client.post("/account/factor/keys/options", json={},
                    headers={"X-CSRF-Token": page_csrf(client)})
    assert r.status_code == 200, r.text
    walk.world["key_options"] = r.json()


def _at_the_key_step(walk: Walk) -> None:
    """The supervisor has a security key, has typed the password in a fresh browser, and the
    code page's script has asked for a challenge."""
    register_key(walk.browser("supervisor"), SIGN_IN_KEY)
    client = walk.clients[ANONYMOUS] = TestClient(walk.app, raise_server_exceptions=False)
    r = client.post("/login", data={"username": walk.world["supervisor_name"],
                                    "password": PASSWORD, "csrf_token": login_csrf(client)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    options = client.post("/login/key/options", json={},
                          headers={"X-CSRF-Token": csrf_from(client.get("/login/code").text)})
    assert options.status_code == 200, options.text
    walk.world["sign_in_options"] = options.json()


def _newest_key(walk: Walk) -> None:
    walk.world["new_key"] = walk.session.exec(select(func.max(SecurityKey.id))).one()


def current_code(key: str) -> Callable[[Walk], str]:
    def code(walk: Walk) -> str:
        return totp_code(walk.app.state.session_factory, walk.app.state.settings,
                         walk.world[f"{key}_name"])
    return code


CHANGES = [
    # a new user with the code an approver handed over: the authenticator, then the password
    Row(ANONYMOUS, "POST", "/enrol", "user.factor_setup", "user", one("enrollee"),
        form={"enrolment_code": "{enrol_code}"}, token="enrol", actor="enrollee",
        status=(200,), details={"via": "enrolment"}),
    Row(ANONYMOUS, "POST", "/enrol/finish", "user.enrol", "user", one("enrollee"),
        form={"enrolment_code": "{enrol_code}", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD,
              "code": pending_code("enrollee")}, token="enrol", actor="enrollee",
        status=(200,)),
    # a signed-in user replaces their authenticator and renews their recovery codes
    Row("analyst", "POST", "/account/factor/setup", "user.factor_setup", "user",
        one("analyst"), form={}, status=(200,), details={"via": "account"}),
    Row("analyst", "POST", "/account/factor/confirm", "user.factor_enrol", "user",
        one("analyst"), form={"code": pending_code("analyst")}, status=(200,),
        details={"replaced": True}),
    Row("analyst", "POST", "/account/factor/recovery-codes", "user.recovery_codes_renew",
        "user", one("analyst"), form={}, status=(200,)),
    Row("analyst", "POST", "/account/factor/keys", "user.security_key_add", "security_key",
        one("new_key"), json={"name": "Spare key", "credential": lambda walk: SPARE_KEY.create(
            walk.world["key_options"])}, status=(201,), before=_key_options,
        details={"name": "Spare key", "credential_id": SPARE_KEY.id}),
    # a sign-in: the password (nobody is signed in yet), then the code
    Row(ANONYMOUS, "POST", "/login", "auth.login", "user", one("auditor"),
        form={"username": "{auditor_name}", "password": PASSWORD}, token="login",
        actor=ANONYMOUS),
    Row(ANONYMOUS, "POST", "/login/code", "auth.factor", "user", one("auditor"),
        form={"code": current_code("auditor"), "next": "/"}, token="code", actor="auditor"),
    Row(ANONYMOUS, "POST", "/login/key", "auth.factor", "user", one("supervisor"),
        json={"credential": lambda walk: SIGN_IN_KEY.get(walk.world["sign_in_options"]),
              "next": "/"}, token="code", actor="supervisor", before=_at_the_key_step,
        details={"method": "security key"}),
]


def test_sign_in_and_second_factor_steps_leave_their_audit_rows(client, make_user,
                                                                 estate, session,  # noqa: F811
                                                                 settings):
    walk = Walk(client, make_user, estate, session, late=_newest_key)
    enrollee = make_user("analyst", factor=False, must_change_password=True)
    code = enrolment.issue(session, settings, TEST_ACTOR, enrollee)
    session.commit()
    walk.world.update(enrollee=enrollee.id, enrollee_name=enrollee.username, enrol_code=code)
    problems = walk.run(CHANGES)
    assert problems == [], "\n".join(problems)
    # the steps took effect: the enrollee's own password and authenticator are in place
    session.expire_all()
    user = session.get(User, enrollee.id)
    assert factors.has_factor(session, enrollee.id) and not user.must_change_password
    assert verify_password(user.password_hash, NEW_PASSWORD)
