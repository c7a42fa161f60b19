"""Sign-in throttles: a stranger at one address meets delays and a block, never locks the
account's owner out; many addresses failing on one account lock it, and the admins are told."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth import pages, throttle
from app.db import utcnow
from app.settings import Settings
from tests.conftest import PASSWORD, TEST_ACTOR, login, login_csrf

STRANGER = ("203.0.113.9", 4000)


@pytest.fixture
def settings(tmp_path, db_url):
    return Settings(data_dir=tmp_path / "data", database_url=db_url, audit_link_seconds=0,
                    match_workers=0, login_account_lock_failures=12,
                    login_account_lock_addresses=4)


@pytest.fixture
def clock(monkeypatch):
    """The sign-in's clock, moved on by hand: the throttles count time, the test waits none."""
    now = [utcnow()]
    monkeypatch.setattr(pages, "utcnow", lambda: now[0])
    return now


def _try(client, username, password):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": login_csrf(client)},
                       follow_redirects=False)


def _policy(**changes):
    base = dict(login_window_minutes=15, login_free_failures=3, login_max_delay_seconds=60,
                login_address_block_failures=20)
    return throttle.Policy.of(Settings(**{**base, **changes}))


def test_delay_grows_then_the_address_is_blocked(session):
    policy, start = _policy(), utcnow()
    at, waits = start, []
    for _ in range(20):  # each attempt a second after the wait it was given
        throttle.failed(session, policy, TEST_ACTOR, "someone", at)
        waits.append(throttle.wait_seconds(session, policy, TEST_ACTOR.client_addr, at))
        last, at = at, at + timedelta(seconds=waits[-1] + 1)
    assert waits[:2] == [0, 0]  # the free failures
    assert waits[2:9] == [1, 2, 4, 8, 16, 32, 60]  # doubling, up to the most
    assert waits[9:19] == [60] * 10
    # the 20th failure within 15 minutes blocks the address until the oldest leaves it
    assert waits[-1] == int((start + policy.window - last).total_seconds())
    assert waits[-1] > 60
    other = throttle.wait_seconds(session, policy, "198.51.100.1", last)
    assert other == 0  # another address is not held back


def test_a_stranger_at_one_address_cannot_lock_out_the_user(app, make_user, session, clock):
    user = make_user()
    statuses = []
    with TestClient(app, client=STRANGER) as stranger:
        for _ in range(200):
            response = _try(stranger, user.username, "guess-guess-guess")
            statuses.append(response.status_code)
            if response.status_code == 429:
                retry = response.headers["Retry-After"]
                assert retry.isdigit() and int(retry) > 0
                assert "Try again in" in response.text
            clock[0] += timedelta(seconds=20)
        # right password, same address, while blocked: refused without being checked
        assert _try(stranger, user.username, PASSWORD).status_code == 429
    assert statuses[:3] == [401, 401, 401] and 429 in statuses
    session.refresh(user)
    assert user.locked_until is None
    with TestClient(app, client=("198.51.100.7", 5000)) as owner:
        login(owner, user.username)  # the owner, elsewhere, signs in at once
    throttled = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.login",
                                                      AuditEvent.outcome == "throttled")).all()
    assert len(throttled) == statuses.count(429) + 1
    assert not session.exec(select(AuditEvent).where(AuditEvent.action == "auth.lockout")).all()


def test_failures_from_many_addresses_lock_the_account_and_tell_the_admins(
        app, make_user, session, clock):
    user = make_user()
    for i in range(4):  # 4 addresses x 3 failures: under each address's delay, 12 in all
        with TestClient(app, client=(f"192.0.2.{i + 1}", 1000)) as attacker:
            for _ in range(3):
                assert _try(attacker, user.username, "guess-guess-guess").status_code == 401
        clock[0] += timedelta(seconds=5)
    session.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()
    lockout = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.lockout")).one()
    assert lockout.object_ids == f'["{user.id}"]' and '"addresses": 4' in lockout.details
    with TestClient(app, client=("198.51.100.7", 5000)) as owner:
        assert _try(owner, user.username, PASSWORD).status_code == 401  # locked for now
    admin = make_user("admin")
    with TestClient(app, client=("198.51.100.8", 5000)) as desk:
        login(desk, admin.username)
        home = desk.get("/")
    assert "Accounts locked by failed sign-ins" in home.text and user.username in home.text


def test_other_roles_do_not_see_lockouts(app, make_user, session):
    locked = make_user()
    throttle.record(session, TEST_ACTOR, throttle.LOCKOUT_ACTION, object_type="user",
                    object_ids=[locked.id], details={"username": locked.username, "addresses": 5})
    session.commit()
    analyst = make_user()
    with TestClient(app) as client:
        login(client, analyst.username)
        assert locked.username not in client.get("/").text
