"""Rows of text -> typed records, one file at a time: values checked, duplicate keys refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.estate import validation as v
from app.estate.importing.files import Problems, Table


@dataclass(slots=True)
class EstablishmentRec:
    line: int
    code: str
    name: str
    category: str
    region: str


@dataclass(slots=True)
class CellRec:
    line: int
    establishment_code: str
    label: str
    wing: str
    landing: str
    capacity: int


@dataclass(slots=True)
class PrisonerRec:
    line: int
    prison_number: str
    surname: str
    forenames: str
    surname_key: str
    forenames_key: str
    date_of_birth: date
    release_date: date | None
    victim_contact_restriction: bool
    organised_crime_nominal: bool
    category_a: bool


@dataclass(slots=True)
class StayRec:
    line: int
    prison_number: str
    establishment_code: str
    cell_label: str
    starts_on: date
    ends_on: date | None


@dataclass(slots=True)
class AliasRec:
    line: int
    prison_number: str
    surname: str
    forenames: str
    surname_key: str
    forenames_key: str


_BAD = object()


class _Row:
    """Parse the fields of one row, noting each problem; `ok` says whether all were good."""

    def __init__(self, problems: Problems, file: str, line: int) -> None:
        self.problems, self.file, self.line, self.ok = problems, file, line, True

    def __call__(self, parse: Callable[..., Any], *args: Any) -> Any:
        try:
            return parse(*args)
        except ValueError as exc:
            self.problems.add(self.file, self.line, str(exc))
            self.ok = False
            return _BAD


def _keep(store: dict[Any, Any], key: Any, rec: Any, problems: Problems, file: str,
          what: str) -> None:
    first = store.get(key)
    if first is not None:
        problems.add(file, rec.line, f"{what} appears twice: already on line {first.line}")
        return
    store[key] = rec


def establishments(table: Table, problems: Problems, refused: set[str]
                   ) -> dict[str, EstablishmentRec]:
    out: dict[str, EstablishmentRec] = {}
    name = table.spec.name
    for line, (code, est_name, category, region) in table:
        f = _Row(problems, name, line)
        rec = EstablishmentRec(line, f(v.establishment_code, code),
                               f(v.clean_text, est_name, "name", 128),
                               f(v.clean_text, category, "category", 32, False),
                               f(v.clean_text, region, "region", 64, False))
        if f.ok:
            _keep(out, rec.code, rec, problems, name, f"establishment {rec.code}")
        elif rec.code is not _BAD:
            refused.add(rec.code)
    return out


def cells(table: Table, problems: Problems, refused: set[tuple[str, str]]
          ) -> dict[tuple[str, str], CellRec]:
    out: dict[tuple[str, str], CellRec] = {}
    name = table.spec.name
    for line, (code, label, capacity) in table:
        f = _Row(problems, name, line)
        code, parsed, cap = f(v.establishment_code, code), f(v.cell_label, label), f(v.capacity,
                                                                                  capacity)
        if f.ok:
            rec = CellRec(line, code, parsed.label, parsed.wing, parsed.landing, cap)
            _keep(out, (code, rec.label), rec, problems, name, f"cell {code} {rec.label}")
        elif code is not _BAD and parsed is not _BAD:
            refused.add((code, parsed.label))
    return out


def prisoners(table: Table, problems: Problems, today: date, refused: set[str]
              ) -> dict[str, PrisonerRec]:
    out: dict[str, PrisonerRec] = {}
    name = table.spec.name
    for line, (number, surname, forenames, dob, release, vcr, ocn, cat_a) in table:
        f = _Row(problems, name, line)
        number = f(v.prison_number, number)
        names = f(v.person_name, surname, forenames)
        born = f(v.birth_date, dob, today)
        released = f(v.iso_date, release, "release date", False)
        flags = (f(v.flag, vcr, "victim_contact_restriction"),
                 f(v.flag, ocn, "organised_crime_nominal"), f(v.flag, cat_a, "category_a"))
        if f.ok and released is not None and released < born:
            problems.add(name, line, f"release date {released} is before the date of birth")
            f.ok = False
        if not f.ok:
            if number is not _BAD:
                refused.add(number)
            continue
        surname, forenames = names
        rec = PrisonerRec(line, number, surname, forenames, v.name_key(surname)[:64],
                          v.name_key(forenames)[:128], born, released, *flags)
        _keep(out, number, rec, problems, name, f"prison number {number}")
    return out


def stays(table: Table, problems: Problems) -> dict[tuple[str, date], StayRec]:
    out: dict[tuple[str, date], StayRec] = {}
    name = table.spec.name
    for line, (number, code, label, starts, ends) in table:
        f = _Row(problems, name, line)
        number, code, parsed = (f(v.prison_number, number), f(v.establishment_code, code),
                                f(v.cell_label, label))
        starts_on = f(v.required_date, starts, "starts_on")
        ends_on = f(v.iso_date, ends, "ends_on", False)
        if starts_on is not _BAD and ends_on is not _BAD:
            f(v.check_stay_dates, starts_on, ends_on)
        if f.ok:
            rec = StayRec(line, number, code, parsed.label, starts_on, ends_on)
            _keep(out, (number, starts_on), rec, problems, name,
                  f"the stay of {number} starting {starts_on}")
    return out


def aliases(table: Table, problems: Problems) -> dict[tuple[str, str, str], AliasRec]:
    out: dict[tuple[str, str, str], AliasRec] = {}
    name = table.spec.name
    for line, (number, surname, forenames) in table:
        f = _Row(problems, name, line)
        number, names = f(v.prison_number, number), f(v.person_name, surname, forenames)
        if f.ok:
            surname, forenames = names
            rec = AliasRec(line, number, surname, forenames, v.name_key(surname)[:64],
                           v.name_key(forenames)[:128])
            _keep(out, (number, rec.surname_key, rec.forenames_key), rec, problems, name,
                  f"the alias {surname}, {forenames} of {number}")
    return out
