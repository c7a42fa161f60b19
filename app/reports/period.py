"""The date range a report covers, in the unit's local time, and local months from UTC. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from app.errors import Unprocessable
from app.web.dates import day_start, local_day, parse_date


@dataclass(frozen=True)
class Period:
    """Local days, both inclusive; None: open-ended."""

    start: date | None
    end: date | None
    tz: str

    def _midnight(self, day: date) -> datetime:
        return day_start(day, self.tz).astimezone(UTC)

    @property
    def utc_start(self) -> datetime | None:
        return None if self.start is None else self._midnight(self.start)

    @property
    def utc_end(self) -> datetime | None:
        """Exclusive: local midnight after the last day."""
        return None if self.end is None else self._midnight(self.end + timedelta(days=1))

    @property
    def words(self) -> str:
        if self.start and self.end:
            return f"{local_day(self.start, self.tz)} to {local_day(self.end, self.tz)}"
        if self.start:
            return f"from {local_day(self.start, self.tz)}"
        return f"up to {local_day(self.end, self.tz)}" if self.end else "all time"

    @property
    def slug(self) -> str:
        return f"{self.start or 'start'}_{self.end or 'now'}"


def parse_period(start: str, end: str, tz: str) -> Period:
    period = Period(parse_date(start, "from date"), parse_date(end, "to date"), tz)
    if period.start and period.end and period.end < period.start:
        raise Unprocessable("The “to” date is before the “from” date.")
    return period


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every 'YYYY-MM' from first to last, both included."""
    year, month = int(first[:4]), int(first[5:7])
    out: list[str] = []
    while (label := f"{year:04d}-{month:02d}") <= last:
        out.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


@lru_cache(maxsize=64)
def month_windows(tz: str, lo: date, hi: date) -> tuple[tuple[datetime, datetime, str], ...]:
    """Where the local month differs from the UTC month, for instants from lo to hi: the UTC
    spans [from, to) between each month's local and UTC start, and the local month they are
    in. East of UTC the local month starts first (the span belongs to the new month); west of
    UTC it starts later (the span still belongs to the old one)."""
    zone, out = ZoneInfo(tz), []
    year, month = (lo.year - 1, 12) if lo.month == 1 else (lo.year, lo.month - 1)
    while (year, month) <= _next(hi.year, hi.month):
        utc_start = datetime(year, month, 1, tzinfo=UTC)
        local_start = datetime(year, month, 1, tzinfo=zone).astimezone(UTC)
        if local_start < utc_start:
            out.append((local_start, utc_start, f"{year:04d}-{month:02d}"))
        elif local_start > utc_start:
            before = (year - 1, 12) if month == 1 else (year, month - 1)
            out.append((utc_start, local_start, f"{before[0]:04d}-{before[1]:02d}"))
        year, month = _next(year, month)
    return tuple(out)
