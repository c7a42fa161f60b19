"""Estate pages as each role sees them."""

import json
from datetime import date

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.estate import service as svc
from app.estate.models import Cell, Establishment
from tests.conftest import TEST_ACTOR, page_csrf
from tests.estate.conftest import counts


def _events(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)
                        .order_by(AuditEvent.id)).all()


def _post(client, path, data, token_from="/estate"):
    return client.post(path, data={**data, "csrf_token": page_csrf(client, token_from)},
                       follow_redirects=False)


def test_the_nav_shows_estate_to_readers_only(as_role, client):
    analyst, _ = as_role("analyst")
    assert 'href="/estate"' in analyst.get("/").text
    client.cookies.clear()
    admin, _ = as_role("admin")
    assert 'href="/estate"' not in admin.get("/").text


def test_supervisor_adds_an_establishment_and_a_cell(as_role, session):
    client, user = as_role("supervisor")
    r = _post(client, "/estate", {"code": "mdi", "name": "HMP Moorland", "category": "C",
                                  "region": "Yorkshire"})
    assert r.status_code == 303 and r.headers["location"] == "/estate/MDI"
    page = client.get("/estate/MDI").text
    assert "MDI · HMP Moorland" in page and "Establishment MDI was added." in page
    r = _post(client, "/estate/MDI/cells", {"label": "a-1-014", "capacity": "2"}, "/estate/MDI")
    assert r.status_code == 303 and r.headers["location"] == "/estate/MDI/cells/A-1-014"
    cell = client.get("/estate/MDI/cells/A-1-014").text
    assert "Cell A-1-014 · HMP Moorland" in cell and "capacity 2" in cell
    assert "Nobody has been recorded in this cell." in cell
    [event] = _events(session, "estate.cell.create")
    assert event.actor_name == user.username
    assert _events(session, "estate.read") == []  # an empty cell shows nobody


def test_supervisor_edits_establishment_and_cell(as_role, session, estate):
    client, _ = as_role("supervisor")
    r = _post(client, "/estate/MDI", {"name": "HMP Moorland (Doncaster)", "category": "C",
                                      "region": "Yorkshire"}, "/estate/MDI")
    assert r.status_code == 303
    r = _post(client, "/estate/MDI/cells/A-1-014", {"capacity": "3"}, "/estate/MDI")
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Establishment, estate.mdi.id).name == "HMP Moorland (Doncaster)"
    assert session.get(Cell, estate.a14.id).capacity == 3


def test_cells_are_paginated_and_filtered_by_wing(as_role, session, estate):
    for n in range(60):
        svc.create_cell(session, TEST_ACTOR, establishment=estate.mdi, label=f"C-2-{n:03d}")
    svc.create_cell(session, TEST_ACTOR, establishment=estate.mdi, label="B-1-001")
    session.commit()
    client, _ = as_role("analyst")
    first = client.get("/estate/MDI").text
    assert "Cells (63)" in first and "Page 1 of 2" in first
    # by label: A-1-014, A-1-015, B-1-001, then C-2-000 ... C-2-059
    assert "A-1-014" in first and "C-2-046" in first and "C-2-047" not in first
    second = client.get("/estate/MDI?page=2").text
    assert "C-2-047" in second and "C-2-059" in second and "A-1-014" not in second
    wing = client.get("/estate/MDI?wing=b").text
    assert "Cells (1 on wing B)" in wing and "B-1-001" in wing and "C-2-000" not in wing
    # today Smith is in A-1-015 and Jones in A-1-014: counts, not names
    assert "Smith" not in first.upper().title() and "SMITH" not in first


def test_cell_page_shows_history_and_audits_the_names_shown(as_role, session, estate):
    client, user = as_role("analyst")
    page = client.get("/estate/MDI/cells/A-1-014").text
    assert "JONES, Tom" in page and "SMITH, John" in page
    assert "1 Jan 2025" in page and "1 Mar 2025" in page and "current" in page
    assert page.index("JONES") < page.index("SMITH")  # newest first
    assert "Move a prisoner into this cell" not in page  # no edit forms for analysts
    [event] = _events(session, "estate.read")
    assert event.actor_name == user.username and event.object_type == "prisoner"
    assert sorted(json.loads(event.object_ids)) == sorted([str(estate.smith.id),
                                                           str(estate.jones.id)])
    assert json.loads(event.details) == {"view": "cell page", "fields": ["name", "stays"]}


def test_prisoner_page_shows_date_of_birth_to_editors_only(as_role, client, session, estate):
    supervisor, _ = as_role("supervisor")
    page = supervisor.get("/estate/prisoners/A1234BC").text
    assert "A1234BC · SMITH, John" in page and "Born 3 Feb 1990" in page
    assert 'name="date_of_birth"' in page
    client.cookies.clear()
    analyst, _ = as_role("analyst")
    page = analyst.get("/estate/prisoners/a1234bc").text
    assert "A1234BC · SMITH, John" in page
    assert "1990-02-03" not in page and "Born" not in page and "<form method=\"post\" action" \
        "=\"/estate/prisoners/A1234BC\"" not in page
    editor_read, analyst_read = _events(session, "estate.read")
    assert json.loads(editor_read.details)["fields"] == [
        "aliases", "date_of_birth", "name", "release_date", "stays"]
    assert json.loads(analyst_read.details)["fields"] == ["aliases", "name", "stays"]
    assert analyst_read.object_ids == f'["{estate.smith.id}"]'


def test_find_a_prisoner_by_number(as_role, estate):
    client, _ = as_role("analyst")
    r = client.get("/estate/prisoners?number=a1234bc", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/estate/prisoners/A1234BC"
    missing = client.get("/estate/prisoners?number=Z9999ZZ")
    assert missing.status_code == 404 and "no prisoner with prison number" in missing.text
    bad = client.get("/estate/prisoners?number=12")
    assert bad.status_code == 422 and "is not a prison number" in bad.text


def test_supervisor_adds_and_edits_a_prisoner(as_role, session):
    client, _ = as_role("supervisor")
    assert client.get("/estate/prisoners/new").status_code == 200
    r = _post(client, "/estate/prisoners", {
        "prison_number": "d4567ef", "surname": " Khan ", "forenames": "Imran",
        "date_of_birth": "1995-01-01", "release_date": "", "category_a": "y"},
        "/estate/prisoners/new")
    assert r.status_code == 303 and r.headers["location"] == "/estate/prisoners/D4567EF"
    khan = svc.get_prisoner(session, "D4567EF")
    assert (khan.surname, khan.category_a, khan.organised_crime_nominal) == ("Khan", True, False)
    r = _post(client, "/estate/prisoners/D4567EF", {
        "surname": "Khan", "forenames": "Imran Ali", "date_of_birth": "1995-01-02",
        "release_date": "2030-06-30", "organised_crime_nominal": "y"},
        "/estate/prisoners/D4567EF")
    assert r.status_code == 303
    session.refresh(khan)
    assert (khan.forenames, khan.date_of_birth, khan.release_date, khan.category_a,
            khan.organised_crime_nominal) == ("Imran Ali", date(1995, 1, 2), date(2030, 6, 30),
                                              False, True)
    assert [e.action for e in _events(session, "estate.prisoner.update")] == [
        "estate.prisoner.update"]


def test_moves_closes_stays_and_aliases_through_the_pages(as_role, session, estate):
    client, _ = as_role("supervisor")
    page = "/estate/prisoners/A1234BC"
    r = _post(client, f"{page}/move", {"establishment_code": "mdi", "cell_label": "a-1-014",
                                       "on": "2025-06-01"}, page)
    assert r.status_code == 303
    assert [p.prison_number for p, _ in svc.occupants_on(session, estate.a14.id,
                                                         date(2025, 6, 1))] == [
        "B2345CD", "A1234BC"]
    current = svc.current_stay(session, estate.smith.id)
    r = _post(client, f"{page}/stays/{current.id}/close", {"ends_on": "2025-07-01"}, page)
    assert r.status_code == 303
    session.refresh(current)
    assert current.ends_on == date(2025, 7, 1)
    r = _post(client, f"{page}/stays", {"establishment_code": "MDI", "cell_label": "A-1-015",
                                        "starts_on": "2024-01-01", "ends_on": "2024-02-01"},
              page)
    assert r.status_code == 303
    r = _post(client, f"{page}/aliases", {"alias_surname": "Smyth", "alias_forenames": "Jon"},
              page)
    assert r.status_code == 303
    shown = client.get(page).text
    assert "SMYTH, Jon" in shown and "1 Feb 2024" in shown
    [alias] = svc.aliases_of(session, estate.smith.id)
    assert _post(client, f"{page}/aliases/{alias.id}/delete", {}, page).status_code == 303
    assert svc.aliases_of(session, estate.smith.id) == []
    # the cell page's form moves someone in too
    r = _post(client, "/estate/MDI/cells/A-1-015/occupants",
              {"prison_number": "b2345cd", "on": "2025-08-01"}, "/estate/MDI/cells/A-1-015")
    assert r.status_code == 303
    assert svc.current_stay(session, estate.jones.id).cell_id == estate.a15.id


@pytest.mark.parametrize("path, data, message", [
    ("/estate", {"code": "MD1", "name": "x"}, "&#39;MD1&#39; is not an establishment code"),
    ("/estate", {"code": "MDI", "name": "Again"}, "An establishment with code MDI already"),
    ("/estate/MDI/cells", {"label": "A1014", "capacity": "1"}, "is not a cell label"),
    ("/estate/MDI/cells", {"label": "A-1-099", "capacity": "lots"},
     "Capacity &#39;lots&#39; is not a whole number"),
    ("/estate/MDI/cells/A-1-014", {"capacity": "0"}, "Capacity &#39;0&#39; is not a whole"),
    ("/estate/prisoners/A1234BC", {"surname": "Smith", "date_of_birth": "03/02/1990"},
     "Date of birth &#39;03/02/1990&#39; is not a date in the form YYYY-MM-DD."),
    ("/estate/prisoners/A1234BC", {"surname": "", "date_of_birth": "1990-02-03"},
     "Surname is empty."),
    ("/estate/prisoners/A1234BC/move", {"establishment_code": "MDI", "cell_label": "A-1-014",
                                        "on": "2025-02-01"},
     "The move day must be after the current stay began (2025-03-01)"),
    ("/estate/prisoners/A1234BC/stays", {"establishment_code": "MDI", "cell_label": "A-1-014",
                                         "starts_on": "2025-02-01", "ends_on": "2025-02-10"},
     "A1234BC cannot be in two cells at once: this overlaps the stay in MDI A-1-014 from "
     "2025-01-01 to 2025-03-01."),
    ("/estate/MDI/cells/A-1-014/occupants", {"prison_number": "A1234", "on": "2025-06-01"},
     "&#39;A1234&#39; is not a prison number"),
    ("/estate/prisoners/A1234BC/move", {"establishment_code": "", "cell_label": "A-1-014",
                                        "on": "2025-06-01"}, "Establishment code is empty."),
    ("/estate/prisoners/A1234BC/move", {"establishment_code": "MDI", "cell_label": "A-1-014",
                                        "on": "tomorrow"},
     "The move day &#39;tomorrow&#39; is not a date in the form YYYY-MM-DD."),
    ("/estate/prisoners", {"prison_number": "D4567EF", "surname": "Khan",
                           "date_of_birth": "2999-01-01"}, "Date of birth 2999-01-01 is in the"),
])
def test_bad_input_is_refused_with_a_message_and_changes_nothing(as_role, session, estate,
                                                                 path, data, message):
    client, _ = as_role("supervisor")
    before = counts(session)
    changes = len(session.exec(select(AuditEvent).where(
        AuditEvent.action.like("estate.%"), AuditEvent.action != "estate.read")).all())
    r = _post(client, path, data, "/estate/MDI")
    assert r.status_code in (409, 422), r.text
    assert message in r.text
    assert 'class="flash flash-error"' in r.text
    session.expire_all()
    assert counts(session) == before
    assert svc.get_prisoner(session, "A1234BC").surname == "Smith"
    assert session.get(Cell, estate.a14.id).capacity == 1
    assert len(session.exec(select(AuditEvent).where(
        AuditEvent.action.like("estate.%"), AuditEvent.action != "estate.read")).all()) \
        == changes


def test_analyst_reads_but_cannot_edit(as_role, session, estate):
    client, _ = as_role("analyst")
    for path in ("/estate", "/estate/MDI", "/estate/MDI/cells/A-1-014",
                 "/estate/prisoners/A1234BC"):
        assert client.get(path).status_code == 200, path
    assert client.get("/estate/prisoners/new").status_code == 403
    before = counts(session)
    for path, data in [
        ("/estate", {"code": "LEI", "name": "HMP Leicester"}),
        ("/estate/MDI", {"name": "Renamed"}),
        ("/estate/MDI/cells", {"label": "A-1-099"}),
        ("/estate/MDI/cells/A-1-014", {"capacity": "4"}),
        ("/estate/MDI/cells/A-1-014/occupants", {"prison_number": "B2345CD", "on": "2025-06-01"}),
        ("/estate/prisoners", {"prison_number": "D4567EF", "surname": "K",
                               "date_of_birth": "1990-01-01"}),
        ("/estate/prisoners/A1234BC", {"surname": "X", "date_of_birth": "1990-01-01"}),
        ("/estate/prisoners/A1234BC/move", {"establishment_code": "MDI",
                                            "cell_label": "A-1-014", "on": "2025-06-01"}),
    ]:
        r = _post(client, path, data)
        assert r.status_code == 403 and "Your role does not allow this." in r.text, path
    session.expire_all()
    assert counts(session) == before
    assert session.get(Establishment, estate.mdi.id).name == "HMP Moorland"


def test_admin_sees_nothing_of_the_estate(as_role, session, estate):
    client, _ = as_role("admin")
    for path in ("/estate", "/estate/MDI", "/estate/MDI/cells/A-1-014",
                 "/estate/prisoners/A1234BC", "/estate/prisoners?number=A1234BC",
                 "/estate/prisoners/new", "/api/v1/estate/establishments",
                 "/api/v1/estate/establishments/MDI/cells",
                 "/api/v1/estate/establishments/MDI/cells/A-1-014/occupancy",
                 "/api/v1/estate/prisoners/A1234BC", "/api/v1/estate/prisoners/A1234BC/stays"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 403, path
        assert "SMITH" not in r.text and "Smith" not in r.text
    r = _post(client, "/estate", {"code": "LEI", "name": "x"}, "/admin/users")
    assert r.status_code == 403
    assert _events(session, "estate.read") == []


def test_a_form_without_its_csrf_token_is_refused(as_role, session, estate):
    client, _ = as_role("supervisor")
    r = client.post("/estate/MDI/cells/A-1-014", data={"capacity": "4"})
    assert r.status_code == 403
    session.expire_all()
    assert session.get(Cell, estate.a14.id).capacity == 1


def test_unknown_things_are_404_with_a_message(as_role, estate):
    client, _ = as_role("analyst")
    r = client.get("/estate/XYZ")
    assert r.status_code == 404 and "no establishment with code" in r.text
    r = client.get("/estate/MDI/cells/A-9-999")
    assert r.status_code == 404 and "MDI has no cell labelled" in r.text
