"""Form text to values, and times for people (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.cellsearch.forms import count, outcome
from app.cellsearch.presenters import duration, shown
from app.errors import Unprocessable
from app.web.dates import local_today, parse_local_datetime

TZ = "Europe/London"


def local_time(value, tz):
    """How the outcome form reads its search time."""
    return parse_local_datetime(value, tz, "search time")


def test_counts():
    assert count("", "phones") == 0 and count(" 3 ", "phones") == 3
    for bad in ("-1", "1.5", "two", "1000"):
        with pytest.raises(Unprocessable, match="whole number from 0 to 999"):
            count(bad, "phones")


def test_a_form_time_is_uk_local_time():
    assert local_time("2025-06-01T00:30", TZ) == datetime(2025, 5, 31, 23, 30, tzinfo=UTC)
    assert local_time("2025-01-15T09:00", TZ) == datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
    assert local_time("2025-06-01T00:30+00:00", TZ) == datetime(2025, 6, 1, 0, 30, tzinfo=UTC)
    assert local_time("  ", TZ) is None
    with pytest.raises(Unprocessable, match="not a date and time"):
        local_time("tonight", TZ)


def test_the_request_day_is_the_local_day():
    assert local_today(TZ, datetime(2025, 6, 30, 23, 30, tzinfo=UTC)).isoformat() == "2025-07-01"
    assert local_today(TZ, datetime(2025, 12, 31, 23, 30, tzinfo=UTC)).isoformat() == \
        "2025-12-31"


def test_times_for_people():
    assert shown(datetime(2025, 6, 1, 12, 0, tzinfo=UTC), TZ) == "1 Jun 2025 13:00 BST"
    assert shown(datetime(2025, 1, 1, 12, 0, tzinfo=UTC), TZ) == "1 Jan 2025 12:00 GMT"
    assert shown(None, TZ) == ""
    assert [duration(timedelta(minutes=m)) for m in (0, 35, 65, 60 * 50)] == \
        ["0 min", "35 min", "1 h 05 min", "2 d 2 h"]
    assert duration(None) == ""


def test_outcome_from_the_form():
    found = outcome(phones="2", sim_cards="", chargers="1", other_items="1",
                    other_description="a vape", searched_at="", note="bed", tz=TZ)
    assert found.items.total == 4 and found.searched_at is None and found.note == "bed"
