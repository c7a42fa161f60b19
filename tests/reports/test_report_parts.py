"""The pure parts: periods, time-zone offsets, percentiles, chart geometry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.errors import Unprocessable
from app.reports import charts
from app.reports.period import Period, month_windows, months_between, parse_period
from app.reports.service import duration
from app.reports.stats import percentile_cont, ratio

TZ = "Europe/London"


def test_periods_are_local_days():
    summer = Period(date(2025, 6, 1), date(2025, 6, 30), TZ)
    assert summer.utc_start == datetime(2025, 5, 31, 23, 0, tzinfo=UTC)
    assert summer.utc_end == datetime(2025, 6, 30, 23, 0, tzinfo=UTC)
    winter = Period(date(2025, 1, 1), date(2025, 1, 31), TZ)
    assert winter.utc_start == datetime(2025, 1, 1, tzinfo=UTC)
    assert winter.utc_end == datetime(2025, 2, 1, tzinfo=UTC)
    assert Period(None, None, TZ).utc_start is None and Period(None, None, TZ).words == "all time"
    assert winter.words == "1 Jan 2025 to 31 Jan 2025"


def test_parse_period_refusals():
    assert parse_period(" 2025-01-01 ", "", TZ) == Period(date(2025, 1, 1), None, TZ)
    with pytest.raises(Unprocessable, match="not a date"):
        parse_period("01/02/2025", "", TZ)
    with pytest.raises(Unprocessable, match="before the “from” date"):
        parse_period("2025-02-01", "2025-01-31", TZ)


def test_months_between():
    assert months_between("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert months_between("2025-03", "2025-03") == ["2025-03"]
    assert months_between("2025-03", "2025-02") == []


def test_month_windows_are_where_local_and_utc_months_differ():
    # London: only the month starts in summer time (April to October) differ, by an hour
    assert month_windows(TZ, date(2025, 1, 1), date(2025, 12, 31)) == tuple(
        (datetime(2025, m, 1, tzinfo=UTC) - timedelta(hours=1), datetime(2025, m, 1, tzinfo=UTC),
         f"2025-{m:02d}") for m in range(4, 11))
    assert month_windows("UTC", date(2000, 1, 1), date(2030, 1, 1)) == ()
    # west of UTC: the first hours of a UTC month are still the previous local month
    new_york = month_windows("America/New_York", date(2025, 1, 15), date(2025, 1, 20))
    assert (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, 5, tzinfo=UTC),
            "2024-12") in new_york


def test_percentile_cont():
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([4], 0.9) == 4
    assert percentile_cont([1, 3, 5], 0.5) == 3
    assert percentile_cont([1, 3, 5], 0.9) == pytest.approx(4.6)
    assert percentile_cont([2, 10], 0.5) == 6
    assert percentile_cont([1, 2, 3, 4], 1.0) == 4 and percentile_cont([1, 2, 3, 4], 0) == 1
    assert ratio(1, 0) is None and ratio(3, 4) == 0.75


def test_durations_for_people():
    assert duration(None) == "—"
    assert duration(35 * 60) == "35 min"
    assert duration(3 * 3600 + 5 * 60) == "3 h 05 min"
    assert duration(100 * 3600) == "4 d 4 h"


def test_horizontal_bars_scale_to_the_largest():
    chart = charts.horizontal("t", [("A", 10, "10"), ("B", 5, "5"), ("C", 0, "0")], width=520)
    plot = 520 - charts.LABEL_W - charts.VALUE_W
    assert [b.width for b in chart.bars] == [plot, plot / 2, 0]
    assert all(b.x == charts.LABEL_W for b in chart.bars)
    assert [b.y for b in chart.bars] == [11, 33, 55]
    assert chart.height == 16 + 3 * charts.ROW
    assert [t.text for t in chart.texts] == ["A", "10", "B", "5", "C", "0"]


def test_columns_label_at_most_about_twelve():
    items = [(f"m{i}", float(i), str(i)) for i in range(36)]
    chart = charts.columns("t", items, width=740, plot_height=100)
    assert len(chart.bars) == 36
    assert chart.bars[-1].height == 100 and chart.bars[0].height == 0
    assert chart.bars[-1].y == 18 and chart.bars[0].y == 118
    labels = [t.text for t in chart.texts]
    assert labels == [f"m{i}" for i in range(0, 36, 3)]  # no values printed above 24 columns
    assert charts.columns("t", []).bars == []
    small = charts.columns("t", [("a", 0, "0"), ("b", 2, "2")])
    assert [t.text for t in small.texts] == ["a", "2", "b"]  # zero values are not printed
