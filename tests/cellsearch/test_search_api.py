"""The cell-search JSON API: the same services, API-key callers, 409 and 422 as JSON."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth import apikeys
from app.cellsearch.models import CellSearch
from tests.conftest import TEST_ACTOR

REASON = "Photo of the cell posted on Instagram"


@pytest.fixture
def api(client, cells, session, settings):
    _, key = apikeys.create(session, settings, TEST_ACTOR, cells.user, name="tests", days=1)
    session.commit()
    client.headers["Authorization"] = f"Bearer {key}"
    return client


def test_request_acknowledge_complete_over_the_api(api, cells, session):
    r = api.post("/api/v1/searches", json={"attribution_id": cells.confirmed.id,
                                           "reason": REASON, "urgency": "immediate"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "requested" and body["version"] == 1
    assert (body["establishment_code"], body["cell_label"]) == ("MDI", "A-1-014")
    assert body["prison_numbers"] == ["A1234BC", "B2345CD"]  # the default
    sid = body["id"]
    r = api.post(f"/api/v1/searches/{sid}/acknowledge", json={"version": 1})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    r = api.post(f"/api/v1/searches/{sid}/acknowledge", json={"version": 1})
    assert r.status_code == 409 and "Someone else changed" in r.json()["message"]
    r = api.post(f"/api/v1/searches/{sid}/complete", json={
        "version": 2, "items": {"phones": 2, "sim_cards": 1}, "outcome_note": "bed"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "completed" and body["items_total"] == 3
    assert body["seconds_to_search"] >= 0
    listing = api.get("/api/v1/searches", params={"state": "completed"}).json()
    assert listing["total"] == 1 and listing["searches"][0]["id"] == sid
    assert listing["searches"][0]["prison_numbers"] is None  # the list names nobody
    reads = session.exec(select(AuditEvent).where(AuditEvent.action == "estate.read")).all()
    assert {json.loads(e.details)["view"] for e in reads} == {"api cell search"}


def test_chosen_prisoners_and_refusals(api, cells, session):
    base = {"attribution_id": cells.confirmed.id, "reason": REASON}
    r = api.post("/api/v1/searches", json=base | {"prison_numbers": ["Z9999ZZ"]})
    assert r.status_code == 422 and "no prisoner with prison number" in r.json()["message"]
    r = api.post("/api/v1/searches", json=base | {"prison_numbers": ["C3456DE"]})
    assert r.status_code == 422 and "neither the attributed prisoner" in r.json()["message"]
    r = api.post("/api/v1/searches", json=base | {"urgency": "soon"})
    assert r.status_code == 422
    r = api.post("/api/v1/searches", json=base | {"attribution_id": cells.suggested.id})
    assert r.status_code == 422 and "confirmed" in r.json()["message"]
    assert session.exec(select(CellSearch)).all() == []
    r = api.post("/api/v1/searches", json=base | {"prison_numbers": ["b2345cd"]})
    assert r.status_code == 201 and r.json()["prison_numbers"] == ["B2345CD"]
    sid = r.json()["id"]
    api.post(f"/api/v1/searches/{sid}/acknowledge", json={"version": 1})
    r = api.post(f"/api/v1/searches/{sid}/complete",
                 json={"version": 2, "items": {"phones": -1}})
    assert r.status_code == 422
    r = api.post(f"/api/v1/searches/{sid}/complete",
                 json={"version": 2, "searched_at": "2000-01-01T10:00:00"})
    assert r.status_code == 422 and "before it was requested" in r.json()["message"]
    assert api.get("/api/v1/searches/999999").status_code == 404
