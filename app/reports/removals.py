"""Accounts removed per month and per year: the series a freedom-of-information request asks
for. One removal = one takedown recorded as removed, counted in the month (local time) of its
resolved_at; a year is the sum of its months, so the two tables always agree."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.reports.period import Period, month_of, months_between
from app.reports.sql import in_period, local_month
from app.takedowns.machine import State
from app.takedowns.models import Takedown

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class MonthRow:
    month: str  # YYYY-MM
    removed: int

    @property
    def label(self) -> str:
        return f"{_MONTHS[int(self.month[5:7]) - 1]} {self.month[:4]}"


@dataclass(frozen=True)
class YearRow:
    year: str
    removed: int


def _aware(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):  # some drivers skip the column type on aggregates
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def monthly_removals(session: Session, period: Period, today: date) -> list[MonthRow]:
    """Every month from the period's start (or the first removal) to its end (or `today`, the
    local day), with zero for months without a removal."""
    resolved = col(Takedown.resolved_at)
    where = [Takedown.state == State.removed.value, resolved.is_not(None),
             *in_period(resolved, period)]
    lo, hi = period.utc_start, period.utc_end
    if lo is None or hi is None:  # the span the local-month expression must cover
        earliest, latest = session.exec(select(func.min(resolved), func.max(resolved))
                                        .where(*where)).one()
        lo, hi = lo or _aware(earliest), hi or _aware(latest)
    counts: Counter[str] = Counter()
    if lo is not None and hi is not None:
        month = local_month(session, resolved, period.tz, lo, hi).label("month")
        for label, n in session.exec(
                select(month, func.count()).where(*where).group_by(month)).all():
            counts[label] = int(n)
    first = month_of(period.start) if period.start else min(counts, default=None)
    if first is None:
        return []
    last = month_of(period.end or today)
    last = max(last, max(counts, default=last))
    return [MonthRow(m, counts.get(m, 0)) for m in months_between(first, last)]


def yearly(months: list[MonthRow]) -> list[YearRow]:
    totals: Counter[str] = Counter()
    for row in months:
        totals[row.month[:4]] += row.removed
    return [YearRow(year, totals[year]) for year in sorted(totals)]
