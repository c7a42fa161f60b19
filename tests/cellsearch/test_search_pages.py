"""Cell-search pages: permissions, the request form, transitions, refusals and 409s."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.cellsearch.models import CellSearch, CellSearchPrisoner
from app.search.service import dossier
from tests.conftest import TEST_ACTOR, login, page_csrf

REASON = "Photo of the cell posted on Instagram"


def new_url(cells) -> str:
    return f"/attributions/{cells.confirmed.id}/search/new"


def post_url(cells) -> str:
    return f"/attributions/{cells.confirmed.id}/search"


def searches(session) -> list[CellSearch]:
    session.expire_all()
    return list(session.exec(select(CellSearch).order_by(col(CellSearch.id))).all())


def signed_in(client, cells):
    login(client, cells.user.username)
    return client, page_csrf(client)


def request_one(client, token, cells, **form) -> int:
    data = {"csrf_token": token, "reason": REASON, "urgency": "urgent",
            "prisoner": [cells.target.id, cells.mate.id]} | form
    r = client.post(post_url(cells), data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_only_analysts_and_supervisors(as_role, cells, role):
    client, _ = as_role(role)
    token = page_csrf(client)
    for path in ("/searches", "/searches/1", new_url(cells), "/api/v1/searches",
                 "/api/v1/searches/1"):
        assert client.get(path).status_code == 403, path
    for path in (post_url(cells), "/searches/1/acknowledge", "/searches/1/complete"):
        assert client.post(path, data={"csrf_token": token, "version": "1"}
                           ).status_code == 403, path


def test_the_request_form_offers_the_attributed_prisoner_and_occupants(client, cells, session):
    client, _ = signed_in(client, cells)
    page = client.get(new_url(cells))
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text and "MDI A-1-014" in page.text
    boxes = re.findall(r'name="prisoner" value="(\d+)"( checked)?', page.text)
    assert boxes == [(str(cells.target.id), " checked"), (str(cells.mate.id), " checked")]
    assert "C3456DE" not in page.text and "style=" not in page.text
    read = session.exec(select(AuditEvent).where(AuditEvent.action == "estate.read")).all()
    assert json.loads(read[-1].object_ids) == sorted([str(cells.target.id), str(cells.mate.id)])


def test_the_form_is_refused_for_an_unconfirmed_or_cell_less_attribution(client, cells):
    client, token = signed_in(client, cells)
    for attribution in (cells.suggested, cells.manual):
        r = client.get(f"/attributions/{attribution.id}/search/new")
        assert r.status_code == 422
        r = client.post(f"/attributions/{attribution.id}/search",
                        data={"csrf_token": token, "reason": REASON, "urgency": "routine",
                              "prisoner": [cells.target.id]})
        assert r.status_code == 422
    assert "only from a confirmed attribution" in client.get(
        f"/attributions/{cells.suggested.id}/search/new").text
    assert client.get("/attributions/999999/search/new").status_code == 404


def test_request_acknowledge_complete(client, cells, session):
    client, token = signed_in(client, cells)
    search_id = request_one(client, token, cells, prisoner=[cells.target.id])
    (search,) = searches(session)
    assert search.id == search_id and search.urgency == "urgent"
    assert set(session.exec(select(CellSearchPrisoner.prisoner_id)).all()) == {cells.target.id}
    page = client.get(f"/searches/{search_id}")
    assert page.status_code == 200 and "A1234BC" in page.text and "B2345CD" not in page.text
    assert f"Cell search {search_id} was requested." in page.text  # the flash
    assert f'action="/searches/{search_id}/acknowledge"' in page.text
    r = client.post(f"/searches/{search_id}/acknowledge",
                    data={"csrf_token": token, "version": "1"}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/searches/{search_id}")
    assert f'action="/searches/{search_id}/complete"' in page.text
    assert 'name="version" value="2"' in page.text
    r = client.post(f"/searches/{search_id}/complete", data={
        "csrf_token": token, "version": "2", "phones": "2", "sim_cards": "1", "chargers": "",
        "other_items": "1", "other_description": "a vape", "outcome_note": "two phones"},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    (search,) = searches(session)
    assert (search.state, search.version, search.phones, search.other_items) == \
        ("completed", 3, 2, 1)
    page = client.get(f"/searches/{search_id}").text
    assert "4 items recorded" in page and "a vape" in page and "Record outcome" not in page
    listing = client.get("/searches", params={"state": "completed", "establishment": "MDI"})
    assert f'href="/searches/{search_id}"' in listing.text
    assert f'href="/searches/{search_id}"' not in client.get(
        "/searches", params={"state": "requested"}).text
    assert client.get("/searches", params={"state": "lost"}).status_code == 422


def test_the_search_shows_in_the_prisoners_dossier(client, cells, session):
    client, token = signed_in(client, cells)
    search_id = request_one(client, token, cells)
    for number in ("A1234BC", "B2345CD"):
        found = dossier(session, TEST_ACTOR, number, "Checking the cell search shows")
        assert [s.cell_search_id for s in found.cell_searches] == [search_id]
        assert found.cell_searches[0].place.cell_label == "A-1-014"
    assert dossier(session, TEST_ACTOR, "C3456DE", "Checking").cell_searches == []


def test_bad_input_shows_the_form_again_and_changes_nothing(client, cells, session):
    client, token = signed_in(client, cells)
    r = client.post(post_url(cells), data={"csrf_token": token, "reason": "x",
                                           "urgency": "routine", "prisoner": [cells.target.id]})
    assert r.status_code == 422 and "reason of 5-2000" in r.text
    assert f'name="prisoner" value="{cells.target.id}" checked' in r.text
    assert f'name="prisoner" value="{cells.mate.id}">' in r.text  # stays unticked
    r = client.post(post_url(cells), data={"csrf_token": token, "reason": REASON,
                                           "urgency": "routine"})
    assert r.status_code == 422 and "at least one prisoner" in r.text
    r = client.post(post_url(cells), data={"csrf_token": token, "reason": REASON,
                                           "urgency": "routine", "prisoner": ["x"]})
    assert r.status_code == 422
    assert searches(session) == []
    search_id = request_one(client, token, cells)
    client.post(f"/searches/{search_id}/acknowledge", data={"csrf_token": token, "version": 1})
    for form, words in (({"phones": "-1"}, "whole number from 0 to 999"),
                        ({"phones": "two"}, "whole number"),
                        ({"other_items": "1"}, "Describe the other items"),
                        ({"searched_at": "2000-01-01T10:00"}, "before it was requested"),
                        ({"searched_at": "2999-01-01T10:00"}, "in the future"),
                        ({"searched_at": "yesterday"}, "not a date and time")):
        r = client.post(f"/searches/{search_id}/complete",
                        data={"csrf_token": token, "version": "2", **form})
        assert r.status_code == 422 and words in r.text, (form, r.text[:200])
        assert f'value="{next(iter(form.values()))}"' in r.text  # what was typed is kept
    (search,) = searches(session)
    assert (search.state, search.version) == ("acknowledged", 2)


def test_the_slower_of_two_people_gets_a_409_with_a_readable_message(client, cells, session):
    client, token = signed_in(client, cells)
    search_id = request_one(client, token, cells)
    ok = client.post(f"/searches/{search_id}/acknowledge",
                     data={"csrf_token": token, "version": "1"}, follow_redirects=False)
    assert ok.status_code == 303
    late = client.post(f"/searches/{search_id}/acknowledge",
                       data={"csrf_token": token, "version": "1"})
    assert late.status_code == 409
    assert "Someone else changed cell search" in late.text and "Reload the page" in late.text
    late = client.post(f"/searches/{search_id}/complete",
                       data={"csrf_token": token, "version": "1", "phones": "1"})
    assert late.status_code == 409 and 'value="1"' in late.text
    (search,) = searches(session)
    assert (search.state, search.version, search.phones) == ("acknowledged", 2, 0)


def test_a_second_request_for_the_same_cell_is_refused(client, cells, session):
    client, token = signed_in(client, cells)
    first = request_one(client, token, cells)
    assert f'href="/searches/{first}"' in client.get(new_url(cells)).text
    r = client.post(post_url(cells), data={"csrf_token": token, "reason": REASON,
                                           "urgency": "routine", "prisoner": [cells.target.id]})
    assert r.status_code == 409 and "still requested" in r.text
    assert len(searches(session)) == 1


def test_forms_without_the_csrf_token_are_refused(client, cells, session):
    client, _ = signed_in(client, cells)
    r = client.post(post_url(cells), data={"reason": REASON, "urgency": "routine",
                                           "prisoner": [cells.target.id]})
    assert r.status_code == 403 and searches(session) == []


def test_unknown_searches_are_404(client, cells):
    client, token = signed_in(client, cells)
    assert client.get("/searches/999999").status_code == 404
    for step in ("acknowledge", "complete"):
        r = client.post(f"/searches/999999/{step}", data={"csrf_token": token, "version": "1"})
        assert r.status_code == 404 and "no cell search 999999" in r.text


def test_the_account_panel_lists_the_accounts_searches(client, cells):
    client, token = signed_in(client, cells)
    account = cells.account.id
    assert "No cell search requested from this account." in client.get(
        f"/accounts/{account}/searches/panel").text
    search_id = request_one(client, token, cells)
    takedowns = client.get(f"/accounts/{account}/takedowns/panel").text
    assert f'hx-get="/accounts/{account}/searches/panel"' in takedowns  # loaded into it
    panel = client.get(f"/accounts/{account}/searches/panel").text
    assert f'href="/searches/{search_id}"' in panel and "requested" in panel
    assert client.get("/accounts/999999/searches/panel").status_code == 404
