"""Cell searches as people read them: times in the unit's zone, durations, the API's shape."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, Field

from app.cellsearch import service as svc
from app.cellsearch.queries import SearchRow
from app.web.dates import local_time
from app.web.wire import JsonInt


def shown(value: datetime | None, tz: str) -> str:
    """A time as people in the unit read it, with its zone (GMT or BST): the one page format."""
    return local_time(value, tz)


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


def time_helpers(tz: str) -> dict[str, Callable[..., str]]:
    """Functions the templates call to show times in the unit's zone."""
    return {"shown": lambda t: shown(t, tz), "duration": duration}


Count = Annotated[int, Field(ge=0, le=svc.ITEM_MAX), JsonInt]


class ItemsBody(BaseModel):
    phones: Count = 0
    sim_cards: Count = 0
    chargers: Count = 0
    other_items: Count = 0
    other_description: str = Field(default="", max_length=svc.OTHER_MAX)


class SearchOut(BaseModel):
    id: int
    state: str
    version: int
    urgency: str
    reason: str
    establishment_code: str
    cell_label: str
    attribution_id: int | None
    account_id: int | None
    requested_at: datetime
    acknowledged_at: datetime | None
    completed_at: datetime | None
    searched_at: datetime | None
    seconds_to_search: int | None
    items: ItemsBody
    items_total: int
    outcome_note: str
    prison_numbers: list[str] | None = None  # on a single search only

    @classmethod
    def of(cls, row: SearchRow, prison_numbers: list[str] | None = None) -> SearchOut:
        s, took = row.search, row.time_to_search
        return cls(
            id=s.id or 0, state=s.state, version=s.version, urgency=s.urgency, reason=s.reason,
            establishment_code=row.establishment.code, cell_label=row.cell.label,
            attribution_id=s.attribution_id, account_id=s.account_id,
            requested_at=s.requested_at, acknowledged_at=s.acknowledged_at,
            completed_at=s.completed_at, searched_at=s.searched_at,
            seconds_to_search=None if took is None else int(took.total_seconds()),
            items=ItemsBody(phones=s.phones, sim_cards=s.sim_cards, chargers=s.chargers,
                            other_items=s.other_items, other_description=s.other_description),
            items_total=row.items.total, outcome_note=s.outcome_note,
            prison_numbers=prison_numbers)


class SearchPage(BaseModel):
    total: int
    offset: int
    searches: list[SearchOut]
