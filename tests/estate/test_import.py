"""The estate import, called as a service: what it writes, and that re-running it is safe."""

import json
from datetime import date

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.estate import service as svc
from app.estate.importing import import_folder
from app.estate.models import Cell, Occupancy, Prisoner, PrisonerAlias
from tests.conftest import TEST_ACTOR
from tests.estate.conftest import GOOD, counts, write_folder

BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def _summary(report):
    return {name: (c.created, c.updated, c.unchanged) for name, c in report.counts.items()}


@BOTH
def test_happy_path_creates_everything(session, tmp_path):
    report = import_folder(session, TEST_ACTOR, write_folder(tmp_path, {}))
    assert _summary(report) == {
        "establishments.csv": (2, 0, 0), "cells.csv": (4, 0, 0), "prisoners.csv": (3, 0, 0),
        "occupancy.csv": (4, 0, 0), "aliases.csv": (1, 0, 0)}
    assert counts(session) == {"Establishment": 2, "Cell": 4, "Prisoner": 3, "Occupancy": 4,
                               "PrisonerAlias": 1}
    ozturk = session.exec(select(Prisoner).where(Prisoner.prison_number == "B2345CD")).one()
    assert (ozturk.surname, ozturk.surname_key, ozturk.forenames) == ("Öztürk", "öztürk", "Ali")
    assert ozturk.date_of_birth == date(1985, 12, 1) and ozturk.release_date == date(2030, 1, 1)
    assert ozturk.victim_contact_restriction and not ozturk.category_a
    nowak = svc.get_prisoner(session, "C3456DE")
    assert nowak.category_a and not nowak.organised_crime_nominal
    cell = svc.find_cell(session, "MDI", "B-2-001")
    assert cell is not None and (cell.wing, cell.landing, cell.capacity) == ("B", "2", 1)
    a15 = svc.find_cell(session, "mdi", "a-1-015")
    assert [p.prison_number for p, _ in svc.occupants_on(session, a15.id, date(2025, 3, 1))] \
        == ["B2345CD", "A1234BC"]
    alias = session.exec(select(PrisonerAlias)).one()
    assert (alias.surname, alias.surname_key) == ("Smyth", "smyth")


def test_the_import_is_audited_once_without_personal_data(session, tmp_path):
    import_folder(session, TEST_ACTOR, write_folder(tmp_path, {}))
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "estate.import")).all()
    assert len(events) == 1
    details = json.loads(events[0].details)
    assert details["counts"]["prisoners.csv"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert set(details["sha256"]) == set(GOOD)
    text = events[0].details + events[0].object_ids
    for personal in ("Smith", "Öztürk", "A1234BC", "1990-02-03"):
        assert personal not in text
    # the import writes one event, not one per row
    assert session.exec(select(AuditEvent).where(
        AuditEvent.action.like("estate.%.create"))).all() == []


@BOTH
def test_reimport_is_idempotent(session, tmp_path):
    folder = write_folder(tmp_path, {})
    import_folder(session, TEST_ACTOR, folder)
    before = counts(session)
    again = import_folder(session, TEST_ACTOR, folder)
    assert _summary(again) == {
        "establishments.csv": (0, 0, 2), "cells.csv": (0, 0, 4), "prisoners.csv": (0, 0, 3),
        "occupancy.csv": (0, 0, 4), "aliases.csv": (0, 0, 1)}
    assert counts(session) == before


def test_a_changed_name_is_one_update(session, tmp_path):
    import_folder(session, TEST_ACTOR, write_folder(tmp_path, {}))
    rows = list(GOOD["prisoners.csv"])
    rows[0] = rows[0].replace("Smith", "Smythe")
    report = import_folder(session, TEST_ACTOR, write_folder(tmp_path, {"prisoners.csv": rows}))
    assert _summary(report)["prisoners.csv"] == (0, 1, 2)
    assert sum(c.updated for c in report.counts.values()) == 1
    smith = svc.get_prisoner(session, "A1234BC")
    assert (smith.surname, smith.surname_key) == ("Smythe", "smythe")


@BOTH
def test_reimport_closes_a_stay_and_moves_a_cell(session, tmp_path):
    import_folder(session, TEST_ACTOR, write_folder(tmp_path, {}))
    stays = list(GOOD["occupancy.csv"])
    stays[2] = "B2345CD,MDI,A-1-015,2024-06-01,2025-05-01"  # closed
    stays.append("B2345CD,MDI,B-2-001,2025-05-01,")  # moved on the same day
    stays[3] = "C3456DE,MDI,A-1-014,2024-01-10,2024-12-31"  # corrected cell
    report = import_folder(session, TEST_ACTOR, write_folder(tmp_path, {"occupancy.csv": stays}))
    assert _summary(report)["occupancy.csv"] == (1, 2, 2)
    ozturk = svc.get_prisoner(session, "B2345CD")
    history = [(c.label, o.starts_on, o.ends_on)
               for o, c, _ in svc.prisoner_stays(session, ozturk.id)]
    assert history == [("B-2-001", date(2025, 5, 1), None),
                       ("A-1-015", date(2024, 6, 1), date(2025, 5, 1))]
    nowak = svc.get_prisoner(session, "C3456DE")
    assert [c.label for _, c, _ in svc.prisoner_stays(session, nowak.id)] == ["A-1-014"]


def test_rows_held_but_not_in_the_files_are_left_alone(session, tmp_path, estate):
    # held: MDI with A-1-014 and A-1-015, Smith A1234BC and Jones B2345CD with stays
    files = {"establishments.csv": ["LEI,HMP Leicester,B,Midlands"],
             "cells.csv": ["LEI,A-1-001,1"],
             "prisoners.csv": ["D4567EF,Khan,Imran,1995-01-01,,N,N,N"],
             # references a held cell and a held prisoner as well as new ones
             "occupancy.csv": ["D4567EF,MDI,A-1-015,2025-04-01,",
                               "A1234BC,MDI,A-1-014,2024-06-01,2024-12-31"],
             "aliases.csv": None}
    report = import_folder(session, TEST_ACTOR, write_folder(tmp_path, files, base={}))
    assert "aliases.csv" not in report.counts
    assert _summary(report)["occupancy.csv"] == (2, 0, 0)
    assert counts(session) == {"Establishment": 2, "Cell": 3, "Prisoner": 3, "Occupancy": 5,
                               "PrisonerAlias": 0}
    smith_stays = svc.prisoner_stays(session, estate.smith.id)
    assert [o.starts_on for o, _, _ in smith_stays] == [
        date(2025, 3, 1), date(2025, 1, 1), date(2024, 6, 1)]


def test_header_order_case_bom_crlf_and_blank_lines_are_accepted(session, tmp_path):
    cells = ("\ufeffCapacity, LABEL ,Establishment_Code\r\n2,A-1-014,MDI\r\n\r\n"
             "1,\"A-1-015\",MDI\r\n")
    files = {"cells.csv": cells, "occupancy.csv": GOOD["occupancy.csv"][:2],
             "prisoners.csv": GOOD["prisoners.csv"][:1], "aliases.csv": None,
             "establishments.csv": GOOD["establishments.csv"][:1]}
    report = import_folder(session, TEST_ACTOR, write_folder(tmp_path, files))
    assert _summary(report)["cells.csv"] == (2, 0, 0)
    assert session.exec(select(Cell.label, Cell.capacity).order_by(Cell.label)).all() == [
        ("A-1-014", 2), ("A-1-015", 1)]


@BOTH
def test_import_then_services_see_current_values(session, tmp_path, estate):
    """Objects loaded before an import show its values afterwards (no stale identity map)."""
    assert estate.smith.surname == "Smith"
    files = {"establishments.csv": [], "cells.csv": [], "occupancy.csv": [], "aliases.csv": None,
             "prisoners.csv": ["A1234BC,Smith-Jones,John,1990-02-03,,N,N,N"]}
    import_folder(session, TEST_ACTOR, write_folder(tmp_path, files, base={}))
    assert estate.smith.surname == "Smith-Jones"
    assert session.get(Occupancy, estate.first.id).ends_on == date(2025, 3, 1)


def test_progress_is_shown_on_stderr_when_asked(session, tmp_path, capsys):
    import_folder(session, TEST_ACTOR, write_folder(tmp_path, {}), progress=True)
    captured = capsys.readouterr()
    assert "reading prisoners.csv" in captured.err and "writing" in captured.err
    assert captured.out == ""
    import_folder(session, TEST_ACTOR, write_folder(tmp_path, {}))
    assert capsys.readouterr().err == ""
