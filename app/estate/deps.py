"""The estate rows a path names, loaded once per request or 404: used by pages and the API.

Routes list `who` (their guard) before these, so a caller without the permission is refused
before anything is looked up.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.db import SessionDep
from app.estate import queries
from app.estate.models import Cell, Establishment, Occupancy, Prisoner


def establishment_from_path(code: str, db: SessionDep) -> Establishment:
    return queries.get_establishment(db, code)


EstablishmentDep = Annotated[Establishment, Depends(establishment_from_path)]


def cell_from_path(est: EstablishmentDep, label: str, db: SessionDep) -> Cell:
    return queries.get_cell(db, est, label)


CellDep = Annotated[Cell, Depends(cell_from_path)]


def prisoner_from_path(number: str, db: SessionDep) -> Prisoner:
    return queries.get_prisoner(db, number)


PrisonerDep = Annotated[Prisoner, Depends(prisoner_from_path)]


def stay_from_path(prisoner: PrisonerDep, stay_id: int, db: SessionDep) -> Occupancy:
    return queries.get_stay(db, prisoner, stay_id)


StayDep = Annotated[Occupancy, Depends(stay_from_path)]
