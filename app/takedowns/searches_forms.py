"""Form text to service arguments, and times shown to people, for the cell-search pages. Pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.db import utcnow
from app.errors import Unprocessable
from app.takedowns.searches import ITEM_MAX, Items, Outcome


def local_today(tz: str, now: datetime | None = None) -> date:
    """The request day as the establishment sees it."""
    return (now or utcnow()).astimezone(ZoneInfo(tz)).date()


def count(value: str, label: str) -> int:
    value = value.strip()
    if not value:
        return 0
    if not value.isdigit() or int(value) > ITEM_MAX:
        raise Unprocessable(f"The number of {label} must be a whole number from 0 to "
                            f"{ITEM_MAX}.")
    return int(value)


def local_time(value: str, tz: str) -> datetime | None:
    """A datetime-local field (no offset: read in the unit's local time), or ISO with one."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"The search time “{value[:40]}” is not a date and time "
                            "(e.g. 2026-03-01T21:15).") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(tz))


def outcome(*, phones: str, sim_cards: str, chargers: str, other_items: str,
            other_description: str, searched_at: str, note: str, tz: str) -> Outcome:
    items = Items(count(phones, "phones"), count(sim_cards, "SIM cards"),
                  count(chargers, "chargers"), count(other_items, "other items"),
                  other_description)
    return Outcome(items, local_time(searched_at, tz), note)


def shown(value: datetime | None, tz: str) -> str:
    """A time as people in the unit read it, with its zone (GMT or BST)."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M %Z")


def duration(delta: timedelta | None) -> str:
    if delta is None:
        return ""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
