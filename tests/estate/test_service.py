"""Estate services: occupancy queries across day boundaries, stay changes, audit rows."""

import json
from datetime import date

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.errors import Conflict, NotFound, Unprocessable
from app.estate import service as svc
from tests.conftest import TEST_ACTOR


def _numbers(rows):
    return [p.prison_number for p, _ in rows]


def _events(session, action):
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)
                        .order_by(AuditEvent.id)).all()


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("day, a14, a15", [
    (date(2024, 12, 31), [], []),  # before the first stay
    (date(2025, 1, 1), ["A1234BC"], []),  # first day counts
    (date(2025, 2, 28), ["A1234BC"], []),
    (date(2025, 3, 1), ["A1234BC"], ["A1234BC"]),  # move day: in both cells
    (date(2025, 3, 2), ["B2345CD"], ["A1234BC"]),  # the last day has passed; Jones arrives
    (date(2031, 1, 1), ["B2345CD"], ["A1234BC"]),  # open stays are current
])
def test_occupants_on(session, estate, day, a14, a15):
    assert _numbers(svc.occupants_on(session, estate.a14.id, day)) == a14
    assert _numbers(svc.occupants_on(session, estate.a15.id, day)) == a15


def test_occupants_on_returns_the_stay_too(session, estate):
    [(prisoner, stay)] = svc.occupants_on(session, estate.a14.id, date(2025, 2, 1))
    assert prisoner.id == estate.smith.id and stay.id == estate.first.id
    assert (stay.starts_on, stay.ends_on) == (date(2025, 1, 1), date(2025, 3, 1))


def test_cell_history_and_prisoner_stays_are_newest_first(session, estate):
    assert [(p.prison_number, o.starts_on) for p, o in svc.cell_history(session, estate.a14.id)] \
        == [("B2345CD", date(2025, 3, 2)), ("A1234BC", date(2025, 1, 1))]
    assert [(c.label, o.ends_on) for o, c, _ in svc.prisoner_stays(session, estate.smith.id)] \
        == [("A-1-015", None), ("A-1-014", date(2025, 3, 1))]
    assert svc.current_stay(session, estate.smith.id).id == estate.second.id


def test_find_cell(session, estate):
    assert svc.find_cell(session, "MDI", "A-1-014").id == estate.a14.id
    assert svc.find_cell(session, " mdi ", "a-1-014").id == estate.a14.id
    assert svc.find_cell(session, "MDI", "A-1-999") is None
    assert svc.find_cell(session, "XYZ", "A-1-014") is None
    assert svc.find_cell(session, "not a code", "nonsense") is None


def test_move_closes_the_current_stay_on_the_move_day(session, estate):
    new = svc.move_prisoner(session, TEST_ACTOR, prisoner=estate.smith, cell=estate.a14,
                            on=date(2025, 6, 1))
    session.refresh(estate.second)
    assert estate.second.ends_on == date(2025, 6, 1)
    assert (new.cell_id, new.starts_on, new.ends_on) == (estate.a14.id, date(2025, 6, 1), None)
    event = _events(session, "estate.occupancy.move")[-1]
    assert json.loads(event.object_ids) == [str(new.id), str(estate.second.id)]
    assert json.loads(event.details) == {"prisoner_id": estate.smith.id,
                                         "from_cell_id": estate.a15.id,
                                         "to_cell_id": estate.a14.id}


@pytest.mark.parametrize("cell, day, message", [
    ("a15", date(2025, 6, 1), "A1234BC is already in that cell."),
    ("a14", date(2025, 3, 1), "The move day must be after the current stay began (2025-03-01)"),
    ("a14", date(2025, 2, 1), "The move day must be after the current stay began"),
])
def test_bad_moves_are_refused(session, estate, cell, day, message):
    with pytest.raises(Unprocessable, match=message.replace("(", r"\(").replace(")", r"\)")):
        svc.move_prisoner(session, TEST_ACTOR, prisoner=estate.smith,
                          cell=getattr(estate, cell), on=day)


def test_a_reception_opens_a_stay(session, estate):
    svc.close_stay(session, TEST_ACTOR, prisoner=estate.jones, stay=estate.jones_stay,
                   ends_on=date(2025, 4, 1))
    stay = svc.move_prisoner(session, TEST_ACTOR, prisoner=estate.jones, cell=estate.a15,
                             on=date(2025, 4, 1))
    assert stay.starts_on == date(2025, 4, 1)
    assert _numbers(svc.occupants_on(session, estate.a15.id, date(2025, 4, 1))) == [
        "A1234BC", "B2345CD"]


def test_add_stay_refuses_overlaps_but_allows_the_move_day(session, estate):
    with pytest.raises(Unprocessable, match="A1234BC cannot be in two cells at once: this "
                       "overlaps the stay in MDI A-1-014 from 2025-01-01 to 2025-03-01"):
        svc.add_stay(session, TEST_ACTOR, prisoner=estate.smith, cell=estate.a15,
                     starts_on=date(2024, 12, 1), ends_on=date(2025, 1, 2))
    with pytest.raises(Unprocessable, match="to now \\(current\\)"):
        svc.add_stay(session, TEST_ACTOR, prisoner=estate.smith, cell=estate.a14,
                     starts_on=date(2026, 1, 1))
    with pytest.raises(Unprocessable, match="ends \\(2024-01-01\\) before it starts"):
        svc.add_stay(session, TEST_ACTOR, prisoner=estate.smith, cell=estate.a14,
                     starts_on=date(2024, 6, 1), ends_on=date(2024, 1, 1))
    ok = svc.add_stay(session, TEST_ACTOR, prisoner=estate.smith, cell=estate.a15,
                      starts_on=date(2024, 12, 1), ends_on=date(2025, 1, 1))  # shares 1 Jan
    assert _events(session, "estate.occupancy.create")[-1].object_ids == f'["{ok.id}"]'


def test_close_stay(session, estate):
    with pytest.raises(Conflict, match="already ended on 2025-03-01"):
        svc.close_stay(session, TEST_ACTOR, prisoner=estate.smith, stay=estate.first,
                       ends_on=date(2025, 4, 1))
    with pytest.raises(Unprocessable, match="before it starts"):
        svc.close_stay(session, TEST_ACTOR, prisoner=estate.smith, stay=estate.second,
                       ends_on=date(2025, 2, 1))
    with pytest.raises(Unprocessable, match="belongs to another prisoner"):
        svc.close_stay(session, TEST_ACTOR, prisoner=estate.jones, stay=estate.second,
                       ends_on=date(2025, 4, 1))
    svc.close_stay(session, TEST_ACTOR, prisoner=estate.smith, stay=estate.second,
                   ends_on=date(2025, 3, 1))  # a one-day stay
    assert svc.current_stay(session, estate.smith.id) is None
    assert _events(session, "estate.occupancy.close")[-1].object_ids == \
        f'["{estate.second.id}"]'


def test_duplicates_are_conflicts(session, estate):
    with pytest.raises(Conflict, match="code MDI already exists"):
        svc.create_establishment(session, TEST_ACTOR, code="mdi", name="Again")
    with pytest.raises(Conflict, match="already has a cell labelled A-1-014"):
        svc.create_cell(session, TEST_ACTOR, establishment=estate.mdi, label="a-1-014")
    with pytest.raises(Conflict, match="A1234BC already exists"):
        svc.create_prisoner(session, TEST_ACTOR, prison_number="a1234bc", surname="X",
                            forenames="", date_of_birth=date(1990, 1, 1))


def test_bad_values_are_unprocessable_with_a_sentence(session, estate):
    with pytest.raises(Unprocessable, match=r"^'MD' is not an establishment code"):
        svc.create_establishment(session, TEST_ACTOR, code="MD", name="x")
    with pytest.raises(Unprocessable, match=r"^Name is empty\.$"):
        svc.create_establishment(session, TEST_ACTOR, code="ABC", name="  ")
    with pytest.raises(Unprocessable, match="is not a cell label"):
        svc.create_cell(session, TEST_ACTOR, establishment=estate.mdi, label="A1014")
    with pytest.raises(Unprocessable, match="^Capacity '0' is not a whole number from 1 to 99"):
        svc.update_cell(session, TEST_ACTOR, estate.a14, capacity="0")
    with pytest.raises(Unprocessable, match="release date is before the date of birth"):
        svc.update_prisoner(session, TEST_ACTOR, estate.smith, surname="Smith",
                            forenames="John", date_of_birth=date(1990, 2, 3),
                            release_date=date(1980, 1, 1), victim_contact_restriction=False,
                            organised_crime_nominal=False, category_a=False)


def test_updates_audit_the_fields_changed_not_their_values(session, estate):
    svc.update_prisoner(session, TEST_ACTOR, estate.smith, surname="Smythe", forenames="John",
                        date_of_birth=date(1990, 2, 4), release_date=None,
                        victim_contact_restriction=False, organised_crime_nominal=False,
                        category_a=True)
    event = _events(session, "estate.prisoner.update")[-1]
    assert json.loads(event.details) == {"changed": ["surname", "date_of_birth", "category_a"]}
    assert "Smythe" not in event.details and "1990" not in event.details
    assert estate.smith.surname_key == "smythe"
    # saving the same values again changes nothing and writes no event
    before = len(_events(session, "estate.prisoner.update"))
    svc.update_prisoner(session, TEST_ACTOR, estate.smith, surname="Smythe", forenames="John",
                        date_of_birth=date(1990, 2, 4), release_date=None,
                        victim_contact_restriction=False, organised_crime_nominal=False,
                        category_a=True)
    assert len(_events(session, "estate.prisoner.update")) == before
    svc.update_establishment(session, TEST_ACTOR, estate.mdi, name="HMP Moorland",
                             category="B", region="Yorkshire")
    assert json.loads(_events(session, "estate.establishment.update")[-1].details) == {
        "code": "MDI", "changed": ["category"]}


def test_every_creation_was_audited(session, estate):
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
               if e.action.startswith("estate.")]
    assert actions == ["estate.establishment.create", "estate.cell.create", "estate.cell.create",
                       "estate.prisoner.create", "estate.prisoner.create",
                       "estate.occupancy.create", "estate.occupancy.move",
                       "estate.occupancy.create"]


def test_aliases(session, estate):
    alias = svc.add_alias(session, TEST_ACTOR, estate.smith, surname="Smyth", forenames="Jon")
    with pytest.raises(Conflict, match="already has that alias"):
        svc.add_alias(session, TEST_ACTOR, estate.smith, surname="SMYTH", forenames="jon")
    svc.remove_alias(session, TEST_ACTOR, estate.smith, alias.id)
    assert svc.aliases_of(session, estate.smith.id) == []
    with pytest.raises(NotFound):
        svc.remove_alias(session, TEST_ACTOR, estate.smith, alias.id)


def test_reads_are_audited_only_when_someone_was_shown(session, estate):
    svc.record_prisoner_read(session, TEST_ACTOR, [], view="cell page")
    assert _events(session, "estate.read") == []
    svc.record_prisoner_read(session, TEST_ACTOR, [estate.jones.id, estate.smith.id,
                                                   estate.smith.id], view="cell page")
    [event] = _events(session, "estate.read")
    assert json.loads(event.object_ids) == sorted([str(estate.smith.id), str(estate.jones.id)],
                                                  key=int)
