"""Pure rules for the prisoner search (not a cell search), a dossier's purpose and
date-of-birth masking: no database.

Names are normalised exactly like the stored keys (`app.estate.validation.name_key`), so that a
search typed in any case or Unicode form finds the same rows the estate import wrote.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.errors import Unprocessable
from app.estate.validation import name_key
from app.web.dates import local_day, parse_date

PRISON_NUMBER_RE = re.compile(r"^[A-Z][0-9]{4}[A-Z]{2}$")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
SURNAME_KEY_MAX = 64  # the stored keys are cut to the column widths
FORENAMES_KEY_MAX = 128
MIN_PREFIX = 2  # a one-letter surname would list a 26th of the estate
PURPOSE_MIN, PURPOSE_MAX = 5, 255
LIKE_ESCAPE = "\\"
_WILDCARDS = frozenset("%_*?")
_HOW = ("Search by prison number, by surname with a forename or date of birth, or by alias.")


@dataclass(frozen=True)
class PrisonerSearchCriteria:
    """What was typed: every field a string, as it came from a form or a query string."""

    prison_number: str = ""
    surname: str = ""
    forename: str = ""
    dob: str = ""
    alias: str = ""

    def is_empty(self) -> bool:
        return not any(v.strip() for v in vars(self).values())


@dataclass(frozen=True)
class Criteria:
    """A checked prisoner search: names as keys; one mode (prison number, surname or alias)."""

    prison_number: str = ""
    surname: str = ""
    forename: str = ""
    dob: date | None = None
    alias: str = ""

    def details(self) -> dict[str, Any]:
        """The criteria for the audit log (personal data, kept there on purpose)."""
        return {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in vars(self).items() if v}


def _name(text: str, what: str, max_key: int, *, min_len: int = 1) -> str:
    value = " ".join(text.split())
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise Unprocessable(f"The {what} contains control or invisible characters.")
    if value and all(ch in _WILDCARDS or ch.isspace() for ch in value):
        raise Unprocessable(f"Wildcards are not supported: type the start of the {what} "
                            "instead ('smi' finds Smith).")
    key = name_key(value)
    if len(key) > max_key:
        raise Unprocessable(f"The {what} is longer than {max_key} characters.")
    if 0 < len(key) < min_len:
        raise Unprocessable(f"Type at least {min_len} letters of the {what}.")
    return key


def _dob(text: str) -> date | None:
    """Only the form's YYYY-MM-DD: `parse_date` alone would also take 19900314 or 1990-W11-3."""
    value = text.strip()
    if value and not _ISO_DAY.fullmatch(value):
        raise Unprocessable(f"The date of birth “{value[:40]}” is not a date (YYYY-MM-DD).")
    return parse_date(value, "date of birth")


def normalise(raw: PrisonerSearchCriteria) -> Criteria:
    """Check the criteria, or raise Unprocessable (422) with a message an analyst can act on."""
    number = raw.prison_number.strip().upper()
    surname = _name(raw.surname, "surname", SURNAME_KEY_MAX, min_len=MIN_PREFIX)
    alias = _name(raw.alias, "alias", SURNAME_KEY_MAX, min_len=MIN_PREFIX)
    forename = _name(raw.forename, "forename", FORENAMES_KEY_MAX)
    dob = _dob(raw.dob)
    if number:
        if not PRISON_NUMBER_RE.match(number):
            raise Unprocessable(f"{raw.prison_number.strip()!r} is not a prison number "
                                "(a letter, 4 digits, 2 letters, e.g. A1234BC).")
        if surname or alias or forename or dob:
            raise Unprocessable("Search by prison number alone, or leave it empty to search "
                                "by name.")
        return Criteria(prison_number=number)
    if surname and alias:
        raise Unprocessable("Search by surname or by alias, not both.")
    if surname and not (forename or dob):
        raise Unprocessable("Add a forename or a date of birth to the surname.")
    if not (surname or alias):
        raise Unprocessable(f"Nothing to search for. {_HOW}")
    return Criteria(surname=surname, forename=forename, dob=dob, alias=alias)


def like_escape(text: str) -> str:
    """`a%b_` -> `a\\%b\\_`: in a LIKE with ESCAPE '\\' every character matches only itself."""
    for ch in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(ch, LIKE_ESCAPE + ch)
    return text


def prefix_successor(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix`, in code-point order
    (SQLite's BINARY collation, PostgreSQL's "C"); None when there is none."""
    chars = list(prefix)
    while chars:
        point = ord(chars[-1]) + 1
        if 0xD800 <= point <= 0xDFFF:  # surrogates cannot be encoded: skip past them
            point = 0xE000
        if point <= 0x10FFFF:
            chars[-1] = chr(point)
            return "".join(chars)
        chars.pop()
    return None


def mask_dob(value: date) -> str:
    """Year only until revealed: enough to tell two namesakes apart, not enough to identify."""
    return f"**/**/{value.year:04d}"


def show_dob(value: date) -> str:
    return local_day(value, "UTC")  # a date has no zone: only the page's day format


def check_purpose(text: str) -> str:
    """The stated reason for opening a dossier, kept in the audit log beside the read."""
    value = " ".join(text.split())
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise Unprocessable("The purpose contains control or invisible characters.")
    if not PURPOSE_MIN <= len(value) <= PURPOSE_MAX:
        raise Unprocessable(f"Give a purpose of {PURPOSE_MIN} to {PURPOSE_MAX} characters, e.g. "
                            "'Investigation 2026/117: Instagram account linked to cell'.")
    return value
