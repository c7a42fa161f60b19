"""The audit log's filter, read from the query string by the page and the API alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Query

from app.audit.service import EventFilter
from app.web.dates import day_start
from app.web.numbers import ROW_ID_MAX
from app.web.wire import DayOrEmpty

Text = Annotated[str, Query(max_length=64)]
# empty or a real date (a pattern of digits let 2025-13-45 and other scripts' digits through)
Day = Annotated[DayOrEmpty, Query(description="YYYY-MM-DD, UTC; empty: no limit")]
# The log's times are UTC (the page says so), and so are the days it is filtered by.
LOG_ZONE = "UTC"


def _filter(
    actor: Text = "", action: Text = "", object_type: Text = "", object_id: Text = "",
    since: Day = None, until: Day = None,
) -> EventFilter:
    first, last = since, until
    return EventFilter(
        actor_name=actor.strip(), action=action.strip(), object_type=object_type.strip(),
        object_id=object_id.strip(),
        since=day_start(first, LOG_ZONE) if first else None,
        # `until` is inclusive: events before the start of the next day
        until=day_start(last + timedelta(days=1), LOG_ZONE) if last else None,
    )


EventQuery = Annotated[EventFilter, Depends(_filter)]
# keyset paging: the id below which the next (older) page starts
Before = Annotated[int | None, Query(ge=0, le=ROW_ID_MAX)]
PAGE_SIZE = 100
