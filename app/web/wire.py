"""Dates and times as the JSON API takes them: text in ISO 8601, never a bare number.

Pydantic alone reads `0` or `"86400"` as a Unix time (1970-01-01), which the document, saying
`format: date`, forbids; a client sending a number by mistake must hear so, not store 1970.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

from app.web.numbers import ROW_ID_MAX

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A time with or without its offset (without one: the unit's local time, as the API says).
# Ranges are spelled out so that the pattern the document shows admits only real clock times
# (years from 1000: Python has no year 0).
INSTANT_PATTERN = (r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3])"
                   r":[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?$")
_INSTANT = re.compile(INSTANT_PATTERN)


def _day_text(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ValueError("a date is written YYYY-MM-DD, e.g. 2025-03-01")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value} is not a date (no such month or day)") from None


def _json_whole(value: object) -> object:
    """A JSON number without a fraction (JSON Schema counts 3.0 as an integer); never "3" or
    true, which pydantic alone would read as 3 and 1."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("should be a whole number")
    return value


def _day_or_empty(value: object) -> object:
    return None if value == "" else _day_text(value)


def _instant_text(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _INSTANT.fullmatch(value):
        raise ValueError("a time is written as ISO 8601, e.g. 2025-03-01T13:05:00Z "
                         "(without an offset: the unit's local time)")
    return value


Day = Annotated[date, BeforeValidator(_day_text)]
Instant = Annotated[datetime, BeforeValidator(_instant_text),
                    WithJsonSchema({"type": "string", "pattern": INSTANT_PATTERN,
                                    "description": "ISO 8601; without an offset, the unit's "
                                                   "local time"})]
# A filter's day: empty (no filter, as a blank form field sends it) or a real date.
DayOrEmpty = Annotated[date | None, BeforeValidator(_day_or_empty),
                       WithJsonSchema({"anyOf": [{"type": "string", "format": "date"},
                                                 {"type": "string", "maxLength": 0}]})]
# The bounds go before the validator: after it, pydantic would show them as unknown keywords.
JsonInt = BeforeValidator(_json_whole)
# One a row id or version column can hold (larger ones would overflow PostgreSQL's INTEGER).
Whole = Annotated[int, Field(ge=0, le=ROW_ID_MAX), JsonInt]
