"""Reads of the estate. None of these write; pages that show prisoners audit the read themselves
(`service.record_prisoner_read`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.estate import validation as v
from app.estate.models import Cell, Establishment, Occupancy, Prisoner, PrisonerAlias


def list_establishments(session: Session) -> list[tuple[Establishment, int]]:
    """Every establishment with its number of cells, by code."""
    cells = (select(Cell.establishment_id, func.count().label("n"))
             .group_by(col(Cell.establishment_id)).subquery())
    rows = session.exec(
        select(Establishment, func.coalesce(cells.c.n, 0))
        .join(cells, cells.c.establishment_id == Establishment.id, isouter=True)
        .order_by(col(Establishment.code))
    ).all()
    return [(est, int(n)) for est, n in rows]


def find_establishment(session: Session, code: str) -> Establishment | None:
    try:
        code = v.establishment_code(code)
    except ValueError:
        return None
    return session.exec(select(Establishment).where(Establishment.code == code)).first()


def get_establishment(session: Session, code: str) -> Establishment:
    found = find_establishment(session, code)
    if found is None:
        raise NotFound(f"There is no establishment with code {code.strip().upper()!r}.")
    return found


def find_cell(session: Session, establishment_code: str, label: str) -> Cell | None:
    """The cell labelled `label` at the establishment `establishment_code`, or None."""
    try:
        code = v.establishment_code(establishment_code)
        parsed = v.cell_label(label)
    except ValueError:
        return None
    return session.exec(
        select(Cell).join(Establishment, col(Establishment.id) == Cell.establishment_id)
        .where(Establishment.code == code, Cell.label == parsed.label)
    ).first()


def get_cell(session: Session, establishment: Establishment, label: str) -> Cell:
    cell = find_cell(session, establishment.code, label)
    if cell is None:
        raise NotFound(f"{establishment.code} has no cell labelled {label.strip().upper()!r}.")
    return cell


def wings_of(session: Session, establishment_id: int) -> list[str]:
    return list(session.exec(
        select(Cell.wing).where(Cell.establishment_id == establishment_id)
        .distinct().order_by(col(Cell.wing))
    ).all())


def list_cells(
    session: Session, establishment_id: int, *, wing: str = "", offset: int = 0, limit: int = 50
) -> tuple[list[Cell], int]:
    """One page of an establishment's cells (optionally one wing), by label, and the total."""
    where = [Cell.establishment_id == establishment_id]
    if wing:
        where.append(Cell.wing == wing.strip().upper())
    total = session.exec(select(func.count()).select_from(Cell).where(*where)).one()
    cells = session.exec(select(Cell).where(*where).order_by(col(Cell.label))
                         .offset(offset).limit(limit)).all()
    return list(cells), int(total)


def _on(day: date) -> list[ColumnElement[bool]]:
    return [col(Occupancy.starts_on) <= day,
            or_(col(Occupancy.ends_on).is_(None), col(Occupancy.ends_on) >= day)]


def occupant_counts(session: Session, cell_ids: Iterable[int], day: date) -> dict[int, int]:
    """How many prisoners each of these cells held on `day` (cells with none are left out)."""
    ids = list(cell_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(Occupancy.cell_id, func.count()).where(col(Occupancy.cell_id).in_(ids), *_on(day))
        .group_by(col(Occupancy.cell_id))
    ).all()
    return {cell_id: int(n) for cell_id, n in rows}


def occupants_on(session: Session, cell_id: int, day: date) -> list[tuple[Prisoner, Occupancy]]:
    """Who occupied the cell on `day`: both ends of a stay count, an open stay is current.

    On a move day both the prisoner leaving and the one arriving are returned.
    """
    rows = session.exec(
        select(Prisoner, Occupancy).join(Occupancy, col(Occupancy.prisoner_id) == Prisoner.id)
        .where(Occupancy.cell_id == cell_id, *_on(day))
        .order_by(col(Occupancy.starts_on), col(Prisoner.prison_number))
    ).all()
    return [(p, o) for p, o in rows]


def cell_history(session: Session, cell_id: int) -> list[tuple[Prisoner, Occupancy]]:
    """Every stay in the cell, newest first."""
    rows = session.exec(
        select(Prisoner, Occupancy).join(Occupancy, col(Occupancy.prisoner_id) == Prisoner.id)
        .where(Occupancy.cell_id == cell_id)
        .order_by(col(Occupancy.starts_on).desc(), col(Prisoner.prison_number))
    ).all()
    return [(p, o) for p, o in rows]


def prisoner_stays(
    session: Session, prisoner_id: int
) -> list[tuple[Occupancy, Cell, Establishment]]:
    """Every stay of the prisoner with its cell and establishment, newest first."""
    rows = session.exec(
        select(Occupancy, Cell, Establishment)
        .join(Cell, col(Cell.id) == Occupancy.cell_id)
        .join(Establishment, col(Establishment.id) == Cell.establishment_id)
        .where(Occupancy.prisoner_id == prisoner_id)
        .order_by(col(Occupancy.starts_on).desc())
    ).all()
    return [(o, c, e) for o, c, e in rows]


def current_stay(session: Session, prisoner_id: int) -> Occupancy | None:
    """The prisoner's open stay, if any."""
    return session.exec(select(Occupancy).where(Occupancy.prisoner_id == prisoner_id,
                                                col(Occupancy.ends_on).is_(None))).first()


def find_prisoner(session: Session, prison_number: str) -> Prisoner | None:
    try:
        number = v.prison_number(prison_number)
    except ValueError:
        return None
    return session.exec(select(Prisoner).where(Prisoner.prison_number == number)).first()


def get_prisoner(session: Session, prison_number: str) -> Prisoner:
    found = find_prisoner(session, prison_number)
    if found is None:
        raise NotFound(f"There is no prisoner with prison number "
                       f"{prison_number.strip().upper()!r}.")
    return found


def aliases_of(session: Session, prisoner_id: int) -> list[PrisonerAlias]:
    return list(session.exec(
        select(PrisonerAlias).where(PrisonerAlias.prisoner_id == prisoner_id)
        .order_by(col(PrisonerAlias.surname_key), col(PrisonerAlias.forenames_key))
    ).all())


def get_stay(session: Session, prisoner: Prisoner, stay_id: int) -> Occupancy:
    stay = session.get(Occupancy, stay_id)
    if stay is None or stay.prisoner_id != prisoner.id:
        raise NotFound(f"{prisoner.prison_number} has no stay with id {stay_id}.")
    return stay
