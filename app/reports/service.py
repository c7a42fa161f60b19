"""The whole report for a period, and its tables as CSV rows. Reads only; never commits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from app.reports import charts
from app.reports.by_establishment import EstablishmentRow, establishment_rows
from app.reports.by_platform import PlatformRow, platform_rows
from app.reports.period import Period
from app.reports.removals import MonthRow, YearRow, monthly_removals, yearly


@dataclass(frozen=True)
class Report:
    period: Period
    platforms: list[PlatformRow]
    establishments: list[EstablishmentRow]
    months: list[MonthRow]
    years: list[YearRow]


def build_report(session: Session, period: Period, today: date) -> Report:
    months = monthly_removals(session, period, today)
    return Report(period, platform_rows(session, period), establishment_rows(session, period),
                  months, yearly(months))


def hours(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 3600:.2f}"


def percent(fraction: float | None) -> str:
    return "" if fraction is None else f"{fraction * 100:.1f}"


def decimal(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def duration(seconds: float | None) -> str:
    """For people: 35 min, 3 h 05 min, 4 d 3 h."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    return f"{h} h {m:02d} min" if h < 48 else f"{h // 24} d {h % 24} h"


def _platforms(session: Session, period: Period, today: date) -> list[list[Any]]:
    return [[p.name, p.requests, p.sent, p.removed, p.refused, p.withdrawn, p.awaiting,
             percent(p.removal_rate), hours(p.median_seconds), hours(p.p90_seconds),
             decimal(p.notices_per_removal)] for p in platform_rows(session, period)]


def _establishments(session: Session, period: Period, today: date) -> list[list[Any]]:
    return [[e.code, e.name, e.accounts, e.images, e.videos, e.attributions, e.searches,
             e.completed, e.phones, e.sim_cards, e.chargers, e.other_items, e.finds]
            for e in establishment_rows(session, period)]


def _months(session: Session, period: Period, today: date) -> list[list[Any]]:
    return [[m.month, m.removed] for m in monthly_removals(session, period, today)]


def _years(session: Session, period: Period, today: date) -> list[list[Any]]:
    return [[y.year, y.removed] for y in yearly(monthly_removals(session, period, today))]


Rows = Callable[[Session, Period, date], list[list[Any]]]

# Every CSV table: its header and its rows. Aggregates only, by platform, establishment or time.
TABLES: dict[str, tuple[list[str], Rows]] = {
    "platforms": (["platform", "requests", "sent", "removed", "refused", "withdrawn",
                   "awaiting_platform", "removal_rate_percent", "median_hours_to_removal",
                   "p90_hours_to_removal", "notices_per_removal"], _platforms),
    "establishments": (["establishment_code", "establishment", "accounts",
                        "images_taken_in", "videos_taken_in", "confirmed_attributions",
                        "searches_requested", "searches_completed",
                        "phones", "sim_cards", "chargers", "other_items", "items_found"],
                       _establishments),
    "months": (["month", "accounts_removed"], _months),
    "years": (["year", "accounts_removed"], _years),
}


def report_charts(report: Report) -> dict[str, charts.Chart]:
    return {
        # the bars' lengths are times; each is printed in the unit that reads best (35 min,
        # 3 h 05 min, 4 d 4 h), so the title names no unit
        "platforms": charts.horizontal(
            "Median time from first notice to removal",
            [(p.name, p.median_seconds or 0, duration(p.median_seconds))
             for p in report.platforms]),
        "establishments": charts.horizontal(
            "Items found in cell searches",
            [(e.code, e.finds, str(e.finds)) for e in report.establishments if e.code]),
        "months": charts.columns(
            "Accounts removed per month",
            [(m.label, m.removed, str(m.removed)) for m in report.months]),
    }
