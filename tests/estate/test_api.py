"""The estate JSON API: same services, same permissions, same audit."""

import json

from sqlmodel import select

from app.audit.models import AuditEvent
from app.estate import service as svc
from tests.conftest import page_csrf
from tests.estate.conftest import counts

API = "/api/v1/estate"


def _send(client, method, path, body):
    return client.request(method, f"{API}{path}", json=body,
                          headers={"X-CSRF-Token": page_csrf(client, "/estate")})


def _events(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)
                        .order_by(AuditEvent.id)).all()


def test_reading_the_estate(as_role, estate):
    client, _ = as_role("analyst")
    assert client.get(f"{API}/establishments").json() == [
        {"code": "MDI", "name": "HMP Moorland", "category": "C", "region": "Yorkshire",
         "cells": 2}]
    page = client.get(f"{API}/establishments/mdi/cells?wing=A&limit=1").json()
    assert page["total"] == 2 and [c["label"] for c in page["cells"]] == ["A-1-014"]
    assert page["cells"][0] | {"id": 0} == {"id": 0, "establishment_code": "MDI",
                                            "label": "A-1-014", "wing": "A", "landing": "1",
                                            "capacity": 1}


def test_cell_occupancy_is_audited(as_role, session, estate):
    client, user = as_role("analyst")
    history = client.get(f"{API}/establishments/MDI/cells/A-1-014/occupancy").json()
    assert [(s["prison_number"], s["starts_on"], s["ends_on"]) for s in history] == [
        ("B2345CD", "2025-03-02", None), ("A1234BC", "2025-01-01", "2025-03-01")]
    on = client.get(f"{API}/establishments/MDI/cells/A-1-014/occupancy?on=2025-03-01").json()
    assert [s["prison_number"] for s in on] == ["A1234BC"]
    empty = client.get(f"{API}/establishments/MDI/cells/A-1-014/occupancy?on=2020-01-01")
    assert empty.json() == []
    reads = _events(session, "estate.read")
    assert len(reads) == 2  # the empty answer showed nobody
    assert json.loads(reads[1].object_ids) == [str(estate.smith.id)]
    assert reads[0].actor_name == user.username


def test_prisoner_dates_only_for_editors(as_role, client, session, estate):
    analyst, _ = as_role("analyst")
    body = analyst.get(f"{API}/prisoners/A1234BC").json()
    assert body["surname"] == "Smith" and body["date_of_birth"] is None
    client.cookies.clear()
    supervisor, _ = as_role("supervisor")
    assert supervisor.get(f"{API}/prisoners/A1234BC").json()["date_of_birth"] == "1990-02-03"
    assert len(_events(session, "estate.read")) == 2


def test_supervisor_writes_through_the_api(as_role, session, estate):
    client, _ = as_role("supervisor")
    r = _send(client, "POST", "/establishments", {"code": "lei", "name": "HMP Leicester"})
    assert r.status_code == 201 and r.json()["code"] == "LEI"
    r = _send(client, "PUT", "/establishments/LEI", {"name": "HMP Leicester", "category": "B"})
    assert r.status_code == 200 and r.json()["category"] == "B"
    r = _send(client, "POST", "/establishments/LEI/cells", {"label": "b-2-001", "capacity": 2})
    assert r.status_code == 201 and r.json()["label"] == "B-2-001"
    r = _send(client, "PUT", "/establishments/LEI/cells/B-2-001", {"capacity": 1})
    assert r.status_code == 200 and r.json()["capacity"] == 1
    r = _send(client, "POST", "/prisoners", {"prison_number": "d4567ef", "surname": "Khan",
                                             "date_of_birth": "1995-01-01"})
    assert r.status_code == 201 and r.json()["prison_number"] == "D4567EF"
    r = _send(client, "PUT", "/prisoners/D4567EF", {"surname": "Khan", "forenames": "Imran",
                                                    "date_of_birth": "1995-01-01"})
    assert r.status_code == 200 and r.json()["forenames"] == "Imran"
    r = _send(client, "POST", "/prisoners/D4567EF/stays", {
        "establishment_code": "LEI", "cell_label": "B-2-001", "starts_on": "2025-01-01"})
    assert r.status_code == 201 and r.json()["ends_on"] is None
    r = _send(client, "POST", "/prisoners/D4567EF/move", {
        "establishment_code": "MDI", "cell_label": "A-1-015", "on": "2025-05-01"})
    assert r.status_code == 201
    moved = r.json()
    assert (moved["establishment_code"], moved["cell_label"]) == ("MDI", "A-1-015")
    r = _send(client, "POST", f"/prisoners/D4567EF/stays/{moved['id']}/close",
              {"ends_on": "2025-06-01"})
    assert r.status_code == 200 and r.json()["ends_on"] == "2025-06-01"
    stays = client.get(f"{API}/prisoners/D4567EF/stays").json()
    assert [(s["cell_label"], s["starts_on"], s["ends_on"]) for s in stays] == [
        ("A-1-015", "2025-05-01", "2025-06-01"), ("B-2-001", "2025-01-01", "2025-05-01")]


def test_api_errors_are_json_with_a_message(as_role, session, estate):
    client, _ = as_role("supervisor")
    before = counts(session)
    r = _send(client, "POST", "/establishments", {"code": "L3I", "name": "x"})
    assert r.status_code == 422
    assert r.json() == {"error": "Cannot accept this",
                        "message": "code: should be 3 letters, e.g. MDI",
                        "detail": [{"field": "code", "message": "should be 3 letters, e.g. MDI"}]}
    r = _send(client, "POST", "/prisoners", {"prison_number": "D4567EF", "surname": "K",
                                             "date_of_birth": 0, "category_a": 1})
    assert r.status_code == 422  # a number is not a date, nor 1 a yes
    assert {p["field"] for p in r.json()["detail"]} == {"date_of_birth", "category_a"}
    r = _send(client, "POST", "/prisoners/A1234BC/stays", {
        "establishment_code": "MDI", "cell_label": "A-1-014", "starts_on": "2025-02-01"})
    assert r.status_code == 422 and "cannot be in two cells at once" in r.json()["message"]
    r = _send(client, "POST", "/prisoners/A1234BC/move", {
        "establishment_code": "MDI", "cell_label": "A-9-999", "on": "2025-06-01"})
    assert r.status_code == 404 and r.json()["message"] == "MDI has no cell labelled 'A-9-999'."
    r = _send(client, "POST", "/establishments/MDI/cells", {"label": "A-1-014"})
    assert r.status_code == 409
    r = _send(client, "PUT", "/establishments/MDI/cells/A-1-014", {"capacity": 0})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "capacity"
    r = _send(client, "POST", f"/prisoners/A1234BC/stays/{estate.jones_stay.id}/close",
              {"ends_on": "2025-06-01"})
    assert r.status_code == 404  # Jones's stay, not Smith's
    assert counts(session) == before


def test_analyst_cannot_write_through_the_api(as_role, session, estate):
    client, _ = as_role("analyst")
    for method, path, body in [
        ("POST", "/establishments", {"code": "LEI", "name": "x"}),
        ("PUT", "/establishments/MDI", {"name": "x"}),
        ("POST", "/establishments/MDI/cells", {"label": "A-1-099"}),
        ("PUT", "/establishments/MDI/cells/A-1-014", {"capacity": 2}),
        ("POST", "/prisoners", {"prison_number": "D4567EF", "surname": "K",
                                "date_of_birth": "1990-01-01"}),
        ("PUT", "/prisoners/A1234BC", {"surname": "K", "date_of_birth": "1990-01-01"}),
        ("POST", "/prisoners/A1234BC/move", {"establishment_code": "MDI",
                                             "cell_label": "A-1-014", "on": "2025-06-01"}),
        ("POST", f"/prisoners/A1234BC/stays/{estate.second.id}/close", {"ends_on": "2025-06-01"}),
    ]:
        r = _send(client, method, path, body)
        assert r.status_code == 403, path
        assert r.json()["message"] == "Your role does not allow this."
    assert svc.current_stay(session, estate.smith.id).id == estate.second.id
