"""The one way dates and times typed by people are read."""

from datetime import date

import pytest

from app.errors import Unprocessable
from app.web.dates import local_time, parse_date, parse_local_datetime


def test_a_day_is_yyyy_mm_dd_only():
    assert parse_date(" 2025-03-01 ", "from date") == date(2025, 3, 1)
    assert parse_date("", "from date") is None
    for bad in ("20250301", "01/03/2025", "2025-3-1", "２０２５-03-01"):
        with pytest.raises(Unprocessable, match="is not a date"):
            parse_date(bad, "from date")


def test_a_time_without_offset_is_the_units_local_time():
    when = parse_local_datetime("2026-07-01T21:15", "Europe/London", "post time")
    assert when is not None and when.utcoffset().total_seconds() == 3600
    assert local_time(when, "Europe/London") == "2026-07-01 21:15:00 BST"
    with pytest.raises(Unprocessable, match="not a date and time"):
        parse_local_datetime("yesterday", "Europe/London", "post time")
