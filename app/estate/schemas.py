"""Shapes of the estate JSON API (`/api/v1/estate/...`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StrictBool

from app.estate.models import Cell, Establishment, Occupancy, Prisoner
from app.web.wire import Day, JsonInt

# The shapes app/estate/validation.py accepts, so that the document says what is refused.
# Lower case is accepted (and stored upper case); spaces around a value are not.
CODE = r"^[A-Za-z]{3}$"
LABEL = r"^[A-Za-z0-9]{1,8}-[A-Za-z0-9]{1,8}-[A-Za-z0-9]{1,6}$"
PRISON_NUMBER = r"^[A-Za-z][0-9]{4}[A-Za-z]{2}$"
SOME_TEXT = r"\S"  # not blank


class EstablishmentUpdate(BaseModel):
    name: str = Field(max_length=128, pattern=SOME_TEXT)
    category: str = Field(default="", max_length=32)
    region: str = Field(default="", max_length=64)


class EstablishmentIn(EstablishmentUpdate):
    code: str = Field(pattern=CODE, description="3 letters, e.g. MDI")


class EstablishmentOut(BaseModel):
    code: str
    name: str
    category: str
    region: str
    cells: int | None = None

    @classmethod
    def of(cls, est: Establishment, cells: int | None = None) -> EstablishmentOut:
        return cls(code=est.code, name=est.name, category=est.category, region=est.region,
                   cells=cells)


class CellUpdate(BaseModel):
    capacity: Annotated[int, Field(ge=1, le=99), JsonInt]


class CellIn(CellUpdate):
    label: str = Field(max_length=32, pattern=LABEL, description="WING-LANDING-CELL")
    capacity: Annotated[int, Field(ge=1, le=99), JsonInt] = 1


class CellOut(BaseModel):
    id: int
    establishment_code: str
    label: str
    wing: str
    landing: str
    capacity: int

    @classmethod
    def of(cls, cell: Cell, code: str) -> CellOut:
        return cls(id=cell.id or 0, establishment_code=code, label=cell.label, wing=cell.wing,
                   landing=cell.landing, capacity=cell.capacity)


class CellPage(BaseModel):
    total: int
    offset: int
    cells: list[CellOut]


class StayOut(BaseModel):
    id: int
    prison_number: str
    surname: str
    forenames: str
    establishment_code: str
    cell_label: str
    starts_on: date
    ends_on: date | None

    @classmethod
    def of(cls, stay: Occupancy, prisoner: Prisoner, code: str, label: str) -> StayOut:
        return cls(id=stay.id or 0, prison_number=prisoner.prison_number,
                   surname=prisoner.surname, forenames=prisoner.forenames,
                   establishment_code=code, cell_label=label, starts_on=stay.starts_on,
                   ends_on=stay.ends_on)


class PrisonerUpdate(BaseModel):
    surname: str = Field(max_length=64, pattern=SOME_TEXT)
    forenames: str = Field(default="", max_length=128)
    date_of_birth: Day
    release_date: Day | None = None
    # strict: a JSON API takes true/false, not 0, "yes" or "off" (pydantic's lax reading)
    victim_contact_restriction: StrictBool = False
    organised_crime_nominal: StrictBool = False
    category_a: StrictBool = False


class PrisonerIn(PrisonerUpdate):
    prison_number: str = Field(pattern=PRISON_NUMBER, description="e.g. A1234BC")


class PrisonerOut(BaseModel):
    """Date of birth and release date are given only to those who may edit the estate."""

    prison_number: str
    surname: str
    forenames: str
    date_of_birth: date | None = None
    release_date: date | None = None
    victim_contact_restriction: bool
    organised_crime_nominal: bool
    category_a: bool

    @classmethod
    def of(cls, p: Prisoner, *, dates: bool) -> PrisonerOut:
        return cls(prison_number=p.prison_number, surname=p.surname, forenames=p.forenames,
                   date_of_birth=p.date_of_birth if dates else None,
                   release_date=p.release_date if dates else None,
                   victim_contact_restriction=p.victim_contact_restriction,
                   organised_crime_nominal=p.organised_crime_nominal, category_a=p.category_a)


class StayIn(BaseModel):
    establishment_code: str = Field(pattern=CODE)
    cell_label: str = Field(max_length=32, pattern=LABEL)
    starts_on: Day
    ends_on: Day | None = None


class MoveIn(BaseModel):
    establishment_code: str = Field(pattern=CODE)
    cell_label: str = Field(max_length=32, pattern=LABEL)
    on: Day


class CloseIn(BaseModel):
    ends_on: Day
