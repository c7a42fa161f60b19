"""Tables of the estate: where prisoners are held, and when."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.types import TypeEngine
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


def search_key(length: int) -> TypeEngine[str]:
    """Name keys compare by code point on every database ("C" on PostgreSQL, whatever the
    database's own collation), so a prefix search is an exact index range."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Establishment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=3, unique=True)  # e.g. MDI
    name: str = Field(max_length=128)
    category: str = Field(default="", max_length=32)  # e.g. B, C, YOI, Female closed
    region: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Cell(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("establishment_id", "label",
                                       name="uq_cell_establishment_label"),)

    id: int | None = Field(default=None, primary_key=True)
    establishment_id: int = Field(foreign_key="establishment.id", index=True)
    label: str = Field(max_length=32)  # WING-LANDING-CELL, e.g. A-1-014
    wing: str = Field(max_length=8)
    landing: str = Field(max_length=8)
    capacity: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Prisoner(SQLModel, table=True):
    __table_args__ = (
        Index("ix_prisoner_surname_forenames", "surname_key", "forenames_key"),
        Index("ix_prisoner_surname_dob", "surname_key", "date_of_birth"),
    )

    id: int | None = Field(default=None, primary_key=True)
    prison_number: str = Field(max_length=7, unique=True)  # A1234BC
    surname: str = Field(max_length=64)
    forenames: str = Field(max_length=128)
    surname_key: str = Field(sa_type=search_key(64))  # casefolded, for search
    forenames_key: str = Field(sa_type=search_key(128))
    date_of_birth: date
    release_date: date | None = None
    # Flags that raise the priority of an account attributed to this prisoner.
    victim_contact_restriction: bool = False
    organised_crime_nominal: bool = False
    category_a: bool = False
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PrisonerAlias(SQLModel, table=True):
    __tablename__ = "prisoner_alias"
    __table_args__ = (UniqueConstraint("prisoner_id", "surname_key", "forenames_key",
                                       name="uq_prisoner_alias_name"),)

    id: int | None = Field(default=None, primary_key=True)
    prisoner_id: int = Field(foreign_key="prisoner.id", index=True)
    surname: str = Field(max_length=64)
    forenames: str = Field(default="", max_length=128)
    surname_key: str = Field(sa_type=search_key(64), index=True)
    forenames_key: str = Field(default="", sa_type=search_key(128))


class Occupancy(SQLModel, table=True):
    """A prisoner's stay in a cell, by day: both days inclusive; no end means current."""

    __table_args__ = (
        UniqueConstraint("prisoner_id", "starts_on", name="uq_occupancy_prisoner_start"),
        Index("ix_occupancy_cell_dates", "cell_id", "starts_on", "ends_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    prisoner_id: int = Field(foreign_key="prisoner.id", index=True)
    cell_id: int = Field(foreign_key="cell.id")
    starts_on: date
    ends_on: date | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
