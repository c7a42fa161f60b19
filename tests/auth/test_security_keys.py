"""Security keys (WebAuthn) on the server: registering one after a fresh second factor, using
it instead of the code at sign-in and for a step-up, removing it, and every way an answer
can be wrong (challenge, origin, credential, counter), each refused with a 4xx that changes
nothing but the audit log. The answers come from a software key (tests/support/securitykey.py)
that signs as a real one does."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.auth.models import SecurityKey, TotpFactor, User, UserSession
from app.db import utcnow
from tests.conftest import PASSWORD, login, login_csrf, page_csrf
from tests.support.securitykey import SoftKey

JSON = {"Accept": "application/json"}
BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def _post(client, path, body=None, *, page="/account/factor"):
    return client.post(path, json=body or {}, follow_redirects=False,
                       headers={"X-CSRF-Token": page_csrf(client, page), **JSON})


def register(client, key, name="Blue key"):
    options = _post(client, "/account/factor/keys/options")
    assert options.status_code == 200, options.text
    return _post(client, "/account/factor/keys", {"name": name,
                                                  "credential": key.create(options.json())})


def password_only(client, username):
    r = client.post("/login", data={"username": username, "password": PASSWORD,
                                    "csrf_token": login_csrf(client)}, follow_redirects=False)
    assert r.headers["location"].startswith("/login/code"), r.headers["location"]


def key_options(client):
    r = _post(client, "/login/key/options", page="/login/code")
    assert r.status_code == 200, r.text
    return r.json()


def key_answer(client, credential, next_="/"):
    return _post(client, "/login/key", {"credential": credential, "next": next_},
                 page="/login/code")


def use_key(client, key, next_="/"):
    return key_answer(client, key.get(key_options(client)), next_)


def events(session, action, outcome=None):
    session.expire_all()
    query = select(AuditEvent).where(AuditEvent.action == action)
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    return session.exec(query.order_by(col(AuditEvent.id))).all()


def stored_keys(session, user):
    session.expire_all()
    return session.exec(select(SecurityKey).where(SecurityKey.user_id == user.id)).all()


def age_factor_check(session, user, minutes=16):
    session.expire_all()
    for row in session.exec(select(UserSession).where(UserSession.user_id == user.id)).all():
        row.factor_at = utcnow() - timedelta(minutes=minutes)
        session.add(row)
    session.commit()


@pytest.fixture
def keyed(client, make_user, session):
    """A signed-in analyst with one registered key; returns (user, key)."""
    user = make_user()
    login(client, user.username)
    key = SoftKey()
    r = register(client, key)
    assert r.status_code == 201, r.text
    return user, key


@BOTH
def test_register_a_key_then_sign_in_with_it(client, make_user, session):
    user = make_user()
    login(client, user.username)
    assert "No security keys yet" in client.get("/account/factor").text
    key = SoftKey()
    options = _post(client, "/account/factor/keys/options").json()
    assert options["rp"]["id"] == "localhost" and options["excludeCredentials"] == []
    r = _post(client, "/account/factor/keys",
              {"name": "  Blue   key  ", "credential": key.create(options)})
    assert r.status_code == 201 and r.json()["redirect"] == "/account/factor"
    page = client.get("/account/factor").text
    assert "Blue key" in page and "added" in page  # the row and the flash
    [row] = stored_keys(session, user)
    assert row.credential_id == key.id and row.sign_count == 0
    [added] = events(session, "user.security_key_add")
    details = json.loads(added.details)
    assert added.actor_name == user.username and json.loads(added.object_ids) == [str(row.id)]
    assert details["credential_id"] == key.id and details["name"] == "Blue key"
    assert row.public_key.hex() not in added.details  # the key's public key is not logged

    # a second registration lists the first key so that it is not registered twice
    again = _post(client, "/account/factor/keys/options").json()
    assert [c["id"] for c in again["excludeCredentials"]] == [key.id]

    client.post("/logout", data={"csrf_token": page_csrf(client)})
    password_only(client, user.username)
    code_page = client.get("/login/code").text
    assert "Use your security key" in code_page and 'name="code"' in code_page
    assert "<h1>Second factor</h1>" in code_page
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login/code")
    options = key_options(client)
    assert [c["id"] for c in options["allowCredentials"]] == [key.id]
    r = key_answer(client, key.get(options), "/search")
    assert r.status_code == 200 and r.json() == {"redirect": "/search"}
    assert client.get("/", follow_redirects=False).status_code == 200
    [used] = events(session, "auth.factor", "success")[-1:]
    assert json.loads(used.details)["method"] == "security key"
    assert json.loads(used.details)["credential_id"] == key.id
    [row] = stored_keys(session, user)
    assert row.sign_count == 1 and row.last_used_at is not None


def test_adding_a_key_needs_a_fresh_second_factor(client, make_user, session):
    user = make_user()
    login(client, user.username)
    age_factor_check(session, user)
    r = _post(client, "/account/factor/keys/options")
    assert r.status_code == 403 and "Enter your authenticator code again" in r.json()["message"]
    assert r.json()["detail"]["step_up"] == "/login/code?next=/account/factor"
    assert stored_keys(session, user) == []


def test_a_name_is_required(client, keyed, session):
    user, _ = keyed
    other = SoftKey()
    options = _post(client, "/account/factor/keys/options").json()
    r = _post(client, "/account/factor/keys", {"name": "   ", "credential": other.create(options)})
    assert r.status_code == 422 and "name of 1 to 64 characters" in r.json()["message"]
    assert len(stored_keys(session, user)) == 1


@BOTH
def test_a_registration_answer_is_refused_for_a_wrong_origin_or_a_used_challenge(
        client, keyed, session):
    user, _ = keyed
    options = _post(client, "/account/factor/keys/options").json()
    evil = SoftKey(origin="https://cellwatch.evil.example")
    r = _post(client, "/account/factor/keys", {"name": "Evil", "credential": evil.create(options)})
    assert r.status_code == 400 and "could not be verified" in r.json()["message"]
    # the challenge was spent by that attempt: a good answer to it is refused too
    good = SoftKey()
    r = _post(client, "/account/factor/keys", {"name": "Late", "credential": good.create(options)})
    assert r.status_code == 400 and "expired or was already used" in r.json()["message"]
    assert [k.name for k in stored_keys(session, user)] == ["Blue key"]
    failures = events(session, "user.security_key_add", "failure")
    assert [json.loads(e.details)["reason"] for e in failures][-1] == "no challenge"
    assert "origin" in json.loads(failures[-2].details)["reason"]


def test_keys_per_user_are_limited(client, keyed, session, settings, app):
    user, _ = keyed
    app.state.settings = settings.model_copy(update={"security_keys_per_user": 1})
    r = _post(client, "/account/factor/keys/options")
    assert r.status_code == 409 and "Remove one before adding another" in r.json()["message"]
    assert len(stored_keys(session, user)) == 1


def test_the_same_key_cannot_be_registered_twice(client, keyed, session):
    user, key = keyed
    options = _post(client, "/account/factor/keys/options").json()
    r = _post(client, "/account/factor/keys", {"name": "Again", "credential": key.create(options)})
    assert r.status_code == 400 and "already registered" in r.json()["message"]
    assert len(stored_keys(session, user)) == 1


@BOTH
def test_a_replayed_answer_is_refused(client, keyed, session):
    user, key = keyed
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    password_only(client, user.username)
    answer = key.get(key_options(client))
    assert key_answer(client, answer).status_code == 200
    # the very same answer again (a step-up a moment later): its challenge is spent
    again = key_answer(client, answer)
    assert again.status_code == 401 and "expired or was already used" in again.json()["message"]
    [failure] = events(session, "auth.factor", "failure")
    assert json.loads(failure.details)["reason"] == "security key: no challenge"


def test_a_challenge_belongs_to_the_session_that_asked_for_it(client, keyed, app):
    """Options fetched in one browser session, answered from another of the same user."""
    from fastapi.testclient import TestClient

    user, key = keyed
    options = key_options(client)
    with TestClient(app, raise_server_exceptions=False) as other:
        password_only(other, user.username)
        r = key_answer(other, key.get(options))
        assert r.status_code == 401 and "expired or was already used" in r.json()["message"]
        assert other.get("/", follow_redirects=False).headers["location"] \
            .startswith("/login/code")
    # the session that asked can still use its challenge (the other attempt spent nothing here)
    assert key_answer(client, key.get(options)).status_code == 200


def test_an_answer_to_another_challenge_is_refused(client, keyed, session):
    user, key = keyed
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    password_only(client, user.username)
    options = key_options(client)
    forged = key.get({**options, "challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
    r = key_answer(client, forged)
    assert r.status_code == 401 and "could not be verified" in r.json()["message"]
    # nothing changed: still half signed in, the counter where it was
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login/code")
    [row] = stored_keys(session, user)
    assert row.sign_count == 0 and row.last_used_at is None
    [failure] = events(session, "auth.factor", "failure")
    assert "challenge" in json.loads(failure.details)["reason"]
    assert json.loads(failure.details)["credential_id"] == key.id


def test_an_expired_challenge_is_refused(client, keyed, session):
    user, key = keyed
    options = key_options(client)
    session.expire_all()
    row = session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.key_challenge_expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    r = key_answer(client, key.get(options))
    assert r.status_code == 401 and "expired" in r.json()["message"]


def test_an_answer_from_another_origin_is_refused(client, keyed, session):
    user, key = keyed
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    password_only(client, user.username)
    key.origin = "http://localhost:9999"
    r = use_key(client, key)
    assert r.status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login/code")
    [failure] = events(session, "auth.factor", "failure")
    assert "origin" in json.loads(failure.details)["reason"]


def test_an_unknown_key_or_another_users_key_is_refused(client, keyed, make_user, session):
    user, key = keyed
    r = use_key(client, SoftKey())
    assert r.status_code == 401 and "not registered to your account" in r.json()["message"]
    # a key registered to someone else is unknown here as well
    other = make_user()
    login(client, other.username)
    assert _post(client, "/login/key/options", page="/login/code").status_code == 404
    assert register(client, SoftKey(), "Mine").status_code == 201
    r = use_key(client, key)
    assert r.status_code == 401 and "not registered to your account" in r.json()["message"]
    [row] = stored_keys(session, user)
    assert row.sign_count == 0 and row.last_used_at is None
    reasons = [json.loads(e.details)["reason"] for e in events(session, "auth.factor", "failure")]
    assert reasons == ["security key: unknown credential"] * 2


@BOTH
def test_a_cloned_key_with_a_lower_counter_is_refused(client, keyed, session):
    user, key = keyed
    clone = key.clone()  # copied while its counter was 0
    assert use_key(client, key).status_code == 200
    assert use_key(client, key).status_code == 200  # counter 2
    r = use_key(client, clone)  # counter 1
    assert r.status_code == 401 and "went backwards" in r.json()["message"]
    [row] = stored_keys(session, user)
    assert row.sign_count == 2
    [failure] = events(session, "auth.factor", "failure")
    assert json.loads(failure.details)["reason"].startswith("security key: counter regression")


def test_a_malformed_answer_is_a_clear_refusal(client, keyed, session):
    user, key = keyed
    key_options(client)
    r = key_answer(client, {"id": key.id, "rawId": key.id, "type": "public-key",
                            "response": {"clientDataJSON": "!!", "authenticatorData": "x",
                                         "signature": "y"}})
    assert r.status_code == 401 and "could not be verified" in r.json()["message"]
    r = _post(client, "/login/key", {"credential": "not an object"}, page="/login/code")
    assert r.status_code == 422


def test_refused_keys_count_toward_the_lockout(client, keyed, session, settings):
    user, key = keyed
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    password_only(client, user.username)
    key.origin = "http://localhost:1"
    for _ in range(settings.login_max_failures - 1):
        assert use_key(client, key).status_code == 401
    last = use_key(client, key)
    assert last.status_code == 401 and last.json()["redirect"] == "/login"
    session.expire_all()
    assert session.get(User, user.id).locked_until is not None
    assert session.exec(select(UserSession).where(UserSession.user_id == user.id)).first() \
        is None


def test_removing_a_key_needs_a_step_up_which_a_key_can_give(client, keyed, session):
    user, key = keyed
    key_id = stored_keys(session, user)[0].id
    age_factor_check(session, user)
    r = client.post(f"/account/factor/keys/{key_id}/remove",
                    data={"csrf_token": page_csrf(client, "/account/factor")},
                    follow_redirects=False)
    assert r.status_code == 403 and "Enter your authenticator code again" in r.text
    assert len(stored_keys(session, user)) == 1
    # the step-up, answered with the key instead of a code
    page = client.get("/login/code?next=/account/factor").text
    assert "Confirm it is you" in page and "Use your security key" in page
    assert use_key(client, key, "/account/factor").json() == {"redirect": "/account/factor"}
    r = client.post(f"/account/factor/keys/{key_id}/remove",
                    data={"csrf_token": page_csrf(client, "/account/factor")},
                    follow_redirects=False)
    assert r.status_code == 303 and stored_keys(session, user) == []
    assert "Security key \u201cBlue key\u201d removed" in client.get("/account/factor").text
    [removed] = events(session, "user.security_key_remove")
    assert json.loads(removed.object_ids) == [str(key_id)]
    assert json.loads(removed.details)["credential_id"] == key.id
    # the removed key no longer signs in
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    password_only(client, user.username)
    assert "Use your security key" not in client.get("/login/code").text
    assert _post(client, "/login/key/options", page="/login/code").status_code == 404


def test_only_ones_own_key_can_be_removed(client, keyed, make_user, session):
    user, _ = keyed
    [row] = stored_keys(session, user)
    other = make_user()
    login(client, other.username)
    r = client.post(f"/account/factor/keys/{row.id}/remove",
                    data={"csrf_token": page_csrf(client, "/account/factor")},
                    follow_redirects=False)
    assert r.status_code == 404
    assert len(stored_keys(session, user)) == 1


def test_a_key_alone_is_a_second_factor_where_one_is_required(client, make_user, session,
                                                               settings, app):
    """A user whose only factor is a key: production lets them in with it, and refuses to
    let them remove it."""
    user = make_user()
    login(client, user.username)
    key = SoftKey()
    assert register(client, key).status_code == 201
    session.expire_all()
    session.delete(session.exec(select(TotpFactor).where(TotpFactor.user_id == user.id)).one())
    session.commit()
    app.state.settings = settings.model_copy(update={"second_factor_required": True})
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    password_only(client, user.username)
    page = client.get("/login/code").text
    assert "Use your security key" in page and 'name="code"' not in page
    assert "<h1>Security key</h1>" in page
    assert use_key(client, key).status_code == 200
    assert client.get("/", follow_redirects=False).status_code == 200
    [row] = stored_keys(session, user)
    r = client.post(f"/account/factor/keys/{row.id}/remove",
                    data={"csrf_token": page_csrf(client, "/account/factor")},
                    follow_redirects=False)
    assert r.status_code == 409 and "only second factor" in r.text
    assert len(stored_keys(session, user)) == 1


def test_a_reset_removes_the_users_keys(keyed, session, settings):
    from app.auth import grants
    from tests.conftest import TEST_ACTOR

    user, _ = keyed
    grants.reset_sign_in(session, settings, TEST_ACTOR, session.get(User, user.id))
    session.flush()
    assert stored_keys(session, user) == []
