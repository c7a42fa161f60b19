"""Pure checks and normalisers for estate data: no database, no disk.

Every parser takes what a person (or a records-system extract) typed and either returns the
normalised value or raises `ValueError` with a message that person understands. The CSV import,
the pages and the API all use these, so a value is accepted or refused the same way everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Generic, TypeVar

PRISON_NUMBER_RE = re.compile(r"[A-Z][0-9]{4}[A-Z]{2}")
ESTABLISHMENT_CODE_RE = re.compile(r"[A-Z]{3}")
# WING-LANDING-CELL: each part letters/digits; e.g. A-1-014, HB1-G-02, C-3-110A
CELL_LABEL_RE = re.compile(r"([A-Z0-9]{1,8})-([A-Z0-9]{1,8})-([A-Z0-9]{1,6})")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CELL_LABEL_MAX = 32
SURNAME_MAX = 64
FORENAMES_MAX = 128
EARLIEST_BIRTH = date(1900, 1, 1)
CAPACITY_MAX = 99
_TRUE = frozenset({"y", "yes", "true", "1"})
_FALSE = frozenset({"", "n", "no", "false", "0"})


def prison_number(text: str) -> str:
    """`a1234bc ` -> `A1234BC`; a letter, four digits, two letters."""
    value = text.strip().upper()
    if not PRISON_NUMBER_RE.fullmatch(value):
        if not value:
            raise ValueError("prison number is empty")
        raise ValueError(f"{text.strip()!r} is not a prison number (a letter, 4 digits, "
                         "2 letters, e.g. A1234BC)")
    return value


@lru_cache(maxsize=4096)
def establishment_code(text: str) -> str:
    """`mdi` -> `MDI`; exactly three letters."""
    value = text.strip().upper()
    if not ESTABLISHMENT_CODE_RE.fullmatch(value):
        if not value:
            raise ValueError("establishment code is empty")
        raise ValueError(f"{text.strip()!r} is not an establishment code (3 letters, e.g. MDI)")
    return value


@dataclass(frozen=True)
class CellLabel:
    label: str
    wing: str
    landing: str
    cell: str


@lru_cache(maxsize=131072)  # an import names each cell several times
def cell_label(text: str) -> CellLabel:
    """`a-1-014` -> CellLabel('A-1-014', wing 'A', landing '1', cell '014')."""
    value = text.strip().upper()
    match = CELL_LABEL_RE.fullmatch(value)
    if not match or len(value) > CELL_LABEL_MAX:
        if not value:
            raise ValueError("cell label is empty")
        raise ValueError(f"{text.strip()!r} is not a cell label (WING-LANDING-CELL, "
                         "letters and digits, e.g. A-1-014)")
    wing, landing, cell = match.groups()
    return CellLabel(value, wing, landing, cell)


def name_key(text: str) -> str:
    """The search form of a name: NFKC, case-folded, single spaces."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def clean_text(text: str, what: str, max_len: int, required: bool = True) -> str:
    """Trimmed, inner whitespace collapsed; no control characters; within `max_len`."""
    value = " ".join(text.split())
    if required and not value:
        raise ValueError(f"{what} is empty")
    if not value.isprintable():  # control, format or private-use characters
        raise ValueError(f"{what} contains control or invisible characters")
    if len(value) > max_len:
        raise ValueError(f"{what} is longer than {max_len} characters")
    return value


def person_name(surname: str, forenames: str) -> tuple[str, str]:
    return (clean_text(surname, "surname", SURNAME_MAX),
            clean_text(forenames, "forenames", FORENAMES_MAX, required=False))


def iso_date(text: str, what: str, required: bool = True) -> date | None:
    """`2025-03-01` -> date; empty -> None when not required. Only YYYY-MM-DD is accepted."""
    value = text.strip()
    if not value:
        if required:
            raise ValueError(f"{what} is empty")
        return None
    if not DATE_RE.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a real date") from None


def required_date(text: str, what: str) -> date:
    value = iso_date(text, what)
    assert value is not None
    return value


def birth_date(text: str, today: date) -> date:
    value = required_date(text, "date of birth")
    check_birth_date(value, today)
    return value


def check_birth_date(value: date, today: date) -> None:
    if value > today:
        raise ValueError(f"date of birth {value.isoformat()} is in the future")
    if value < EARLIEST_BIRTH:
        raise ValueError(f"date of birth {value.isoformat()} is before 1900")


def flag(text: str, what: str) -> bool:
    """Y/N, yes/no, true/false, 1/0 (any case); empty means no."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{what} {text.strip()!r} is not Y or N")


def capacity(text: str | int) -> int:
    value = str(text).strip()
    if not re.fullmatch(r"[0-9]{1,3}", value) or not 1 <= int(value) <= CAPACITY_MAX:
        raise ValueError(f"capacity {value or '(empty)'!r} is not a whole number "
                         f"from 1 to {CAPACITY_MAX}")
    return int(value)


def check_stay_dates(starts_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise ValueError(f"the stay ends ({ends_on.isoformat()}) before it starts "
                         f"({starts_on.isoformat()})")


# --- overlapping stays -------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True)
class Span(Generic[T]):
    """One stay of one prisoner, by day, both ends inclusive; `ends_on` None means open."""

    starts_on: date
    ends_on: date | None
    ref: T  # whatever the caller needs to name the stay (a line number, an id)


@dataclass(frozen=True)
class Overlap(Generic[T]):
    later: Span[T]
    earlier: Span[T]


def overlaps(stays: Iterable[Span[T]]) -> list[Overlap[T]]:
    """Every stay that overlaps an earlier one of the same prisoner.

    Two stays may share only a move day: one ending on D and the next starting on D is fine.
    Each overlapping stay is reported once, against the earlier stay reaching furthest.
    """
    ordered: Sequence[Span[T]] = sorted(stays, key=lambda s: s.starts_on)
    found: list[Overlap[T]] = []
    reach: Span[T] | None = None
    for stay in ordered:
        if reach is not None and clash(reach, stay):
            found.append(Overlap(stay, reach))
        if reach is None or _ends_later(stay, reach):
            reach = stay
    return found


def clash(a: Span[T], b: Span[T]) -> bool:
    """Whether two stays of one prisoner overlap by more than a shared move day."""
    first, second = (a, b) if a.starts_on <= b.starts_on else (b, a)
    return (first.starts_on == second.starts_on or first.ends_on is None
            or second.starts_on < first.ends_on)


def _ends_later(a: Span[T], b: Span[T]) -> bool:
    if b.ends_on is None:
        return False
    return a.ends_on is None or a.ends_on > b.ends_on
