"""Two-person grants: proposed by one, in effect only when a second (the right role, never the
proposer) approves; the enrolment code goes to the approver alone."""

import re
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlmodel import delete, select

from app.audit.models import AuditEvent
from app.auth.models import ApiKey, EnrolmentCode, GrantProposal, User
from app.auth.permissions import Role
from app.auth.throttle import LoginFailure
from app.db import utcnow
from tests.conftest import PASSWORD, csrf_from, login, login_csrf, page_csrf

SECRET_RE = re.compile(r'<code class="secret">([^<]+)</code>')


def _events(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def _signed_in(app, user) -> TestClient:
    return login(TestClient(app, raise_server_exceptions=False), user.username)


def _propose(admin_client, username, role="analyst"):
    r = admin_client.post("/admin/users", data={
        "username": username, "role": role, "display_name": username.title(),
        "csrf_token": page_csrf(admin_client, "/admin/users")})
    assert r.status_code == 200 and f"Proposed: {username} as {role}" in r.text
    return r


def _proposal(session, username):
    return session.exec(select(GrantProposal).where(GrantProposal.username == username)
                        .order_by(GrantProposal.id.desc())).first()


def _decide(client, proposal, verb="approve"):
    session_proposal_page = client.get("/grants")
    return client.post(f"/grants/{proposal.id}/{verb}", data={
        "version": str(proposal.version), "csrf_token": csrf_from(session_proposal_page.text)})


def _enrol(app, code, password="my very own password"):
    """What the new user does with the code: returns their authenticator secret."""
    with TestClient(app, raise_server_exceptions=False) as anon:
        form = anon.get("/enrol")
        token = re.search(r'name="enrol_csrf" value="([^"]+)"', form.text).group(1)
        setup = anon.post("/enrol", data={"enrolment_code": code, "enrol_csrf": token})
        if setup.status_code != 200:
            return None, setup
        secret = SECRET_RE.search(setup.text).group(1)
        token = re.search(r'name="enrol_csrf" value="([^"]+)"', setup.text).group(1)
        done = anon.post("/enrol/finish", data={
            "enrolment_code": code, "enrol_csrf": token, "new": password, "confirm": password,
            "code": pyotp.TOTP(secret).now()})
        return secret, done


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_supervisor_approves_and_alone_receives_the_enrolment_code(app, make_user, session):
    admin, supervisor = make_user("admin"), make_user("supervisor")
    admin_client = _signed_in(app, admin)
    _propose(admin_client, "jsmith")
    proposal = _proposal(session, "jsmith")
    # the proposer cannot approve, nor can another admin: analysts are a supervisor's to grant
    own = admin_client.get("/grants").text
    assert "You proposed this: a second person must decide it." in own
    assert _decide(admin_client, proposal).status_code == 403
    other_admin = _signed_in(app, make_user("admin"))
    refused = _decide(other_admin, proposal)
    assert refused.status_code == 403 and "decided by a supervisor" in refused.text
    assert session.exec(select(User).where(User.username == "jsmith")).first() is None

    approved = _decide(_signed_in(app, supervisor), proposal)
    assert approved.status_code == 200
    code = SECRET_RE.search(approved.text).group(1)
    assert re.fullmatch(r"([A-Z2-9]{4}-){4}[A-Z2-9]{4}", code)
    user = session.exec(select(User).where(User.username == "jsmith")).one()
    assert user.role == "analyst" and user.password_hash == "" and user.is_active
    row = session.exec(select(EnrolmentCode).where(EnrolmentCode.user_id == user.id)).one()
    assert code.replace("-", "") not in row.code_hash
    assert timedelta(hours=23) < row.expires_at - utcnow() <= timedelta(hours=24)
    create = _events(session, "user.create")[-1]
    assert f'"proposed_by": {admin.id}' in create.details
    assert f'"approved_by": {supervisor.id}' in create.details
    assert _events(session, "grant.approve")[-1].actor_name == supervisor.username
    assert all(code not in e.details for e in session.exec(select(AuditEvent)).all())

    # the code works once: the new user chooses a password and sets up an authenticator
    secret, done = _enrol(app, code)
    assert done.status_code == 200 and "You are enrolled as <strong>jsmith</strong>" in done.text
    assert len(SECRET_RE.findall(done.text)) == 10  # recovery codes
    again, refused = _enrol(app, code)
    assert again is None and refused.status_code == 422 and "not valid" in refused.text
    assert _events(session, "user.enrol")[-2].outcome == "success"
    with TestClient(app) as jsmith:
        login(jsmith, "jsmith", "my very own password")
        assert jsmith.get("/search").status_code == 200


def test_an_expired_code_does_not_work(app, make_user, session, settings):
    _propose(_signed_in(app, make_user("admin")), "late")
    approved = _decide(_signed_in(app, make_user("supervisor")), _proposal(session, "late"))
    code = SECRET_RE.search(approved.text).group(1)
    row = session.exec(select(EnrolmentCode)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    secret, refused = _enrol(app, code)
    assert secret is None and refused.status_code == 422
    assert "older than its time limit" in refused.text


def test_admin_grants_need_another_admin(app, make_user, session):
    first, second = make_user("admin"), make_user("admin")
    _propose(_signed_in(app, first), "newadmin", "admin")
    proposal = _proposal(session, "newadmin")
    by_supervisor = _decide(_signed_in(app, make_user("supervisor")), proposal)
    assert by_supervisor.status_code == 403 and "decided by an admin" in by_supervisor.text
    assert _decide(_signed_in(app, second), proposal).status_code == 200
    assert session.exec(select(User).where(User.username == "newadmin")).one().role == "admin"


def test_raising_a_role_is_a_proposal_lowering_is_not(app, make_user, session):
    admin, supervisor = make_user("admin"), make_user("supervisor")
    analyst, auditor = make_user("analyst"), make_user("auditor")
    admin_client = _signed_in(app, admin)
    token = page_csrf(admin_client, "/admin/users")
    r = admin_client.post(f"/admin/users/{auditor.id}/role",
                          data={"role": "analyst", "csrf_token": token})
    assert "It takes effect when a supervisor approves it" in r.text
    session.refresh(auditor)
    assert auditor.role == "auditor"
    r = admin_client.post(f"/admin/users/{analyst.id}/role",
                          data={"role": "admin", "csrf_token": token})
    assert "It takes effect when an admin approves it" in r.text
    assert _proposal(session, analyst.username).role == "admin"
    # an admin cannot raise themselves to anything, nor approve a grant about themselves
    own = admin_client.post(f"/admin/users/{admin.id}/role",
                            data={"role": "supervisor", "csrf_token": token})
    assert own.status_code == 422 and "cannot change your own role" in own.text
    _decide(_signed_in(app, supervisor), _proposal(session, auditor.username))
    session.refresh(auditor)
    assert auditor.role == "analyst"
    # supervisor -> analyst takes permissions away only: at once
    r = admin_client.post(f"/admin/users/{supervisor.id}/role",
                          data={"role": "analyst", "csrf_token": token})
    session.refresh(supervisor)
    assert supervisor.role == "analyst"


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_two_decisions_on_one_proposal_one_wins(app, make_user, session):
    _propose(_signed_in(app, make_user("admin")), "twice")
    proposal = _proposal(session, "twice")
    first = _signed_in(app, make_user("supervisor"))
    second = _signed_in(app, make_user("supervisor"))
    stale_version = proposal.version
    assert _decide(first, proposal, "reject").status_code == 200
    r = second.post(f"/grants/{proposal.id}/approve", data={
        "version": str(stale_version), "csrf_token": page_csrf(second, "/grants")})
    assert r.status_code == 403 and "was rejected already" in r.text
    assert session.exec(select(User).where(User.username == "twice")).first() is None


def test_an_admin_cannot_read_a_dossier_through_any_account_they_created(app, make_user,
                                                                          session):
    admin = make_user("admin")
    admin_client = _signed_in(app, admin)
    seen: list[str] = []  # every page the admin is shown along the way

    seen.append(_propose(admin_client, "puppet").text)
    supervisor_client = _signed_in(app, make_user("supervisor"))
    handed = _decide(supervisor_client, _proposal(session, "puppet"))
    code = SECRET_RE.search(handed.text).group(1)
    for path in ("/admin/users", "/grants", "/"):
        seen.append(admin_client.get(path).text)
    assert code not in "".join(seen)
    shown_to_admin = set(SECRET_RE.findall("".join(seen)))
    assert shown_to_admin == set()

    # no password works for the account before it enrols: not empty, not the code (the sign-in
    # throttle lets three failures from one address through, then delays: a 429 is a refusal
    # too, but the first three are checked against the account)
    for n, guess in enumerate((code, "", PASSWORD, "puppet")):
        with TestClient(app) as attempt:
            r = attempt.post("/login", data={"username": "puppet", "password": guess,
                                             "csrf_token": login_csrf(attempt)},
                             follow_redirects=False)
            assert r.status_code in ((401, 422) if n < 3 else (401, 422, 429)), guess
    # the attempts above were all from the test client's one address: let later ones through
    session.exec(delete(LoginFailure))
    session.flush()

    # once the real user has enrolled, the admin resets the sign-in: the new code again
    # reaches only the approver, and the old password stops working at once
    assert _enrol(app, code, "a string on a stick")[1].status_code == 200
    r = admin_client.post(f"/admin/users/{_user(session, 'puppet').id}/reset",
                          data={"csrf_token": page_csrf(admin_client, "/admin/users")})
    seen.append(r.text)
    reset = _decide(supervisor_client, _proposal(session, "puppet"))
    new_code = SECRET_RE.search(reset.text).group(1)
    seen.append(admin_client.get("/admin/users").text)
    assert new_code not in "".join(seen) and not SECRET_RE.findall("".join(seen))
    with TestClient(app) as attempt:
        r = attempt.post("/login", data={"username": "puppet",
                                         "password": "a string on a stick",
                                         "csrf_token": login_csrf(attempt)},
                         follow_redirects=False)
        assert r.status_code == 401
    assert '"factor_reset": true' in _events(session, "user.reset_sign_in")[-1].details

    # and the admin's own session reads no prisoner data
    for path in ("/search", "/search/prisoners/A1234BC"):
        assert admin_client.get(path).status_code == 403, path
    token = page_csrf(admin_client, "/admin/users")
    for path in ("/search/prisoners/A1234BC", "/api/v1/prisoners/A1234BC/dossier"):
        opened = admin_client.post(path, data={"purpose": "Curiosity", "csrf_token": token},
                                   headers={"X-CSRF-Token": token})
        assert opened.status_code == 403, path


def _user(session, username):
    return session.exec(select(User).where(User.username == username)).one()


def test_approving_a_role_change_revokes_keys_and_ends_sessions(app, make_user, session,
                                                                settings):
    from app.auth import apikeys
    from tests.conftest import TEST_ACTOR

    auditor = make_user("auditor")
    apikeys.create(session, settings, TEST_ACTOR, auditor, name="reports", days=5)
    session.commit()
    admin_client = _signed_in(app, make_user("admin"))
    admin_client.post(f"/admin/users/{auditor.id}/role",
                      data={"role": "supervisor",
                            "csrf_token": page_csrf(admin_client, "/admin/users")})
    assert session.exec(select(ApiKey)).one().revoked_at is None  # not yet in effect
    _decide(_signed_in(app, make_user("supervisor")), _proposal(session, auditor.username))
    assert session.exec(select(ApiKey)).one().revoked_at is not None
    event = _events(session, "user.set_role")[-1]
    assert '"api_access_revoked": 1' in event.details and '"to": "supervisor"' in event.details


def test_approver_roles_cover_every_role():
    from app.auth.grants import APPROVER_ROLE

    assert set(APPROVER_ROLE) == set(Role)
    assert APPROVER_ROLE[Role.admin] is Role.admin
    assert {APPROVER_ROLE[r] for r in Role if r is not Role.admin} == {Role.supervisor}


def test_the_approvers_home_page_counts_what_awaits_them(app, make_user, session):
    admin = make_user("admin")
    admin_client = _signed_in(app, admin)
    _propose(admin_client, "countme")
    supervisor = _signed_in(app, make_user("supervisor"))
    home = supervisor.get("/").text
    assert re.search(r'href="/grants"><span class="figure-count">1</span> '
                     r'<span class="figure-label">Access proposals for me to decide', home)
    # the proposer's own home page does not count it: it is not theirs to decide
    assert re.search(r'<span class="figure-count">0</span> '
                     r'<span class="figure-label">Access proposals for me to decide',
                     admin_client.get("/").text)
