"""What the database holds now, the checks across files, and what an import would change.

Everything is loaded once into dicts keyed by natural key, so that checking 300,000 stays costs
dict look-ups, not queries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlmodel import Session

from app.estate import validation as v
from app.estate.importing import parse
from app.estate.importing.files import (
    ALIASES,
    CELLS,
    ESTABLISHMENTS,
    OCCUPANCY,
    PRISONERS,
    Problems,
)
from app.estate.models import Cell, Establishment, Occupancy, Prisoner, PrisonerAlias

EST, CELL, PRIS = Establishment.__table__, Cell.__table__, Prisoner.__table__  # type: ignore[attr-defined]
OCC, ALIAS = Occupancy.__table__, PrisonerAlias.__table__  # type: ignore[attr-defined]
PRISONER_FIELDS = ("surname", "forenames", "surname_key", "forenames_key", "date_of_birth",
                   "release_date", "victim_contact_restriction", "organised_crime_nominal",
                   "category_a")


@dataclass
class Held:
    """The database's current rows, by natural key: (id, compared values...)."""

    establishments: dict[str, tuple[Any, ...]]
    cells: dict[tuple[str, str], tuple[int, int]]  # (code, label) -> (id, capacity)
    cell_keys: dict[int, tuple[str, str]]
    prisoners: dict[str, tuple[Any, ...]]  # number -> (id, *PRISONER_FIELDS)
    stays: dict[str, dict[date, tuple[int, int, date | None]]]  # number -> start -> (id, cell, end)
    aliases: dict[tuple[str, str, str], tuple[int, str, str]]  # key -> (id, surname, forenames)


def load_held(session: Session) -> Held:
    ests = {r.code: (r.id, r.name, r.category, r.region) for r in session.execute(
        select(EST.c.id, EST.c.code, EST.c.name, EST.c.category, EST.c.region))}
    cells: dict[tuple[str, str], tuple[int, int]] = {}
    cell_keys: dict[int, tuple[str, str]] = {}
    for r in session.execute(select(CELL.c.id, EST.c.code, CELL.c.label, CELL.c.capacity)
                             .join(EST, EST.c.id == CELL.c.establishment_id)):
        cells[(r.code, r.label)] = (r.id, r.capacity)
        cell_keys[r.id] = (r.code, r.label)
    prisoners = {r[1]: (r[0], *r[2:]) for r in session.execute(
        select(PRIS.c.id, PRIS.c.prison_number, *(PRIS.c[f] for f in PRISONER_FIELDS)))}
    stays: dict[str, dict[date, tuple[int, int, date | None]]] = defaultdict(dict)
    for r in session.execute(select(OCC.c.id, PRIS.c.prison_number, OCC.c.starts_on,
                                    OCC.c.cell_id, OCC.c.ends_on)
                             .join(PRIS, PRIS.c.id == OCC.c.prisoner_id)):
        stays[r.prison_number][r.starts_on] = (r.id, r.cell_id, r.ends_on)
    aliases = {(r.prison_number, r.surname_key, r.forenames_key): (r.id, r.surname, r.forenames)
               for r in session.execute(
                   select(ALIAS.c.id, PRIS.c.prison_number, ALIAS.c.surname_key,
                          ALIAS.c.forenames_key, ALIAS.c.surname, ALIAS.c.forenames)
                   .join(PRIS, PRIS.c.id == ALIAS.c.prisoner_id))}
    return Held(ests, cells, cell_keys, prisoners, stays, aliases)


R = TypeVar("R")


@dataclass
class Changes(Generic[R]):
    create: list[R] = field(default_factory=list)
    update: list[tuple[int, R]] = field(default_factory=list)  # (database id, record)
    unchanged: int = 0

    def sort(self, changed: bool, held_id: int | None, rec: R) -> None:
        if held_id is None:
            self.create.append(rec)
        elif changed:
            self.update.append((held_id, rec))
        else:
            self.unchanged += 1


@dataclass
class Plan:
    establishments: Changes[parse.EstablishmentRec]
    cells: Changes[parse.CellRec]
    prisoners: Changes[parse.PrisonerRec]
    stays: Changes[parse.StayRec]
    aliases: Changes[parse.AliasRec]


@dataclass
class Parsed:
    establishments: dict[str, parse.EstablishmentRec]
    cells: dict[tuple[str, str], parse.CellRec]
    prisoners: dict[str, parse.PrisonerRec]
    stays: dict[tuple[str, date], parse.StayRec]
    aliases: dict[tuple[str, str, str], parse.AliasRec]
    # keys named on refused lines, or whole files that could not be read: references to
    # them are not reported again
    refused_establishments: set[str] = field(default_factory=set)
    refused_cells: set[tuple[str, str]] = field(default_factory=set)
    refused_prisoners: set[str] = field(default_factory=set)
    unreadable: set[str] = field(default_factory=set)


def check_references(data: Parsed, held: Held, problems: Problems) -> None:
    """Every code, cell and prison number named must be in its file or already held."""
    def known_est(code: str) -> bool:
        return (ESTABLISHMENTS.name in data.unreadable or code in data.establishments
                or code in held.establishments or code in data.refused_establishments)

    def known_cell(key: tuple[str, str]) -> bool:
        return (CELLS.name in data.unreadable or key in data.cells or key in held.cells
                or key in data.refused_cells)

    def known_prisoner(number: str) -> bool:
        return (PRISONERS.name in data.unreadable or number in data.prisoners
                or number in held.prisoners or number in data.refused_prisoners)

    for rec in data.cells.values():
        if not known_est(rec.establishment_code):
            problems.add(CELLS.name, rec.line, f"establishment {rec.establishment_code} is "
                         "not in establishments.csv and not already held")
    for stay in data.stays.values():
        if not known_prisoner(stay.prison_number):
            problems.add(OCCUPANCY.name, stay.line, f"prisoner {stay.prison_number} is not in "
                         "prisoners.csv and not already held")
        if not known_est(stay.establishment_code):
            problems.add(OCCUPANCY.name, stay.line, f"establishment {stay.establishment_code} "
                         "is not in establishments.csv and not already held")
        elif not known_cell((stay.establishment_code, stay.cell_label)):
            problems.add(OCCUPANCY.name, stay.line, f"cell {stay.cell_label} at "
                         f"{stay.establishment_code} is not in cells.csv and not already held")
    for alias in data.aliases.values():
        if not known_prisoner(alias.prison_number):
            problems.add(ALIASES.name, alias.line, f"prisoner {alias.prison_number} is not "
                         "in prisoners.csv and not already held")


def check_overlaps(data: Parsed, held: Held, problems: Problems) -> None:
    """A prisoner's stays, held and imported together, may share only a move day."""
    by_prisoner: dict[str, dict[date, v.Span[int | None]]] = defaultdict(dict)
    for stay in data.stays.values():
        by_prisoner[stay.prison_number][stay.starts_on] = v.Span(stay.starts_on, stay.ends_on,
                                                                 stay.line)
    for number, spans in by_prisoner.items():
        for start, (_, _, end) in held.stays.get(number, {}).items():
            spans.setdefault(start, v.Span(start, end, None))  # a line of the file wins
        if len(spans) < 2:
            continue
        for clash in v.overlaps(spans.values()):
            later, earlier = clash.later, clash.earlier
            if later.ref is not None:
                where = f"line {earlier.ref}" if earlier.ref else "already held"
                problems.add(OCCUPANCY.name, later.ref, f"stay overlaps the stay from "
                             f"{earlier.starts_on} ({where})")
            elif earlier.ref is not None:
                problems.add(OCCUPANCY.name, earlier.ref, f"stay overlaps the stay from "
                             f"{later.starts_on} (already held)")


def plan(data: Parsed, held: Held) -> Plan:
    """Sort every record into create / update / unchanged against what is held."""
    ests: Changes[parse.EstablishmentRec] = Changes()
    for e in data.establishments.values():
        h = held.establishments.get(e.code)
        ests.sort(h is not None and h[1:] != (e.name, e.category, e.region),
                  h[0] if h else None, e)
    cells: Changes[parse.CellRec] = Changes()
    for c in data.cells.values():
        hc = held.cells.get((c.establishment_code, c.label))
        cells.sort(hc is not None and hc[1] != c.capacity, hc[0] if hc else None, c)
    prisoners: Changes[parse.PrisonerRec] = Changes()
    for p in data.prisoners.values():
        hp = held.prisoners.get(p.prison_number)
        values = tuple(getattr(p, f) for f in PRISONER_FIELDS)
        prisoners.sort(hp is not None and hp[1:] != values, hp[0] if hp else None, p)
    stays: Changes[parse.StayRec] = Changes()
    for s in data.stays.values():
        hs = held.stays.get(s.prison_number, {}).get(s.starts_on)
        changed = hs is not None and (
            held.cell_keys.get(hs[1]) != (s.establishment_code, s.cell_label) or hs[2] != s.ends_on)
        stays.sort(changed, hs[0] if hs else None, s)
    aliases: Changes[parse.AliasRec] = Changes()
    for key, a in data.aliases.items():
        ha = held.aliases.get(key)
        aliases.sort(ha is not None and ha[1:] != (a.surname, a.forenames),
                     ha[0] if ha else None, a)
    return Plan(ests, cells, prisoners, stays, aliases)
