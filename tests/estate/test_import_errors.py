"""Every kind of fault in an estate extract is reported by file and line, and nothing is written."""

import pytest

from app.estate.importing import ImportFailed, import_folder
from tests.conftest import TEST_ACTOR
from tests.estate.conftest import GOOD, counts, write_folder


def problems_of(session, folder):
    with pytest.raises(ImportFailed) as failed:
        import_folder(session, TEST_ACTOR, folder)
    return [str(p) for p in failed.value.problems]


def _with(name, index, row):
    rows = list(GOOD[name])
    if index is None:
        rows.append(row)
    else:
        rows[index] = row
    return {name: rows}


# (files to change, the one problem expected). Lines count the header as line 1.
CASES = {
    "bad prison number": (
        _with("prisoners.csv", 1, "B2345C,Öztürk,Ali,1985-12-01,,N,N,N"),
        ["prisoners.csv line 3: 'B2345C' is not a prison number (a letter, 4 digits, "
         "2 letters, e.g. A1234BC)",
         # the stays of the refused prisoner then name an unknown prisoner
         "occupancy.csv line 4: prisoner B2345CD is not in prisoners.csv and not already held"]),
    "bad date": (
        _with("prisoners.csv", 0, "A1234BC,Smith,John,03/02/1990,,N,N,N"),
        # the prisoner's stays and alias are not reported again
        ["prisoners.csv line 2: date of birth '03/02/1990' is not a date in the form "
         "YYYY-MM-DD"]),
    "impossible date": (
        _with("occupancy.csv", 3, "C3456DE,LEI,A-1-001,2024-01-10,2024-02-30"),
        ["occupancy.csv line 5: ends_on '2024-02-30' is not a real date"]),
    "end before start": (
        _with("occupancy.csv", 3, "C3456DE,LEI,A-1-001,2024-01-10,2024-01-09"),
        ["occupancy.csv line 5: the stay ends (2024-01-09) before it starts (2024-01-10)"]),
    "unknown establishment in cells": (
        _with("cells.csv", None, "XYZ,A-1-001,1"),
        ["cells.csv line 6: establishment XYZ is not in establishments.csv and not already "
         "held"]),
    "unknown cell": (
        _with("occupancy.csv", 3, "C3456DE,LEI,A-1-099,2024-01-10,"),
        ["occupancy.csv line 5: cell A-1-099 at LEI is not in cells.csv and not already held"]),
    "unknown establishment in occupancy": (
        _with("occupancy.csv", 3, "C3456DE,XYZ,A-1-001,2024-01-10,"),
        ["occupancy.csv line 5: establishment XYZ is not in establishments.csv and not "
         "already held"]),
    "unknown prisoner": (
        _with("occupancy.csv", None, "Z9999ZZ,LEI,A-1-001,2025-06-01,"),
        ["occupancy.csv line 6: prisoner Z9999ZZ is not in prisoners.csv and not already "
         "held"]),
    "unknown prisoner in aliases": (
        _with("aliases.csv", None, "Z9999ZZ,Nobody,"),
        ["aliases.csv line 3: prisoner Z9999ZZ is not in prisoners.csv and not already held"]),
    "duplicate establishment": (
        _with("establishments.csv", None, "mdi,Moorland again,C,"),
        ["establishments.csv line 4: establishment MDI appears twice: already on line 2"]),
    "duplicate cell": (
        _with("cells.csv", None, "MDI,a-1-014,1"),
        ["cells.csv line 6: cell MDI A-1-014 appears twice: already on line 2"]),
    "duplicate prisoner": (
        _with("prisoners.csv", None, "a1234bc,Smith,John,1990-02-03,,N,N,N"),
        ["prisoners.csv line 5: prison number A1234BC appears twice: already on line 2"]),
    "duplicate stay": (
        _with("occupancy.csv", None, "A1234BC,MDI,B-2-001,2025-01-01,2025-01-02"),
        ["occupancy.csv line 6: the stay of A1234BC starting 2025-01-01 appears twice: "
         "already on line 2"]),
    "overlapping stays": (
        _with("occupancy.csv", 0, "A1234BC,MDI,A-1-014,2025-01-01,2025-03-02"),
        ["occupancy.csv line 3: stay overlaps the stay from 2025-01-01 (line 2)"]),
    "missing column": (
        {"cells.csv": "establishment_code,label\nMDI,A-1-014\n"},
        ["cells.csv line 1: missing column(s): capacity"]),
    "extra column": (
        {"cells.csv": "establishment_code,label,capacity,notes\nMDI,A-1-014,1,x\n"},
        ["cells.csv line 1: unexpected column(s): notes (this file has the columns "
         "establishment_code, label, capacity)"]),
    "column named twice": (
        {"establishments.csv": "code,name,name,category,region\n"},
        ["establishments.csv line 1: column(s) named twice: name"]),
    "too many values": (
        _with("cells.csv", 1, "MDI,A-1-015,2,extra"),
        ["cells.csv line 3: 4 values, expected 3 (establishment_code, label, capacity); "
         "check for a stray comma",
         "occupancy.csv line 3: cell A-1-015 at MDI is not in cells.csv and not already held",
         "occupancy.csv line 4: cell A-1-015 at MDI is not in cells.csv and not already held"]),
    "not utf-8": (
        {"prisoners.csv": ("prison_number,surname,forenames,date_of_birth,release_date,"
                           "victim_contact_restriction,organised_crime_nominal,category_a\n"
                           "A1234BC,Smith,John,1990-02-03,,N,N,N\n"
                           "B2345CD,\xd6zt\xfcrk,Ali,1985-12-01,,N,N,N\n").encode("cp1252"),
         "occupancy.csv": [], "aliases.csv": None},
        ["prisoners.csv line 3: not UTF-8 text (byte 0xd6); save the file as CSV UTF-8"]),
    "utf-16": (
        {"establishments.csv": "code,name,category,region\nMDI,HMP Moorland,C,\n"
         .encode("utf-16"), "cells.csv": [], "occupancy.csv": [], "aliases.csv": None},
        ["establishments.csv line 1: not UTF-8 text (byte 0xff); save the file as CSV UTF-8"]),
    "empty file": (
        {"establishments.csv": ""},
        ["establishments.csv line 1: the first line must name the columns: "
         "code,name,category,region"]),
    "missing file": (
        {"occupancy.csv": None},
        [None]),  # the message names the folder; checked below
    "unexpected file": (
        {"alias.csv": "prison_number,surname,forenames\n"},
        ["alias.csv: not a file this import reads (expected aliases.csv, cells.csv, "
         "establishments.csv, occupancy.csv, prisoners.csv)"]),
    "bad flag and capacity and label on one line each": (
        {"cells.csv": GOOD["cells.csv"] + ["MDI,A1014,0"],
         "prisoners.csv": GOOD["prisoners.csv"] + ["D4567EF,Khan,,1995-01-01,,maybe,N,N"]},
        ["cells.csv line 6: 'A1014' is not a cell label (WING-LANDING-CELL, letters and "
         "digits, e.g. A-1-014)",
         "cells.csv line 6: capacity '0' is not a whole number from 1 to 99",
         "prisoners.csv line 5: victim_contact_restriction 'maybe' is not Y or N"]),
    "future birth and empty surname": (
        _with("prisoners.csv", 2, "C3456DE,,Piotr,2999-01-01,,N,N,N"),
        ["prisoners.csv line 4: surname is empty",
         "prisoners.csv line 4: date of birth 2999-01-01 is in the future"]),
    "two open stays": (
        _with("occupancy.csv", None, "A1234BC,MDI,B-2-001,2025-06-01,"),
        ["occupancy.csv line 6: stay overlaps the stay from 2025-03-01 (line 3)"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_fault_is_reported_by_file_and_line_and_nothing_is_written(session, tmp_path,
                                                                        case):
    files, expected = CASES[case]
    before = counts(session)
    problems = problems_of(session, write_folder(tmp_path, files))
    if expected == [None]:
        assert problems == [f"occupancy.csv: file missing from {tmp_path}"]
    else:
        assert problems == expected
    assert counts(session) == before


def test_one_bad_line_among_many_imports_nothing(session, tmp_path):
    prisoners = [f"A{n:04d}BC,Person,Number {n},1980-01-01,,N,N,N" for n in range(500)]
    prisoners[321] = "A0321BC,Person,Number 321,1980-13-01,,N,N,N"
    folder = write_folder(tmp_path, {"prisoners.csv": prisoners, "occupancy.csv": [],
                                     "aliases.csv": None})
    assert problems_of(session, folder) == [
        "prisoners.csv line 323: date of birth '1980-13-01' is not a real date"]
    assert counts(session) == {"Establishment": 0, "Cell": 0, "Prisoner": 0, "Occupancy": 0,
                               "PrisonerAlias": 0}


def test_all_problems_are_reported_not_just_the_first(session, tmp_path):
    stays = [f"A1234BC,MDI,A-1-014,2025-01-{d:02d},2025-01-{d + 1:02d}" for d in range(1, 10)]
    stays[4] = "A1234BC,MDI,A-1-014,2025-01-05,"  # open in the middle: overlaps all after it
    problems = problems_of(session, write_folder(tmp_path, {"occupancy.csv": stays,
                                                            "aliases.csv": None}))
    assert problems == [f"occupancy.csv line {n}: stay overlaps the stay from 2025-01-05 "
                        "(line 6)" for n in range(7, 11)]


def test_the_move_day_may_be_shared_but_not_one_day_more(session, tmp_path):
    shared = ["A1234BC,MDI,A-1-014,2025-01-01,2025-03-01", "A1234BC,MDI,A-1-015,2025-03-01,"]
    base = {"occupancy.csv": shared, "aliases.csv": None}
    import_folder(session, TEST_ACTOR, write_folder(tmp_path / "ok", base))
    one_more = ["A1234BC,MDI,A-1-014,2025-01-01,2025-03-02", "A1234BC,MDI,A-1-015,2025-03-01,"]
    assert problems_of(session, write_folder(tmp_path / "bad", {"occupancy.csv": one_more,
                                                                "aliases.csv": None})) == [
        "occupancy.csv line 3: stay overlaps the stay from 2025-01-01 (line 2)"]


def test_overlaps_with_stays_already_held_are_found(session, tmp_path, estate):
    # held: Smith (A1234BC) in A-1-014 2025-01-01..2025-03-01 then A-1-015 from 2025-03-01
    base = {"establishments.csv": [], "cells.csv": [], "prisoners.csv": [], "aliases.csv": None}
    later = write_folder(tmp_path / "a", {"occupancy.csv": [
        "A1234BC,MDI,A-1-014,2025-04-01,2025-04-10"]}, base=base)
    assert problems_of(session, later) == [
        "occupancy.csv line 2: stay overlaps the stay from 2025-03-01 (already held)"]
    earlier = write_folder(tmp_path / "b", {"occupancy.csv": [
        "A1234BC,MDI,A-1-015,2024-12-01,"]}, base=base)
    assert problems_of(session, earlier) == [  # it overlaps both held stays
        "occupancy.csv line 2: stay overlaps the stay from 2025-01-01 (already held)",
        "occupancy.csv line 2: stay overlaps the stay from 2025-03-01 (already held)"]
    # closing the held open stay on the day a new one starts is accepted in one file
    fixed = write_folder(tmp_path / "c", {"occupancy.csv": [
        "A1234BC,MDI,A-1-015,2025-03-01,2025-04-01",
        "A1234BC,MDI,A-1-014,2025-04-01,"]}, base=base)
    report = import_folder(session, TEST_ACTOR, fixed)
    assert (report.counts["occupancy.csv"].created, report.counts["occupancy.csv"].updated) \
        == (1, 1)


def test_a_folder_that_is_not_there(session, tmp_path):
    assert problems_of(session, tmp_path / "nope") == [f"{tmp_path / 'nope'}: not a folder"]
