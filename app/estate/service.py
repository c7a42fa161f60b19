"""Changes to establishments, cells, prisoners and aliases. Never commits; audits every change.

Stays (occupancy) live in `app.estate.stays`, reads in `app.estate.queries`; both are
re-exported here so that other domains need one import: `from app.estate import service`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlmodel import Session, select

from app.audit.service import Actor, record
from app.db import utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.estate import validation as v
from app.estate.common import checked
from app.estate.models import Cell, Establishment, Prisoner, PrisonerAlias
from app.estate.queries import (
    aliases_of,
    cell_history,
    current_stay,
    find_cell,
    find_establishment,
    find_prisoner,
    get_cell,
    get_establishment,
    get_prisoner,
    get_stay,
    list_cells,
    list_establishments,
    occupant_counts,
    occupants_on,
    prisoner_stays,
    wings_of,
)
from app.estate.stays import add_stay, close_stay, move_prisoner


def _short(text: str, what: str, max_len: int, required: bool = False) -> str:
    return checked(v.clean_text, text, what, max_len, required=required)


# --- establishments ----------------------------------------------------------------------------

def create_establishment(
    session: Session, actor: Actor, *, code: str, name: str, category: str = "", region: str = ""
) -> Establishment:
    code = checked(v.establishment_code, code)
    if find_establishment(session, code) is not None:
        raise Conflict(f"An establishment with code {code} already exists.")
    est = Establishment(code=code, name=_short(name, "name", 128, True),
                        category=_short(category, "category", 32),
                        region=_short(region, "region", 64))
    session.add(est)
    session.flush()
    record(session, actor, "estate.establishment.create", object_type="establishment",
           object_ids=[est.id or 0], details={"code": code})
    return est


def update_establishment(
    session: Session, actor: Actor, est: Establishment, *, name: str, category: str, region: str
) -> Establishment:
    new = {"name": _short(name, "name", 128, True), "category": _short(category, "category", 32),
           "region": _short(region, "region", 64)}
    changed = _apply(session, est, new)
    if changed:
        record(session, actor, "estate.establishment.update", object_type="establishment",
               object_ids=[est.id or 0], details={"code": est.code, "changed": changed})
    return est


def _apply(
    session: Session, row: Establishment | Cell | Prisoner, values: dict[str, object]
) -> list[str]:
    """Set the values that differ; return the names of the fields changed."""
    changed = [k for k, value in values.items() if getattr(row, k) != value]
    for k in changed:
        setattr(row, k, values[k])
    if changed:
        row.updated_at = utcnow()
        session.add(row)
        session.flush()
    return changed


# --- cells -------------------------------------------------------------------------------------

def create_cell(
    session: Session, actor: Actor, *, establishment: Establishment, label: str,
    capacity: int | str = 1,
) -> Cell:
    parsed = checked(v.cell_label, label)
    if find_cell(session, establishment.code, parsed.label) is not None:
        raise Conflict(f"{establishment.code} already has a cell labelled {parsed.label}.")
    cell = Cell(establishment_id=establishment.id or 0, label=parsed.label, wing=parsed.wing,
                landing=parsed.landing, capacity=checked(v.capacity, capacity))
    session.add(cell)
    session.flush()
    record(session, actor, "estate.cell.create", object_type="cell", object_ids=[cell.id or 0],
           details={"establishment": establishment.code, "label": cell.label})
    return cell


def update_cell(session: Session, actor: Actor, cell: Cell, *, capacity: int | str) -> Cell:
    changed = _apply(session, cell, {"capacity": checked(v.capacity, capacity)})
    if changed:
        record(session, actor, "estate.cell.update", object_type="cell",
               object_ids=[cell.id or 0], details={"changed": changed,
                                                   "capacity": cell.capacity})
    return cell


# --- prisoners ---------------------------------------------------------------------------------

def _prisoner_values(
    surname: str, forenames: str, date_of_birth: date, release_date: date | None,
    victim_contact_restriction: bool, organised_crime_nominal: bool, category_a: bool,
) -> dict[str, object]:
    surname, forenames = checked(v.person_name, surname, forenames)
    checked(v.check_birth_date, date_of_birth, date.today())
    if release_date is not None and release_date < date_of_birth:
        raise Unprocessable("The release date is before the date of birth.")
    return {"surname": surname, "forenames": forenames,
            "surname_key": v.name_key(surname)[:64], "forenames_key": v.name_key(forenames)[:128],
            "date_of_birth": date_of_birth, "release_date": release_date,
            "victim_contact_restriction": victim_contact_restriction,
            "organised_crime_nominal": organised_crime_nominal, "category_a": category_a}


def create_prisoner(
    session: Session, actor: Actor, *, prison_number: str, surname: str, forenames: str,
    date_of_birth: date, release_date: date | None = None,
    victim_contact_restriction: bool = False, organised_crime_nominal: bool = False,
    category_a: bool = False,
) -> Prisoner:
    number = checked(v.prison_number, prison_number)
    values = _prisoner_values(surname, forenames, date_of_birth, release_date,
                              victim_contact_restriction, organised_crime_nominal, category_a)
    if find_prisoner(session, number) is not None:
        raise Conflict(f"A prisoner with prison number {number} already exists.")
    prisoner = Prisoner(prison_number=number, **values)  # type: ignore[arg-type]
    session.add(prisoner)
    session.flush()
    record(session, actor, "estate.prisoner.create", object_type="prisoner",
           object_ids=[prisoner.id or 0])
    return prisoner


def update_prisoner(
    session: Session, actor: Actor, prisoner: Prisoner, *, surname: str, forenames: str,
    date_of_birth: date, release_date: date | None, victim_contact_restriction: bool,
    organised_crime_nominal: bool, category_a: bool,
) -> Prisoner:
    """Replace the editable fields; the audit event names the fields changed, not their values."""
    values = _prisoner_values(surname, forenames, date_of_birth, release_date,
                              victim_contact_restriction, organised_crime_nominal, category_a)
    changed = [k for k in _apply(session, prisoner, values) if not k.endswith("_key")]
    if changed:
        record(session, actor, "estate.prisoner.update", object_type="prisoner",
               object_ids=[prisoner.id or 0], details={"changed": changed})
    return prisoner


def add_alias(
    session: Session, actor: Actor, prisoner: Prisoner, *, surname: str, forenames: str = ""
) -> PrisonerAlias:
    surname, forenames = checked(v.person_name, surname, forenames)
    skey, fkey = v.name_key(surname)[:64], v.name_key(forenames)[:128]
    if any(a.surname_key == skey and a.forenames_key == fkey
           for a in aliases_of(session, prisoner.id or 0)):
        raise Conflict("The prisoner already has that alias.")
    alias = PrisonerAlias(prisoner_id=prisoner.id or 0, surname=surname, forenames=forenames,
                          surname_key=skey, forenames_key=fkey)
    session.add(alias)
    session.flush()
    record(session, actor, "estate.alias.create", object_type="prisoner",
           object_ids=[prisoner.id or 0], details={"alias_id": alias.id})
    return alias


def remove_alias(session: Session, actor: Actor, prisoner: Prisoner, alias_id: int) -> None:
    alias = session.exec(select(PrisonerAlias).where(PrisonerAlias.id == alias_id,
                                                     PrisonerAlias.prisoner_id == prisoner.id)
                         ).first()
    if alias is None:
        raise NotFound("That alias does not exist (it may have been removed already).")
    session.delete(alias)
    session.flush()
    record(session, actor, "estate.alias.delete", object_type="prisoner",
           object_ids=[prisoner.id or 0], details={"alias_id": alias_id})


def record_prisoner_read(
    session: Session, actor: Actor, prisoner_ids: Iterable[int], *, view: str,
    fields: Iterable[str] = ("name",),
) -> None:
    """Audit that these prisoners' personal data was shown (nothing is written if none was)."""
    ids = sorted({i for i in prisoner_ids})
    if ids:
        record(session, actor, "estate.read", object_type="prisoner", object_ids=ids,
               details={"view": view, "fields": sorted(fields)})


__all__ = [
    "add_alias", "add_stay", "aliases_of", "cell_history", "checked", "close_stay",
    "create_cell", "create_establishment", "create_prisoner", "current_stay", "find_cell",
    "find_establishment", "find_prisoner", "get_cell", "get_establishment", "get_prisoner",
    "get_stay", "list_cells", "list_establishments", "move_prisoner", "occupant_counts",
    "occupants_on",
    "prisoner_stays", "record_prisoner_read", "remove_alias", "update_cell",
    "update_establishment", "update_prisoner", "wings_of",
]
