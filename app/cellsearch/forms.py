"""Form text to service arguments for the cell-search pages. Pure."""

from __future__ import annotations

from app.cellsearch.service import ITEM_MAX, Items, Outcome
from app.errors import Unprocessable
from app.web.dates import parse_local_datetime
from app.web.numbers import whole_number


def count(value: str, label: str) -> int:
    value = value.strip()
    if not value:
        return 0
    number = whole_number(value, ITEM_MAX)
    if number is None:
        raise Unprocessable(f"The number of {label} must be a whole number from 0 to "
                            f"{ITEM_MAX}.")
    return number


def outcome(*, phones: str, sim_cards: str, chargers: str, other_items: str,
            other_description: str, searched_at: str, note: str, tz: str) -> Outcome:
    items = Items(count(phones, "phones"), count(sim_cards, "SIM cards"),
                  count(chargers, "chargers"), count(other_items, "other items"),
                  other_description)
    return Outcome(items, parse_local_datetime(searched_at, tz, "search time"), note)
