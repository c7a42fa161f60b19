"""The prisoner's side of a dossier: aliases, stays, cellmates, cell searches. One query each."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.cellsearch.models import CellSearch, CellSearchPrisoner
from app.estate.models import Cell, Establishment, Occupancy, Prisoner, PrisonerAlias
from app.estate.queries import prisoner_stays
from app.search.records import Alias, Cellmate, CellSearchItem, Place, Stay

CELLMATE_CAP = 200  # a long remand history in shared cells; the newest are the useful ones


def place(cell: Cell, establishment: Establishment) -> Place:
    return Place(establishment.code, establishment.name, cell.label)


def is_current(starts_on: date, ends_on: date | None, today: date) -> bool:
    return starts_on <= today and (ends_on is None or ends_on >= today)


def aliases(session: Session, prisoner_id: int) -> list[Alias]:
    rows = session.exec(
        select(PrisonerAlias).where(PrisonerAlias.prisoner_id == prisoner_id)
        .order_by(col(PrisonerAlias.surname_key), col(PrisonerAlias.forenames_key))
    ).all()
    return [Alias(a.surname, a.forenames) for a in rows]


def stays(session: Session, prisoner_id: int, today: date) -> list[Stay]:
    """Every stay, newest first, with its establishment and cell."""
    rows = prisoner_stays(session, prisoner_id)
    return [Stay(place(c, e), o.starts_on, o.ends_on, is_current(o.starts_on, o.ends_on, today))
            for o, c, e in rows]


def cellmates(session: Session, prisoner_id: int) -> tuple[list[Cellmate], bool]:
    """Other prisoners whose stays in the same cell overlap one of this prisoner's, both ends
    inclusive (so a shared move day counts), newest overlap first; and whether cut at the cap."""
    mine, theirs = aliased(Occupancy), aliased(Occupancy)
    overlapping = and_(
        theirs.cell_id == mine.cell_id, theirs.prisoner_id != prisoner_id,
        or_(col(mine.ends_on).is_(None), theirs.starts_on <= mine.ends_on),
        or_(col(theirs.ends_on).is_(None), mine.starts_on <= theirs.ends_on),
    )
    rows = session.exec(
        select(mine, theirs, Prisoner, Cell, Establishment)
        .join(theirs, overlapping)
        .join(Prisoner, col(Prisoner.id) == theirs.prisoner_id)
        .join(Cell, col(Cell.id) == mine.cell_id)
        .join(Establishment, col(Establishment.id) == Cell.establishment_id)
        .where(mine.prisoner_id == prisoner_id)
        .order_by(col(theirs.starts_on).desc(), col(Prisoner.prison_number))
        .limit(CELLMATE_CAP + 1)
    ).all()
    found = [
        Cellmate(p.prison_number, p.surname, p.forenames, place(c, e),
                 max(m.starts_on, t.starts_on), _earlier_end(m.ends_on, t.ends_on))
        for m, t, p, c, e in rows[:CELLMATE_CAP]
    ]
    found.sort(key=lambda mate: (mate.overlap_from, mate.prison_number), reverse=True)
    return found, len(rows) > CELLMATE_CAP


def _earlier_end(a: date | None, b: date | None) -> date | None:
    if a is None or b is None:
        return a if b is None else b
    return min(a, b)


def cell_searches(session: Session, prisoner_id: int) -> list[CellSearchItem]:
    rows = session.exec(
        select(CellSearch, Cell, Establishment)
        .join(CellSearchPrisoner, col(CellSearchPrisoner.cell_search_id) == CellSearch.id)
        .join(Cell, col(Cell.id) == CellSearch.cell_id)
        .join(Establishment, col(Establishment.id) == CellSearch.establishment_id)
        .where(CellSearchPrisoner.prisoner_id == prisoner_id)
        .order_by(col(CellSearch.requested_at).desc())
    ).all()
    return [
        CellSearchItem(s.id or 0, place(c, e), s.state, s.urgency, s.reason, s.requested_at,
                       s.searched_at, s.completed_at, s.phones, s.sim_cards, s.chargers,
                       s.other_items, s.other_description, s.outcome_note)
        for s, c, e in rows
    ]
