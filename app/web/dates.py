"""Dates and times typed into forms and query strings, and shown on pages.

People type the unit's local time; the database holds UTC. A value with no offset is read in
the unit's zone (`CELLWATCH_LOCAL_TIMEZONE`); a bad value is a 422 that says what was expected.
Pure: no request, no database, so services parse the same way as pages.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from app.errors import Unprocessable

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def parse_date(value: str, what: str) -> date | None:
    """`2025-03-01` -> date; empty -> None. Only YYYY-MM-DD is accepted."""
    value = value.strip()
    if not value:
        return None
    try:
        if not _DAY.match(value):  # fromisoformat would also take 20250301 and other digits
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"The {what} “{value[:40]}” is not a date (YYYY-MM-DD).") from None


def parse_local_datetime(value: str, tz: str, what: str) -> datetime | None:
    """ISO 8601 or a form's datetime-local; without an offset it is the unit's local time."""
    value = value.strip()
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"The {what} “{value[:40]}” is not a date and time "
                            "(e.g. 2026-03-01T21:15).") from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(tz))


def day_start(day: date, tz: str) -> datetime:
    """Midnight at the start of `day` in the unit's zone."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(tz))


def local_today(tz: str, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(tz)).date()


def _in_zone(value: datetime, tz: str) -> datetime:
    if value.tzinfo is None:  # stored times are UTC; never read one in the server's zone
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(tz))


def local_time(value: datetime | None, tz: str) -> str:
    """How a time reads on every page: the unit's local time with its zone, day first and the
    month in words so that no one reads 01/06 as January (`1 Jun 2025 13:00 BST`). Templates
    use the `when` filter, which is this. The API gives ISO 8601 UTC instead."""
    if value is None:
        return ""
    at = _in_zone(value, tz)
    return f"{at.day} {at:%b %Y %H:%M %Z}"


def local_day(value: date | datetime | None, tz: str) -> str:
    """A day as it reads on every page (`1 Jun 2025`); a time is first put in the unit's zone.
    Templates use the `day` filter."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _in_zone(value, tz).date()
    return f"{value.day} {value:%b %Y}"
