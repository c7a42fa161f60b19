"""Estate fixtures: a small estate built through the services, and CSV folders for imports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from app.estate import service as svc
from app.estate.models import Cell, Establishment, Occupancy, Prisoner, PrisonerAlias
from tests.conftest import TEST_ACTOR

HEADERS = {
    "establishments.csv": "code,name,category,region",
    "cells.csv": "establishment_code,label,capacity",
    "prisoners.csv": "prison_number,surname,forenames,date_of_birth,release_date,"
                     "victim_contact_restriction,organised_crime_nominal,category_a",
    "occupancy.csv": "prison_number,establishment_code,cell_label,starts_on,ends_on",
    "aliases.csv": "prison_number,surname,forenames",
}

GOOD = {
    "establishments.csv": ["MDI,HMP Moorland,C,Yorkshire", "LEI,HMP Leicester,B,Midlands"],
    "cells.csv": ["MDI,A-1-014,1", "MDI,A-1-015,2", "MDI,B-2-001,1", "LEI,A-1-001,1"],
    "prisoners.csv": ["A1234BC,Smith,John Paul,1990-02-03,,N,Y,N",
                      "B2345CD,Öztürk,Ali,1985-12-01,2030-01-01,Y,N,N",
                      "C3456DE,Nowak,Piotr,1979-07-14,,no,no,yes"],
    "occupancy.csv": ["A1234BC,MDI,A-1-014,2025-01-01,2025-03-01",
                      "A1234BC,MDI,A-1-015,2025-03-01,",
                      "B2345CD,MDI,A-1-015,2024-06-01,",
                      "C3456DE,LEI,A-1-001,2024-01-10,2024-12-31"],
    "aliases.csv": ["A1234BC,Smyth,Jon"],
}


def write_folder(folder: Path, files: dict[str, list[str] | str | bytes],
                 base: dict[str, list[str]] | None = None) -> Path:
    """Write a CSV folder: `base` (default GOOD) with `files` replacing whole files.

    A list is rows under the standard header; a str or bytes is the file's whole content;
    None leaves the file out.
    """
    folder.mkdir(parents=True, exist_ok=True)
    merged: dict[str, object] = {**(GOOD if base is None else base), **files}
    for name, content in merged.items():
        path = folder / name
        if content is None:
            path.unlink(missing_ok=True)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text("\n".join([HEADERS[name], *content]) + "\n", encoding="utf-8")
    return folder


def counts(session: Session) -> dict[str, int]:
    return {m.__name__: session.exec(select(func.count()).select_from(m)).one()
            for m in (Establishment, Cell, Prisoner, Occupancy, PrisonerAlias)}


@dataclass
class Estate:
    mdi: Establishment
    a14: Cell
    a15: Cell
    smith: Prisoner
    jones: Prisoner
    first: Occupancy  # Smith in A-1-014 2025-01-01 .. 2025-03-01
    second: Occupancy  # Smith in A-1-015 from 2025-03-01 (current)
    jones_stay: Occupancy  # Jones in A-1-014 from 2025-03-02 (current)


@pytest.fixture
def estate(session: Session) -> Estate:
    mdi = svc.create_establishment(session, TEST_ACTOR, code="MDI", name="HMP Moorland",
                                   category="C", region="Yorkshire")
    a14 = svc.create_cell(session, TEST_ACTOR, establishment=mdi, label="A-1-014")
    a15 = svc.create_cell(session, TEST_ACTOR, establishment=mdi, label="A-1-015", capacity=2)
    smith = svc.create_prisoner(session, TEST_ACTOR, prison_number="A1234BC", surname="Smith",
                                forenames="John", date_of_birth=date(1990, 2, 3))
    jones = svc.create_prisoner(session, TEST_ACTOR, prison_number="B2345CD", surname="Jones",
                                forenames="Tom", date_of_birth=date(1988, 5, 6))
    first = svc.add_stay(session, TEST_ACTOR, prisoner=smith, cell=a14,
                         starts_on=date(2025, 1, 1))
    second = svc.move_prisoner(session, TEST_ACTOR, prisoner=smith, cell=a15,
                               on=date(2025, 3, 1))
    jones_stay = svc.add_stay(session, TEST_ACTOR, prisoner=jones, cell=a14,
                              starts_on=date(2025, 3, 2))
    session.commit()
    return Estate(mdi, a14, a15, smith, jones, first, second, jones_stay)
