"""Requesting, acknowledging and completing cell searches through the services."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.audit.service import Actor
from app.cellsearch import service as svc
from app.cellsearch.models import CellSearch, CellSearchPrisoner
from app.cellsearch.queries import detail, list_searches, time_to_search
from app.errors import Conflict, NotFound, Unprocessable
from app.web.dates import local_today
from tests.cellsearch.conftest import TZ

BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
REASON = "Photo of the cell posted on Instagram"


def actor(cells) -> Actor:
    return Actor(user_id=cells.user.id, name=cells.user.username)


def ask(session, cells, **kw) -> CellSearch:
    args = {"attribution_id": cells.confirmed.id, "reason": REASON, "urgency": "urgent",
            "prisoner_ids": None, "day": local_today(TZ)} | kw
    return svc.request_search(session, actor(cells), **args)


def events(session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                             .order_by(col(AuditEvent.id))).all())


def concerned(session, search: CellSearch) -> set[int]:
    return set(session.exec(select(CellSearchPrisoner.prisoner_id).where(
        CellSearchPrisoner.cell_search_id == search.id)).all())


@BOTH
def test_proposal_is_the_attributed_prisoner_and_todays_occupants(session, cells):
    proposal = svc.propose(session, cells.confirmed.id, local_today(TZ))
    offered = [(c.prisoner.prison_number, c.attributed, c.occupant) for c in proposal.candidates]
    assert offered == [("A1234BC", True, True), ("B2345CD", False, True)]  # not the former
    assert (proposal.establishment.code, proposal.cell.label) == ("MDI", "A-1-014")
    # a day when the former occupant was there and the mate was not
    old = svc.propose(session, cells.confirmed.id, local_today(TZ) - timedelta(days=40))
    assert [c.prisoner.prison_number for c in old.candidates] == ["A1234BC", "C3456DE"]


@BOTH
def test_request_with_the_default_prisoners(session, cells):
    search = ask(session, cells)
    assert (search.state, search.version, search.urgency) == ("requested", 1, "urgent")
    assert search.establishment_id == cells.mdi.id and search.cell_id == cells.cell.id
    assert search.account_id == cells.account.id and search.requested_by == cells.user.id
    assert concerned(session, search) == {cells.target.id, cells.mate.id}
    (event,) = events(session, "cell_search.request")
    assert json.loads(event.object_ids) == [str(search.id)]
    details = json.loads(event.details)
    assert details["cell"] == "A-1-014" and details["urgency"] == "urgent"
    assert details["prisoner_ids"] == sorted([cells.target.id, cells.mate.id])


def test_request_with_chosen_prisoners(session, cells):
    search = ask(session, cells, prisoner_ids=[cells.mate.id], urgency="Immediate")
    assert concerned(session, search) == {cells.mate.id} and search.urgency == "immediate"


@pytest.mark.parametrize(("change", "status", "words"), [
    ({"attribution_id": 999999}, NotFound, "no attribution"),
    ({"reason": "   hi "}, Unprocessable, "reason of 5-2000"),
    ({"urgency": "whenever"}, Unprocessable, "immediate, urgent or routine"),
    ({"prisoner_ids": []}, Unprocessable, "at least one prisoner"),
])
def test_request_refusals(session, cells, change, status, words):
    with pytest.raises(status, match=words):
        ask(session, cells, **change)
    assert session.exec(select(CellSearch)).all() == []


def test_only_offered_prisoners_may_be_chosen(session, cells):
    for stray in (cells.former.id, cells.elsewhere.id):
        with pytest.raises(Unprocessable, match="neither the attributed prisoner nor in MDI"):
            ask(session, cells, prisoner_ids=[cells.target.id, stray])


def test_only_from_a_confirmed_attribution_with_a_cell(session, cells):
    with pytest.raises(Unprocessable, match="is suggested: .* only from a confirmed"):
        ask(session, cells, attribution_id=cells.suggested.id)
    with pytest.raises(Unprocessable, match="names no cell"):
        ask(session, cells, attribution_id=cells.manual.id)
    assert session.exec(select(CellSearch)).all() == []


def test_one_open_search_per_cell(session, cells):
    first = ask(session, cells)
    with pytest.raises(Conflict, match=f"Cell search {first.id} of MDI A-1-014 is still"):
        ask(session, cells)
    svc.acknowledge(session, actor(cells), first.id, expected_version=1)
    with pytest.raises(Conflict):
        ask(session, cells)
    svc.complete(session, actor(cells), first.id, expected_version=2,
                 outcome=svc.Outcome(svc.Items()))
    assert ask(session, cells).id != first.id  # the cell can be searched again


@BOTH
def test_acknowledge_then_complete(session, cells):
    t0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    search = ask(session, cells, now=t0)
    svc.acknowledge(session, actor(cells), search.id, expected_version=1,
                    now=t0 + timedelta(minutes=10))
    assert (search.state, search.version) == ("acknowledged", 2)
    assert search.acknowledged_at == t0 + timedelta(minutes=10)
    items = svc.Items(phones=2, sim_cards=3, chargers=1, other_items=1,
                      other_description=" a vape ")
    done = svc.complete(session, actor(cells), search.id, expected_version=2, now=t0 + timedelta(
        hours=2), outcome=svc.Outcome(items, t0 + timedelta(minutes=55), " under the bed "))
    assert (done.state, done.version) == ("completed", 3)
    assert (done.phones, done.sim_cards, done.chargers, done.other_items) == (2, 3, 1, 1)
    assert done.other_description == "a vape" and done.outcome_note == "under the bed"
    assert done.searched_at == t0 + timedelta(minutes=55)
    assert done.completed_at == t0 + timedelta(hours=2)
    assert time_to_search(done) == timedelta(minutes=55)
    session.expire_all()  # what the database holds, not the session's copy
    again = session.get(CellSearch, search.id)
    assert (again.state, again.version, again.phones) == ("completed", 3, 2)
    assert [json.loads(e.details)["to"] for e in events(session, "cell_search.acknowledge")
            + events(session, "cell_search.complete")] == ["acknowledged", "completed"]
    assert json.loads(events(session, "cell_search.complete")[0].details)["items"] == 7
    assert detail(session, search.id).items.total == 7


def test_searched_at_defaults_to_when_the_outcome_is_recorded(session, cells):
    search = ask(session, cells)
    svc.acknowledge(session, actor(cells), search.id, expected_version=1)
    now = search.requested_at + timedelta(minutes=35)
    svc.complete(session, actor(cells), search.id, expected_version=2, now=now,
                 outcome=svc.Outcome(svc.Items()))
    assert search.searched_at == now and time_to_search(search) == timedelta(minutes=35)


@pytest.mark.parametrize(("outcome", "words"), [
    (svc.Outcome(svc.Items(phones=-1)), "phones must be between 0"),
    (svc.Outcome(svc.Items(chargers=1000)), "chargers must be between 0 and 999"),
    (svc.Outcome(svc.Items(other_items=2)), "Describe the other items"),
    (svc.Outcome(svc.Items(other_description="a knife")), "their number is 0"),
    (svc.Outcome(svc.Items(), datetime(2000, 1, 1, tzinfo=UTC)), "before it was requested"),
    (svc.Outcome(svc.Items(), datetime(2999, 1, 1, tzinfo=UTC)), "in the future"),
])
def test_outcome_refusals_change_nothing(session, cells, outcome, words):
    search = ask(session, cells)
    svc.acknowledge(session, actor(cells), search.id, expected_version=1)
    with pytest.raises(Unprocessable, match=words):
        svc.complete(session, actor(cells), search.id, expected_version=2, outcome=outcome)
    assert (search.state, search.version) == ("acknowledged", 2)


def test_steps_go_in_order(session, cells):
    search = ask(session, cells)
    with pytest.raises(Conflict, match="is requested: it cannot be completed"):
        svc.complete(session, actor(cells), search.id, expected_version=1,
                     outcome=svc.Outcome(svc.Items()))
    svc.acknowledge(session, actor(cells), search.id, expected_version=1)
    with pytest.raises(Conflict, match="is acknowledged: it cannot be acknowledged"):
        svc.acknowledge(session, actor(cells), search.id, expected_version=2)
    with pytest.raises(NotFound):
        svc.acknowledge(session, actor(cells), 999999, expected_version=1)


def test_a_stale_version_is_refused(session, cells):
    search = ask(session, cells)
    svc.acknowledge(session, actor(cells), search.id, expected_version=1)
    with pytest.raises(Conflict, match="Someone else changed cell search .* now acknowledged"):
        svc.acknowledge(session, actor(cells), search.id, expected_version=1)


@BOTH
def test_the_compare_and_set_catches_a_change_the_session_has_not_seen(session, cells):
    """Another writer moved the row on after this session read it: the UPDATE matches nothing."""
    search = ask(session, cells)
    assert search.version == 1  # the session's copy
    session.execute(update(CellSearch).where(col(CellSearch.id) == search.id).values(
        version=2, state="acknowledged").execution_options(synchronize_session=False))
    with pytest.raises(Conflict, match="Someone else changed .* now acknowledged"):
        svc.acknowledge(session, actor(cells), search.id, expected_version=1)
    assert events(session, "cell_search.acknowledge") == []


def test_list_filters(session, cells, make_user):
    first = ask(session, cells)
    svc.acknowledge(session, actor(cells), first.id, expected_version=1)
    svc.complete(session, actor(cells), first.id, expected_version=2,
                 outcome=svc.Outcome(svc.Items(phones=1)))
    second = ask(session, cells)
    rows, total = list_searches(session)
    assert total == 2 and [r.search.id for r in rows] == [second.id, first.id]
    rows, total = list_searches(session, state="completed", establishment_code="mdi")
    assert total == 1 and rows[0].search.id == first.id and rows[0].items.total == 1
    assert list_searches(session, establishment_code="LEI") == ([], 0)
    with pytest.raises(Unprocessable, match="State must be"):
        list_searches(session, state="lost")
