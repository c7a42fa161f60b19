from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import GrantProposal, User, UserSession
from tests.conftest import login, page_csrf


def _events(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_admin_proposes_a_user_and_is_shown_no_password(as_role, session, client):
    client, admin = as_role("admin")
    r = client.post("/admin/users", data={"username": "jsmith", "role": "analyst",
                                          "display_name": "J Smith",
                                          "csrf_token": page_csrf(client, "/admin/users")})
    assert r.status_code == 200  # the users page again, after the redirect
    assert "Proposed: jsmith as analyst. A supervisor must approve it" in r.text
    assert 'class="secret"' not in r.text
    # nothing exists yet but the proposal, listed as awaiting approval
    assert session.exec(select(User).where(User.username == "jsmith")).first() is None
    proposal = session.exec(select(GrantProposal)).one()
    assert (proposal.kind, proposal.role, proposal.status) == ("create", "analyst", "pending")
    assert "Awaiting approval" in r.text and "new user, analyst" in r.text
    event = _events(session, "grant.propose")[-1]
    assert event.actor_name == admin.username and '"approver_role": "supervisor"' in event.details


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


def test_lowering_a_role_takes_effect_at_once_and_ends_their_sessions(app, as_role, make_user):
    from fastapi.testclient import TestClient

    victim = make_user("supervisor")
    with TestClient(app) as other:
        login(other, victim.username)
        assert other.get("/matching/queue").status_code == 200
        client, _ = as_role("admin")
        r = client.post(f"/admin/users/{victim.id}/role",
                        data={"role": "analyst", "csrf_token": page_csrf(client, "/admin/users")})
        assert "is now analyst; their sessions were ended" in r.text
        assert other.get("/", follow_redirects=False).status_code == 303
        login(other, victim.username)
        assert other.get("/matching/queue").status_code == 403  # the new role applies


def test_admin_cannot_disable_themselves(as_role):
    client, admin = as_role("admin")
    r = client.post(f"/admin/users/{admin.id}/active",
                    data={"active": "false", "csrf_token": page_csrf(client, "/admin/users")})
    assert r.status_code == 422 and "cannot disable your own" in r.text
