"""Tables of cell searches: one search of a cell, and the prisoners it concerns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class CellSearch(SQLModel, table=True):
    __tablename__ = "cell_search"
    # the home page's counts and the list's state filter: one range of this index each
    __table_args__ = (Index("ix_cell_search_state_requested", "state", "requested_at"),)

    id: int | None = Field(default=None, primary_key=True)
    establishment_id: int = Field(foreign_key="establishment.id", index=True)
    cell_id: int = Field(foreign_key="cell.id", index=True)
    attribution_id: int | None = Field(default=None, foreign_key="attribution.id")
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    reason: str = Field(max_length=2000)
    urgency: str = Field(default="routine", max_length=16)  # immediate | urgent | routine
    state: str = Field(default="requested", max_length=16)  # requested|acknowledged|completed
    version: int = 1
    requested_by: int = Field(foreign_key="app_user.id")
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    searched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    phones: int = 0
    sim_cards: int = 0
    chargers: int = 0
    other_items: int = 0
    other_description: str = Field(default="", max_length=1000)
    outcome_note: str = Field(default="", max_length=2000)


class CellSearchPrisoner(SQLModel, table=True):
    __tablename__ = "cell_search_prisoner"

    cell_search_id: int = Field(foreign_key="cell_search.id", primary_key=True)
    prisoner_id: int = Field(foreign_key="prisoner.id", primary_key=True, index=True)
