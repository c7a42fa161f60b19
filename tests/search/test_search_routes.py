"""Search and dossier pages and API: permissions, purpose, reveal, audit."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.auth import apikeys
from tests.conftest import TEST_ACTOR, page_csrf
from tests.search.conftest import PURPOSE

DOSSIER = "/search/prisoners/A1234BC"


def events(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                             .order_by(col(AuditEvent.id))).all())


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_are_refused(as_role, world, role):
    client, _ = as_role(role)
    token = page_csrf(client)
    for path in ("/search", DOSSIER):
        assert client.get(path).status_code == 403, path
    for path in ("/search", DOSSIER, f"{DOSSIER}/reveal-dob"):
        r = client.post(path, data={"purpose": PURPOSE, "prison_number": "A1234BC",
                                    "csrf_token": token})
        assert r.status_code == 403, path
    for path, body in (("/api/v1/prisoners/search", {"prison_number": "A1234BC"}),
                       ("/api/v1/prisoners/A1234BC/dossier", {"purpose": PURPOSE})):
        assert client.post(path, json=body, headers={"X-CSRF-Token": token}).status_code \
            == 403, path
    assert 'href="/search"' not in client.get("/").text


def test_search_page(as_role, world, session):
    client, user = as_role("analyst")
    assert 'href="/search"' in client.get("/").text
    blank = client.get("/search")
    assert blank.status_code == 200 and "No prisoner matches" not in blank.text
    assert events(session, "prisoner.search") == []  # the bare form searches nothing
    token = page_csrf(client, "/search")
    in_url = client.get("/search", params={"surname": "smith", "forename": "john"})
    assert "B-2-003" not in in_url.text  # terms in a URL are not searched for
    assert events(session, "prisoner.search") == []
    r = client.post("/search", data={"surname": "smith", "forename": "john",
                                     "csrf_token": token})
    assert r.status_code == 200
    assert "A1234BC" in r.text and "**/**/1990" in r.text and "14 Mar 1990" not in r.text
    assert "B-2-003" in r.text and f'href="{DOSSIER}"' in r.text
    (event,) = events(session, "prisoner.search")
    assert event.actor_name == user.username
    assert json.loads(event.object_ids) == [str(world.target.id)]


def test_search_page_refusals_are_422_with_the_form(as_role, world):
    client, _ = as_role("analyst")
    token = page_csrf(client, "/search")
    r = client.post("/search", data={"surname": "%", "forename": "x", "csrf_token": token})
    assert r.status_code == 422 and "Wildcards are not supported" in r.text
    assert 'name="surname" value="%"' in r.text
    r = client.post("/search", data={"surname": "s", "dob": "1990-03-14", "csrf_token": token})
    assert r.status_code == 422 and "at least 2 letters" in r.text
    assert client.post("/search", data={"surname": "smith"}).status_code == 403  # no CSRF


def test_search_api(as_role, world, session):
    client, _ = as_role("supervisor")
    csrf = {"X-CSRF-Token": page_csrf(client)}
    r = client.post("/api/v1/prisoners/search", json={"prison_number": "a1234bc"},
                    headers=csrf)
    assert r.status_code == 200
    body = r.json()
    assert [p["prison_number"] for p in body["prisoners"]] == ["A1234BC"]
    assert body["prisoners"][0]["date_of_birth"] == "**/**/1990" and body["more"] is False
    assert body["prisoners"][0]["current"]["cell_label"] == "B-2-003"
    assert "1990-03-14" not in r.text
    r = client.post("/api/v1/prisoners/search", json={"alias": "%"}, headers=csrf)
    assert r.status_code == 422 and "Wildcards" in r.json()["message"]
    assert client.get("/api/v1/prisoners", params={"prison_number": "a1234bc"}).status_code \
        in (404, 405)  # no search by URL
    assert len(events(session, "prisoner.search")) == 1


def test_dossier_asks_for_a_purpose_first(as_role, world, session):
    client, _ = as_role("analyst")
    form = client.get(DOSSIER)
    assert form.status_code == 200 and 'name="purpose"' in form.text
    assert 'name="csrf_token"' in form.text and "Smith" not in form.text
    assert events(session, "prisoner.dossier") == []
    assert client.get("/search/prisoners/A1234%3Fx").status_code == 404
    token = page_csrf(client, DOSSIER)
    short = client.post(DOSSIER, data={"purpose": "abc", "csrf_token": token})
    assert short.status_code == 422 and "purpose of 5 to 255" in short.text
    assert client.post(DOSSIER, data={"purpose": PURPOSE}).status_code == 403  # no CSRF
    assert events(session, "prisoner.dossier") == []


def test_dossier_page(as_role, world, session):
    client, user = as_role("analyst")
    token = page_csrf(client, DOSSIER)
    r = client.post(DOSSIER, data={"purpose": PURPOSE, "csrf_token": token})
    assert r.status_code == 200
    for text in ("SMITH", "**/**/1990", "B-2-003", "H-1-001", "B2345CD", "C3456DE",
                 "E5678FG", "cellking", "smithy_a1", "reference photo of MDI A-1-014",
                 f'src="/images/{world.evidence_image.id}/display"', "IG-99",
                 "Two phones under the bed", "Organised crime nominal", "SMYTHE, Jack"):
        assert text in r.text, text
    for text in ("14 Mar 1990", "D4567EF", "notsmith", f"/images/{world.erased_image.id}/"):
        assert text not in r.text, text
    assert "<script>" not in r.text and "style=" not in r.text
    (event,) = events(session, "prisoner.dossier")
    assert (event.purpose, event.actor_name) == (PURPOSE, user.username)
    in_url = client.get(DOSSIER, params={"purpose": PURPOSE})  # a purpose in a URL: no dossier
    assert in_url.status_code == 200 and "cellking" not in in_url.text
    assert len(events(session, "prisoner.dossier")) == 1
    assert client.post("/search/prisoners/Z9999ZZ", data={
        "purpose": PURPOSE, "csrf_token": token}).status_code == 404


def test_dossier_api(as_role, world, session):
    client, _ = as_role("analyst")
    url, csrf = "/api/v1/prisoners/A1234BC/dossier", {"X-CSRF-Token": page_csrf(client)}
    assert client.post(url, json={}, headers=csrf).status_code == 422
    short = client.post(url, json={"purpose": "why"}, headers=csrf)
    assert short.status_code == 422 and "purpose" in short.json()["message"]
    assert client.get(url, params={"purpose": PURPOSE}).status_code == 405  # not in a URL
    r = client.post(url, json={"purpose": PURPOSE}, headers=csrf)
    assert r.status_code == 200
    body = r.json()
    assert body["date_of_birth"] == "**/**/1990" and "1990-03-14" not in r.text
    assert [m["prison_number"] for m in body["cellmates"]] == ["C3456DE", "E5678FG", "B2345CD"]
    assert body["takedowns"][0]["notices"][1]["number"] == 2
    assert [e.purpose for e in events(session, "prisoner.dossier")] == [PURPOSE]


def test_reveal_dob(as_role, world, session):
    client, user = as_role("analyst")
    reveal = f"{DOSSIER}/reveal-dob"
    assert client.get(reveal).status_code == 405
    token = page_csrf(client, DOSSIER)
    page = client.post(DOSSIER, data={"purpose": PURPOSE, "csrf_token": token}).text
    assert f'action="{reveal}"' in page and f'value="{PURPOSE}"' in page
    assert client.post(reveal, data={"purpose": PURPOSE}).status_code == 403  # no CSRF
    assert events(session, "prisoner.reveal_dob") == []
    fragment = client.post(reveal, data={"purpose": PURPOSE},
                           headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert fragment.status_code == 200 and "14 Mar 1990" in fragment.text
    assert "<html" not in fragment.text
    full = client.post(reveal, data={"purpose": PURPOSE, "csrf_token": token})
    assert full.status_code == 200 and "14 Mar 1990" in full.text and "cellking" in full.text
    reveals = events(session, "prisoner.reveal_dob")
    assert [(e.purpose, e.actor_name) for e in reveals] == [(PURPOSE, user.username)] * 2
    assert json.loads(reveals[0].object_ids) == [str(world.target.id)]
    bad = client.post(reveal, data={"purpose": "", "csrf_token": token})
    assert bad.status_code == 422


def test_reveal_dob_api_with_a_key_needs_no_csrf(client, world, make_user, session, settings):
    user = make_user("analyst")
    _, key = apikeys.create(session, settings, TEST_ACTOR, user, name="test", days=1)
    session.commit()
    auth = {"Authorization": f"Bearer {key}"}
    r = client.post("/api/v1/prisoners/a1234bc/reveal-dob", json={"purpose": PURPOSE},
                    headers=auth)
    assert r.status_code == 200
    assert r.json() == {"prison_number": "A1234BC", "date_of_birth": "1990-03-14"}
    assert client.get("/api/v1/prisoners/a1234bc/reveal-dob", headers=auth).status_code == 405
    assert len(events(session, "prisoner.reveal_dob")) == 1


def test_a_withdrawn_image_shows_who_withdrew_it_and_why(as_role, world, session, make_user):
    supervisor = make_user("supervisor")
    world.erased_image.withdrawn_by = supervisor.id
    world.erased_image.withdrawal_reason = "Not from this account after all"
    session.add(world.erased_image)
    session.commit()
    client, _ = as_role("analyst")
    r = client.post(DOSSIER, data={"purpose": PURPOSE, "csrf_token": page_csrf(client, DOSSIER)})
    assert r.status_code == 200
    assert (f"withdrawn on 1 Jan 2026 12:00 GMT by {supervisor.username}: "
            "Not from this account after all") in r.text
    assert f"/images/{world.erased_image.id}/" not in r.text
