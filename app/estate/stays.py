"""Changes to occupancy: add a stay, close a stay, move a prisoner. Never commits; audits each.

A prisoner's stays never overlap; two stays may share only the move day (one ends on D, the
next starts on D).
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import Conflict, Unprocessable
from app.estate import validation as v
from app.estate.common import checked
from app.estate.models import Cell, Occupancy, Prisoner
from app.estate.queries import prisoner_stays


def _describe(stay: Occupancy, where: str) -> str:
    until = stay.ends_on.isoformat() if stay.ends_on else "now (current)"
    return f"the stay in {where} from {stay.starts_on.isoformat()} to {until}"


def _refuse_overlap(
    session: Session, prisoner: Prisoner, starts_on: date, ends_on: date | None,
    *, ignore: Occupancy | None = None,
) -> None:
    """Raise 422 naming the stay that [starts_on, ends_on] would overlap."""
    new = v.Span(starts_on, ends_on, None)
    for other, cell, est in prisoner_stays(session, prisoner.id or 0):
        if ignore is not None and other.id == ignore.id:
            continue
        if v.clash(new, v.Span(other.starts_on, other.ends_on, other.id)):
            raise Unprocessable(f"{prisoner.prison_number} cannot be in two cells at once: "
                                f"this overlaps {_describe(other, f'{est.code} {cell.label}')}."
                                " Two stays may share only the move day.")


def add_stay(
    session: Session, actor: Actor, *, prisoner: Prisoner, cell: Cell, starts_on: date,
    ends_on: date | None = None,
) -> Occupancy:
    """Record a stay (past, or current when `ends_on` is None)."""
    checked(v.check_stay_dates, starts_on, ends_on)
    _refuse_overlap(session, prisoner, starts_on, ends_on)
    stay = Occupancy(prisoner_id=prisoner.id or 0, cell_id=cell.id or 0, starts_on=starts_on,
                     ends_on=ends_on)
    session.add(stay)
    session.flush()
    record(session, actor, "estate.occupancy.create", object_type="occupancy",
           object_ids=[stay.id or 0],
           details={"prisoner_id": prisoner.id, "cell_id": cell.id})
    return stay


def close_stay(
    session: Session, actor: Actor, *, prisoner: Prisoner, stay: Occupancy, ends_on: date
) -> Occupancy:
    """End an open stay on `ends_on` (inclusive: the prisoner was in the cell that day)."""
    if stay.prisoner_id != prisoner.id:
        raise Unprocessable("That stay belongs to another prisoner.")
    if stay.ends_on is not None:
        raise Conflict(f"That stay already ended on {stay.ends_on.isoformat()}.")
    checked(v.check_stay_dates, stay.starts_on, ends_on)
    _refuse_overlap(session, prisoner, stay.starts_on, ends_on, ignore=stay)
    stay.ends_on = ends_on
    stay.updated_at = utcnow()
    session.add(stay)
    session.flush()
    record(session, actor, "estate.occupancy.close", object_type="occupancy",
           object_ids=[stay.id or 0], details={"prisoner_id": prisoner.id})
    return stay


def move_prisoner(
    session: Session, actor: Actor, *, prisoner: Prisoner, cell: Cell, on: date
) -> Occupancy:
    """Close the current stay on the move day `on` and open a stay in `cell` from that day.

    With no current stay this simply opens the new one (a reception).
    """
    current = next((o for o, _, _ in prisoner_stays(session, prisoner.id or 0)
                    if o.ends_on is None), None)
    if current is not None:
        if current.cell_id == cell.id:
            raise Unprocessable(f"{prisoner.prison_number} is already in that cell.")
        if on <= current.starts_on:
            raise Unprocessable(
                f"The move day must be after the current stay began "
                f"({current.starts_on.isoformat()}). To correct that stay, close it instead.")
        current.ends_on = on
        current.updated_at = utcnow()
        session.add(current)
        session.flush()
    _refuse_overlap(session, prisoner, on, None)
    stay = Occupancy(prisoner_id=prisoner.id or 0, cell_id=cell.id or 0, starts_on=on)
    session.add(stay)
    session.flush()
    record(session, actor, "estate.occupancy.move", object_type="occupancy",
           object_ids=[i for i in (stay.id, current.id if current else None) if i],
           details={"prisoner_id": prisoner.id, "to_cell_id": cell.id,
                    "from_cell_id": current.cell_id if current else None})
    return stay
