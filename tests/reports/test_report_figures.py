"""Report figures against the hand-worked numbers of the fixed data set (conftest), on SQLite
and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from app.accounts.models import Account
from app.reports.by_establishment import NO_ESTABLISHMENT, establishment_rows
from app.reports.by_platform import platform_rows
from app.reports.period import Period
from app.reports.removals import monthly_removals, yearly
from app.reports.stats import percentile_cont
from app.takedowns.models import Takedown

BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
TZ = "Europe/London"
ALL = Period(None, None, TZ)
Q1 = Period(date(2025, 1, 1), date(2025, 3, 31), TZ)
TODAY = date(2025, 7, 15)
H = 3600


def figures(row) -> tuple:
    return (row.name, row.requests, row.sent, row.removed, row.refused, row.withdrawn,
            row.awaiting, row.removal_rate, row.median_seconds, row.p90_seconds,
            row.notices_per_removal)


@BOTH
def test_platforms_all_time(session, data):
    rows = [figures(r) for r in platform_rows(session, ALL)]
    assert rows == [
        ("Instagram", 5, 4, 3, 1, 0, 0, 0.75, 3 * H, 4.6 * H, 2.0),
        ("TikTok", 3, 3, 2, 0, 1, 0, 1.0, 6 * H, 9.2 * H, 2.5),
        ("X", 1, 1, 0, 0, 0, 1, None, None, None, None),
    ]


@BOTH
def test_platforms_for_takedowns_created_in_a_period(session, data):
    # Instagram: the 1 h and 3 h removals, the refusal and the draft; TikTok: the 10 h removal
    # (created 29 March); the TikTok removal created on 31 December is outside.
    rows = [figures(r) for r in platform_rows(session, Q1)]
    assert rows == [
        ("Instagram", 4, 3, 2, 1, 0, 0, 2 / 3, 2 * H, 2.8 * H, 1.5),
        ("TikTok", 1, 1, 1, 0, 0, 0, 1.0, 10 * H, 10 * H, 4.0),
        ("X", 1, 1, 0, 0, 0, 1, None, None, None, None),
    ]
    assert platform_rows(session, Period(date(2030, 1, 1), None, TZ)) == []


def establishment_figures(rows) -> list[tuple]:
    return [(r.code, r.name, r.accounts, r.attributions, r.searches, r.completed, r.phones,
             r.sim_cards, r.chargers, r.other_items, r.finds) for r in rows]


def evidence_figures(rows) -> list[tuple]:
    return [(r.code, r.images, r.videos) for r in rows]


@BOTH
def test_establishments(session, data):
    assert establishment_figures(establishment_rows(session, ALL)) == [
        ("LEI", "HMP Leicester", 1, 1, 1, 1, 0, 0, 1, 3, 4),
        ("MDI", "HMP Moorland", 4, 2, 3, 2, 7, 1, 0, 0, 8),
        ("", NO_ESTABLISHMENT, 1, 1, 0, 0, 0, 0, 0, 0, 0),
    ]
    year = Period(date(2025, 1, 1), date(2025, 12, 31), TZ)
    assert establishment_figures(establishment_rows(session, year)) == [
        ("LEI", "HMP Leicester", 1, 1, 1, 1, 0, 0, 1, 3, 4),
        ("MDI", "HMP Moorland", 3, 2, 2, 1, 2, 1, 0, 0, 3),
        ("", NO_ESTABLISHMENT, 1, 1, 0, 0, 0, 0, 0, 0, 0),
    ]
    # Only January: the a5 attribution (1 February) and the MDI open search (10 February) drop
    january = Period(date(2025, 1, 1), date(2025, 1, 31), TZ)
    assert establishment_figures(establishment_rows(session, january)) == [
        ("LEI", "HMP Leicester", 1, 1, 1, 1, 0, 0, 1, 3, 4),
        ("MDI", "HMP Moorland", 3, 2, 1, 1, 2, 1, 0, 0, 3),
        ("", NO_ESTABLISHMENT, 1, 0, 0, 0, 0, 0, 0, 0, 0),
    ]


@BOTH
def test_images_and_videos_taken_in_each_their_own_figure(session, data):
    # MDI: 2 photos and a video in 2025 (its 2 frames not counted as images), a photo in 2024
    assert evidence_figures(establishment_rows(session, ALL)) == [
        ("LEI", 1, 0), ("MDI", 3, 1), ("", 0, 1)]
    year = Period(date(2025, 1, 1), date(2025, 12, 31), TZ)
    assert evidence_figures(establishment_rows(session, year)) == [
        ("LEI", 1, 0), ("MDI", 2, 1), ("", 0, 1)]
    # Q1: the video of the account with no establishment (10 April) drops
    assert evidence_figures(establishment_rows(session, Q1)) == [
        ("LEI", 1, 0), ("MDI", 2, 1), ("", 0, 0)]
    spring = Period(date(2025, 4, 1), date(2025, 4, 30), TZ)  # nothing else that month
    assert evidence_figures(establishment_rows(session, spring)) == [("", 0, 1)]


def series(rows) -> list[tuple]:
    return [(r.month, r.removed) for r in rows]


@BOTH
def test_removals_by_local_month_and_year(session, data):
    months = monthly_removals(session, ALL, TODAY)
    # 31 Dec 23:30 UTC stays in December (GMT); 31 Mar and 31 May 23:30 UTC are April and June
    assert series(months) == [("2024-12", 1), ("2025-01", 1), ("2025-02", 0), ("2025-03", 1),
                              ("2025-04", 1), ("2025-05", 0), ("2025-06", 1), ("2025-07", 0)]
    assert [(y.year, y.removed) for y in yearly(months)] == [("2024", 1), ("2025", 4)]
    assert months[0].label == "Dec 2024"


@BOTH
def test_removals_in_a_period_start_and_end_at_local_midnight(session, data):
    # 1 April starts at 31 March 23:00 UTC: the removal at 23:30 UTC is April's, not Q1's
    assert series(monthly_removals(session, Q1, TODAY)) == [
        ("2025-01", 1), ("2025-02", 0), ("2025-03", 1)]
    q2 = Period(date(2025, 4, 1), date(2025, 6, 30), TZ)
    assert series(monthly_removals(session, q2, TODAY)) == [
        ("2025-04", 1), ("2025-05", 0), ("2025-06", 1)]
    since_june = Period(date(2025, 6, 1), None, TZ)  # up to today's month
    assert series(monthly_removals(session, since_june, TODAY)) == [
        ("2025-06", 1), ("2025-07", 0)]
    nothing = Period(date(2030, 1, 1), date(2030, 2, 28), TZ)
    assert series(monthly_removals(session, nothing, TODAY)) == [("2030-01", 0), ("2030-02", 0)]


def test_no_removals_at_all_is_an_empty_series(session):
    assert monthly_removals(session, ALL, TODAY) == []


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_percentiles_match_postgresql_percentile_cont(session):
    values = [7, 1, 3, 3, 10, 22, 5, 8, 13, 2, 40]
    for fraction in (0.0, 0.1, 0.5, 0.9, 0.95, 1.0):
        expected = session.execute(text(
            "SELECT percentile_cont(:f) WITHIN GROUP (ORDER BY v) FROM unnest(:vs) AS v"),
            {"f": fraction, "vs": values}).scalar_one()
        assert percentile_cont(sorted(values), fraction) == pytest.approx(expected), fraction


@BOTH
@pytest.mark.parametrize("tz", ["Europe/London", "America/New_York", "Asia/Kolkata"])
def test_local_months_agree_with_zoneinfo(session, make_user, tz):
    """Instants around every month start (and random ones) land in the month zoneinfo says."""
    user = make_user("analyst")
    account = Account(platform="x", handle="zz")
    session.add(account)
    session.flush()
    rng = random.Random(5)
    instants = [datetime(2024, m, 1, tzinfo=UTC) + timedelta(minutes=d)
                for m in range(1, 13) for d in (-361, -331, -61, -59, -1, 0, 1, 59, 61, 331)]
    instants += [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(366 * 86400))
                 for _ in range(200)]
    session.add_all([Takedown(account_id=account.id, platform="x", state="removed",
                              reason="r", author_id=user.id, resolved_at=when)
                     for when in instants])
    session.flush()
    expected = Counter(f"{w.astimezone(ZoneInfo(tz)):%Y-%m}" for w in instants)
    got = {r.month: r.removed for r in monthly_removals(session, Period(None, None, tz),
                                                        date(2025, 1, 1)) if r.removed}
    assert got == dict(expected)
