"""The one way dates and times typed by people are read."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.errors import Unprocessable
from app.web import TEMPLATE_DIR, templates
from app.web.dates import local_day, local_time, parse_date, parse_local_datetime


def test_a_day_is_yyyy_mm_dd_only():
    assert parse_date(" 2025-03-01 ", "from date") == date(2025, 3, 1)
    assert parse_date("", "from date") is None
    for bad in ("20250301", "01/03/2025", "2025-3-1", "２０２５-03-01"):
        with pytest.raises(Unprocessable, match="is not a date"):
            parse_date(bad, "from date")


def test_a_time_without_offset_is_the_units_local_time():
    when = parse_local_datetime("2026-07-01T21:15", "Europe/London", "post time")
    assert when is not None and when.utcoffset().total_seconds() == 3600
    assert local_time(when, "Europe/London") == "1 Jul 2026 21:15 BST"
    with pytest.raises(Unprocessable, match="not a date and time"):
        parse_local_datetime("yesterday", "Europe/London", "post time")


def test_pages_show_one_format_uk_local_time_with_its_zone():
    winter = datetime(2025, 1, 15, 9, 5, tzinfo=UTC)
    summer = datetime(2025, 6, 1, 23, 30, tzinfo=UTC)
    assert local_time(winter, "Europe/London") == "15 Jan 2025 09:05 GMT"
    assert local_time(summer, "Europe/London") == "2 Jun 2025 00:30 BST"  # the local day
    assert local_time(datetime(2025, 6, 1, 23, 30), "Europe/London") == "2 Jun 2025 00:30 BST"
    assert local_day(summer, "Europe/London") == "2 Jun 2025"
    assert local_day(date(1990, 3, 14), "Europe/London") == "14 Mar 1990"
    assert local_time(None, "Europe/London") == local_day(None, "Europe/London") == ""
    page = templates.env.from_string("{{ t | when }} · {{ d | day }}")
    assert page.render(t=summer, d=date(2025, 6, 1)) == "2 Jun 2025 00:30 BST · 1 Jun 2025"


def test_no_template_formats_a_date_by_itself():
    """Every date on a page goes through the `when` / `day` filters (ISO only in attributes:
    a form's value or a <time datetime>)."""
    own = re.compile(r"\.strftime\(|\.isoformat\(\)")
    found = []
    for path in Path(TEMPLATE_DIR).rglob("*.html"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for m in own.finditer(line):
                before = line[:m.start()]
                in_attribute = re.search(r'(value|datetime)="[^"]*$', before)
                if not in_attribute:
                    found.append(f"{path.relative_to(TEMPLATE_DIR)}:{n}")
    assert found == []
