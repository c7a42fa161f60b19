"""Search and dossier services, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.errors import NotFound, Unprocessable
from app.search.criteria import PrisonerSearchCriteria
from app.search.service import RESULT_LIMIT, dossier, reveal_dob, search_prisoners
from tests.conftest import TEST_ACTOR
from tests.search.conftest import PURPOSE, add_prisoner, d

BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def numbers(result) -> list[str]:
    return [p.prison_number for p in result.prisoners]


def last_event(session, action: str) -> AuditEvent:
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)
                        .order_by(col(AuditEvent.id).desc())).first()


@BOTH
def test_prison_number_is_exact_and_case_insensitive(session, world):
    result = search_prisoners(session, TEST_ACTOR,
                              PrisonerSearchCriteria(prison_number=" a1234bc "))
    assert numbers(result) == ["A1234BC"]
    row = result.prisoners[0]
    assert row.date_of_birth == "**/**/1990"
    assert row.current and (row.current.establishment_code, row.current.cell_label) == \
        ("MDI", "B-2-003")
    assert numbers(search_prisoners(session, TEST_ACTOR,
                                    PrisonerSearchCriteria(prison_number="A1234BD"))) == []


@BOTH
def test_surname_with_forename_or_dob(session, world):
    add_prisoner(session, "F1111AA", "Smithson", "Paul", "1970-01-01")
    add_prisoner(session, "F1111AB", "SMITH", "Peter", "1990-03-14")
    by_forename = search_prisoners(session, TEST_ACTOR,
                                   PrisonerSearchCriteria(surname="SMI", forename="paul"))
    assert numbers(by_forename) == ["A1234BC", "F1111AA"]  # 'paul' is John Paul's 2nd name
    by_dob = search_prisoners(session, TEST_ACTOR,
                              PrisonerSearchCriteria(surname="smith", dob="1990-03-14"))
    assert numbers(by_dob) == ["A1234BC", "F1111AB"]
    both = search_prisoners(session, TEST_ACTOR, PrisonerSearchCriteria(
        surname="Smith", forename="Jo", dob="1990-03-14"))
    assert numbers(both) == ["A1234BC"]


@BOTH
def test_names_are_normalised_like_the_stored_keys(session, world):
    add_prisoner(session, "F2222AA", "Strauß", "Ｊürgen")  # fullwidth J, sharp s
    result = search_prisoners(session, TEST_ACTOR,
                              PrisonerSearchCriteria(surname="  STRAUSS ", forename="jürgen"))
    assert numbers(result) == ["F2222AA"]


@BOTH
def test_alias(session, world):
    assert numbers(search_prisoners(session, TEST_ACTOR, PrisonerSearchCriteria(alias="smy"))) == \
        ["A1234BC"]
    assert numbers(search_prisoners(session, TEST_ACTOR,
                                    PrisonerSearchCriteria(alias="smythe", forename="jack"))) == \
        ["A1234BC"]
    assert numbers(search_prisoners(session, TEST_ACTOR,
                                    PrisonerSearchCriteria(alias="smythe", forename="john"))) == []


@BOTH
def test_more_than_the_limit_shows_25_and_a_hint(session, world):
    for i in range(RESULT_LIMIT + 3):
        add_prisoner(session, f"G{i:04d}AA", "Patel", f"Ravi {i:02d}", "1980-01-01")
    result = search_prisoners(session, TEST_ACTOR,
                              PrisonerSearchCriteria(surname="patel", dob="1980-01-01"))
    assert len(result.prisoners) == RESULT_LIMIT and result.more
    assert "Refine your search" in result.hint
    event = last_event(session, "prisoner.search")
    shown_ids = session.exec(select(AuditEvent.object_ids).where(AuditEvent.id == event.id)).one()
    assert len(json.loads(shown_ids)) == RESULT_LIMIT
    exact = search_prisoners(session, TEST_ACTOR,
                             PrisonerSearchCriteria(surname="patel", forename="ravi 01"))
    assert numbers(exact) == ["G0001AA"] and not exact.more and exact.hint == ""


@BOTH
def test_like_wildcards_match_only_themselves(session, world):
    add_prisoner(session, "H1111AA", "Mc_Donald", "Ann")
    add_prisoner(session, "H1111AB", "McXDonald", "Ann")
    add_prisoner(session, "H1111AC", "A%B", "Ann")
    add_prisoner(session, "H1111AD", "AXB", "Ann")
    assert numbers(search_prisoners(
        session, TEST_ACTOR, PrisonerSearchCriteria(surname="mc_", forename="ann"))) == ["H1111AA"]
    assert numbers(search_prisoners(
        session, TEST_ACTOR, PrisonerSearchCriteria(surname="a%", forename="ann"))) == ["H1111AC"]
    assert numbers(search_prisoners(session, TEST_ACTOR,
                                    PrisonerSearchCriteria(surname="mc", forename="an%"))) == []
    with pytest.raises(Unprocessable, match="Wildcards"):
        search_prisoners(session, TEST_ACTOR, PrisonerSearchCriteria(surname="mc", forename="%"))


@BOTH
def test_search_audits_the_ids_shown_and_the_criteria(session, world):
    result = search_prisoners(session, TEST_ACTOR,
                              PrisonerSearchCriteria(surname="smith", forename="j"))
    event = last_event(session, "prisoner.search")
    assert json.loads(event.object_ids) == [str(world.target.id)]
    assert len(result.prisoners) == 1
    assert json.loads(event.details) == {"surname": "smith", "forename": "j", "shown": 1,
                                         "more": False}


@pytest.mark.parametrize("criteria, message", [
    (PrisonerSearchCriteria(surname="%", forename="x"), "Wildcards are not supported"),
    (PrisonerSearchCriteria(surname="s", forename="john"), "at least 2 letters"),
    (PrisonerSearchCriteria(surname="smith"), "Add a forename or a date of birth"),
    (PrisonerSearchCriteria(forename="john"), "Nothing to search for"),
    (PrisonerSearchCriteria(), "Nothing to search for"),
    (PrisonerSearchCriteria(prison_number="1234ABC"), "is not a prison number"),
    (PrisonerSearchCriteria(prison_number="A1234BC", surname="smith"), "prison number alone"),
    (PrisonerSearchCriteria(surname="smith", dob="14/03/1990"), "is not a date"),
    (PrisonerSearchCriteria(alias="_"), "Wildcards are not supported"),
])
def test_refused_searches_are_422_and_not_audited(session, criteria, message):
    before = last_event(session, "prisoner.search")
    with pytest.raises(Unprocessable, match=message):
        search_prisoners(session, TEST_ACTOR, criteria)
    assert last_event(session, "prisoner.search") == before


@BOTH
def test_dossier_contents(session, world):
    found = dossier(session, TEST_ACTOR, "a1234bc", f"  {PURPOSE} ", today=date(2026, 1, 1))
    assert (found.prison_number, found.date_of_birth) == ("A1234BC", "**/**/1990")
    assert "1990-03-14" not in json.dumps(found, default=str)
    assert found.flags == ["Organised crime nominal"]
    assert [(a.surname, a.forenames) for a in found.aliases] == [("Smythe", "Jack")]
    assert [(s.place.establishment_code, s.place.cell_label, s.starts_on, s.ends_on, s.current)
            for s in found.stays] == [
        ("MDI", "B-2-003", d("2024-06-01"), None, True),
        ("MDI", "A-1-014", d("2024-01-01"), d("2024-05-31"), False),
        ("LEI", "H-1-001", d("2023-01-01"), d("2023-12-31"), False),
    ]
    assert [(m.prison_number, m.place.cell_label, m.overlap_from, m.overlap_to)
            for m in found.cellmates] == [
        ("C3456DE", "B-2-003", d("2025-02-01"), None),
        ("E5678FG", "A-1-014", d("2024-05-31"), d("2024-05-31")),  # the move day
        ("B2345CD", "A-1-014", d("2024-01-01"), d("2024-03-01")),
    ]
    assert not found.cellmates_truncated
    assert [(a.handle, a.status) for a in found.accounts] == [("cellking", "confirmed"),
                                                              ("smithy_a1", "suggested")]
    confirmed = found.accounts[0]
    assert confirmed.attributions[0].basis == "MDI A-1-014, stay from 2024-01-01"
    assert confirmed.image_total == 2
    by_image = {e.image_id: e for e in confirmed.images}
    assert by_image[world.erased_image.id].erased
    links = by_image[world.evidence_image.id].matches
    assert [(m.method, m.distance, m.other_is) for m in links] == \
        [("phash", 3, ["reference photo of MDI A-1-014"])]
    (takedown,) = found.takedowns
    assert (takedown.state, takedown.notices_sent, takedown.handle) == ("removed", 2, "cellking")
    assert [n.number for n in takedown.notices] == [1, 2]
    (search,) = found.cell_searches
    assert (search.place.cell_label, search.phones, search.sim_cards, search.state) == \
        ("A-1-014", 2, 1, "completed")
    event = last_event(session, "prisoner.dossier")
    assert event.purpose == PURPOSE
    assert json.loads(event.object_ids) == [str(world.target.id)]


@BOTH
def test_dossier_needs_a_purpose_and_a_prisoner(session, world):
    for purpose in ("", "    ", "abc", "x" * 256):
        with pytest.raises(Unprocessable, match="purpose of 5 to 255"):
            dossier(session, TEST_ACTOR, "A1234BC", purpose)
    assert last_event(session, "prisoner.dossier") is None
    with pytest.raises(NotFound):
        dossier(session, TEST_ACTOR, "Z9999ZZ", PURPOSE)
    with pytest.raises(NotFound):
        dossier(session, TEST_ACTOR, "../etc", PURPOSE)


@BOTH
def test_reveal_dob_is_audited(session, world):
    assert reveal_dob(session, TEST_ACTOR, "a1234bc", PURPOSE) == d("1990-03-14")
    event = last_event(session, "prisoner.reveal_dob")
    assert (event.purpose, json.loads(event.object_ids)) == (PURPOSE, [str(world.target.id)])
    with pytest.raises(Unprocessable):
        reveal_dob(session, TEST_ACTOR, "A1234BC", "")
