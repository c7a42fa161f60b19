"""SQL pieces that differ between SQLite and PostgreSQL but give the same numbers."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, Text, and_, case, cast, func
from sqlmodel import Session

from app.reports.period import Period, month_windows


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def in_period(column: ColumnElement[datetime], period: Period) -> list[ColumnElement[bool]]:
    where = []
    if (start := period.utc_start) is not None:
        where.append(column >= start)
    if (end := period.utc_end) is not None:
        where.append(column < end)
    return where


def seconds_between(session: Session, start: ColumnElement[datetime],
                    end: ColumnElement[datetime]) -> ColumnElement[int]:
    """Whole seconds from start to end, each truncated to its second first (both databases)."""
    if dialect(session) == "postgresql":
        span = func.date_trunc("second", end) - func.date_trunc("second", start)
        return cast(func.extract("epoch", span), Integer)
    if sqlite3.sqlite_version_info >= (3, 38):  # unixepoch(): the same, and faster
        return func.unixepoch(end) - func.unixepoch(start)
    return (cast(func.strftime("%s", end), Integer)
            - cast(func.strftime("%s", start), Integer))


def joined(session: Session, value: ColumnElement[int]) -> ColumnElement[str]:
    """The group's non-null values as one comma-separated text (order not guaranteed)."""
    if dialect(session) == "postgresql":
        return func.string_agg(cast(value, Text), ",")
    return func.group_concat(value, ",")


def local_month(session: Session, column: ColumnElement[datetime], tz: str,
                lo: datetime, hi: datetime) -> ColumnElement[str]:
    """'YYYY-MM' of the instant in the zone `tz`, for instants from lo to hi. PostgreSQL uses
    its own time-zone data. SQLite takes the UTC month from the stored text and corrects the
    instants that fall between a month's UTC and local start (for Europe/London: the last hour
    of a UTC month in summer time); only instants on the 28th-1st are tested for that."""
    if dialect(session) == "postgresql":
        return func.to_char(func.timezone(tz, func.timezone("UTC", column)), "YYYY-MM")
    utc_month = func.substr(column, 1, 7)
    windows = month_windows(tz, lo.date(), hi.date())
    if not windows:
        return utc_month
    day = func.substr(column, 9, 2)
    return case((day.not_in(["28", "29", "30", "31", "01"]), utc_month),
                *[(and_(column >= start, column < end), label) for start, end, label in windows],
                else_=utc_month)
