"""The API's dates, times and numbers (app/web/wire.py): text and JSON numbers as the document
declares them, never pydantic's lax readings (0 as 1970-01-01, "3" as 3, true as 1)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import BaseModel, ValidationError

from app.web.wire import Day, DayOrEmpty, Instant, Whole


class Body(BaseModel):
    day: Day | None = None
    since: DayOrEmpty = None
    at: Instant | None = None
    version: Whole | None = None


@pytest.mark.parametrize("field, value, read", [
    ("day", "2025-03-01", date(2025, 3, 1)),
    ("since", "", None), ("since", "2024-02-29", date(2024, 2, 29)),
    ("at", "2025-03-01T13:05:00Z", datetime(2025, 3, 1, 13, 5, tzinfo=UTC)),
    ("at", "2025-03-01T13:05", datetime(2025, 3, 1, 13, 5)),  # local time, as the API says
    ("version", 3, 3), ("version", 3.0, 3), ("version", 2**31 - 1, 2**31 - 1),
])
def test_what_the_document_allows_is_read(field, value, read):
    assert getattr(Body(**{field: value}), field) == read


@pytest.mark.parametrize("field, value, said", [
    ("day", 0, "YYYY-MM-DD"), ("day", "86400", "YYYY-MM-DD"), ("day", "2025-3-1", "YYYY-MM-DD"),
    ("day", "2025-02-30", "2025-02-30 is not a date"), ("since", "٢٠٢٥-٠٣-٠١", "YYYY-MM-DD"),
    ("at", 0, "ISO 8601"), ("at", "2025-13-01T00:00", "ISO 8601"), ("at", "0000-01-01T00:00Z",
                                                                    "ISO 8601"),
    ("version", "3", "whole number"), ("version", True, "whole number"),
    ("version", 3.5, "whole number"), ("version", -1, "greater than or equal to 0"),
    ("version", 2**31, "less than or equal to"),  # INTEGER on PostgreSQL
])
def test_anything_else_is_refused_saying_why(field, value, said):
    with pytest.raises(ValidationError, match=said):
        Body(**{field: value})


def test_the_document_shows_the_same_rules():
    schema = Body.model_json_schema()["properties"]
    assert schema["day"]["anyOf"][0] == {"type": "string", "format": "date"}
    assert {"type": "string", "maxLength": 0} in schema["since"]["anyOf"]
    assert schema["at"]["anyOf"][0]["pattern"].startswith("^[1-9][0-9]{3}-")
    version = schema["version"]["anyOf"][0]
    assert (version["type"], version["minimum"], version["maximum"]) == ("integer", 0, 2**31 - 1)
