"""Opening a dossier and revealing a date of birth ask for the second factor again once the
last check in the session is older than settings.step_up_minutes (15)."""

from datetime import timedelta

from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import UserSession
from app.db import utcnow
from tests.conftest import answer_code, page_csrf
from tests.search.conftest import PURPOSE

DOSSIER = "/search/prisoners/A1234BC"


def _age_factor(session, user, minutes):
    row = session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.factor_at = utcnow() - timedelta(minutes=minutes)
    session.add(row)
    session.commit()


def _dossier_views(session):
    session.expire_all()
    return session.exec(select(AuditEvent).where(AuditEvent.action == "prisoner.dossier")).all()


def test_a_dossier_within_the_window_opens_without_asking(as_role, world, session):
    client, user = as_role("analyst")
    _age_factor(session, user, 14)
    token = page_csrf(client, DOSSIER)
    r = client.post(DOSSIER, data={"purpose": PURPOSE, "csrf_token": token})
    assert r.status_code == 200 and "cellking" in r.text


def test_an_old_check_asks_again_before_the_dossier(as_role, world, session):
    client, user = as_role("analyst")
    token = page_csrf(client, "/search")
    _age_factor(session, user, 16)
    # a purpose in the address opens nothing (purposes travel in the form's body)
    opened = client.get(f"{DOSSIER}?purpose={PURPOSE}", follow_redirects=False)
    assert opened.status_code == 200 and "cellking" not in opened.text
    posted = client.post(DOSSIER, data={"purpose": PURPOSE, "csrf_token": token})
    assert posted.status_code == 403 and "Enter your authenticator code again" in posted.text
    assert _dossier_views(session) == []  # nothing was read
    answer_code(client, f"/login/code?next={DOSSIER}")
    r = client.post(DOSSIER, data={"purpose": PURPOSE, "csrf_token": token})
    assert r.status_code == 200 and "cellking" in r.text
    assert len(_dossier_views(session)) == 1


def test_revealing_a_date_of_birth_asks_again_and_comes_back_to_the_dossier(as_role, world,
                                                                          session):
    client, user = as_role("analyst")
    token = page_csrf(client, DOSSIER)
    _age_factor(session, user, 30)
    fragment = client.post(f"{DOSSIER}/reveal-dob", data={"purpose": PURPOSE},
                           headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert fragment.status_code == 403 and "14 Mar 1990" not in fragment.text
    assert f'href="/login/code?next={DOSSIER}"' in fragment.text
    api = client.post("/api/v1/prisoners/A1234BC/reveal-dob", json={"purpose": PURPOSE},
                      headers={"X-CSRF-Token": token})
    assert api.status_code == 403 and api.json()["detail"]["step_up"].startswith("/login/code")
    answer_code(client, f"/login/code?next={DOSSIER}")
    shown = client.post(f"{DOSSIER}/reveal-dob", data={"purpose": PURPOSE},
                        headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert shown.status_code == 200 and "14 Mar 1990" in shown.text
