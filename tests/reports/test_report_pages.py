"""The reports page and its CSV downloads: who may see them, the figures, no personal data."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.estate.models import Establishment

Q1 = {"start": "2025-01-01", "end": "2025-03-31"}
PERSONAL = ("cellking", "A1234BC", "B2345CD", "Smith", "Jones", "Brown", "John")


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.text)))


@pytest.mark.parametrize("role", ["analyst", "supervisor", "auditor"])
def test_readers(as_role, data, role):
    client, _ = as_role(role)
    page = client.get("/reports")
    assert page.status_code == 200
    assert client.get("/reports/months.csv").status_code == 200
    assert 'href="/reports"' in page.text  # the nav entry


def test_admins_are_refused(as_role, data):
    client, _ = as_role("admin")
    for path in ("/reports", "/reports/platforms.csv", "/reports/years.csv"):
        assert client.get(path).status_code == 403, path


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_the_page_shows_tables_and_charts(as_role, data):
    client, _ = as_role("analyst")
    page = client.get("/reports", params=Q1)
    assert page.status_code == 200
    html = page.text
    assert "1 Jan 2025 to 31 Mar 2025" in html
    assert html.count("<svg") == 3 and "<rect" in html
    assert "style=" not in html and "<style" not in html and "<script>" not in html
    # Instagram: 4 requests, 3 sent, 2 removed, 1 refused; 66.7 %; 2 h median; 2 h 48 min p90
    assert ("<td>Instagram</td><td>4</td><td>3</td><td>2</td><td>1</td><td>0</td><td>0</td>"
            in html)
    assert "66.7 %" in html and "2 h 00 min" in html and "2 h 48 min" in html
    assert "<td>Mar 2025</td><td>1</td>" in html and "<td>2025</td><td>2</td>" in html
    # by establishment: accounts, images, videos (the video's frames not among the images)
    assert '<abbr title="HMP Moorland">MDI</abbr></td>\n    <td>3</td><td>2</td><td>1</td>' in html
    assert 'href="/reports/platforms.csv?start=2025-01-01&amp;end=2025-03-31"' in html
    for word in PERSONAL:
        assert word not in html, word


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_csv_tables(as_role, data, session):
    client, user = as_role("auditor")
    r = client.get("/reports/platforms.csv", params=Q1)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith(
        'attachment; filename="cellwatch-platforms-2025-01-01_2025-03-31-')
    assert rows(r) == [
        ["platform", "requests", "sent", "removed", "refused", "withdrawn",
         "awaiting_platform", "removal_rate_percent", "median_hours_to_removal",
         "p90_hours_to_removal", "notices_per_removal"],
        ["Instagram", "4", "3", "2", "1", "0", "0", "66.7", "2.00", "2.80", "1.50"],
        ["TikTok", "1", "1", "1", "0", "0", "0", "100.0", "10.00", "10.00", "4.00"],
        ["X", "1", "1", "0", "0", "0", "1", "", "", "", ""],
    ]
    assert rows(client.get("/reports/establishments.csv")) == [
        ["establishment_code", "establishment", "accounts", "images_taken_in",
         "videos_taken_in", "confirmed_attributions", "searches_requested",
         "searches_completed", "phones", "sim_cards", "chargers", "other_items", "items_found"],
        ["LEI", "HMP Leicester", "1", "1", "0", "1", "1", "1", "0", "0", "1", "3", "4"],
        ["MDI", "HMP Moorland", "4", "3", "1", "2", "3", "2", "7", "1", "0", "0", "8"],
        ["", "No establishment yet", "1", "0", "1", "1", "0", "0", "0", "0", "0", "0", "0"],
    ]
    year = {"start": "2024-12-01", "end": "2025-07-31"}
    assert rows(client.get("/reports/months.csv", params=year)) == [
        ["month", "accounts_removed"], ["2024-12", "1"], ["2025-01", "1"], ["2025-02", "0"],
        ["2025-03", "1"], ["2025-04", "1"], ["2025-05", "0"], ["2025-06", "1"],
        ["2025-07", "0"]]
    assert rows(client.get("/reports/years.csv", params=year)) == [
        ["year", "accounts_removed"], ["2024", "1"], ["2025", "4"]]
    everything = "".join(client.get(f"/reports/{t}.csv").text
                         for t in ("platforms", "establishments", "months", "years"))
    for word in PERSONAL:
        assert word not in everything, word
    exports = session.exec(select(AuditEvent).where(AuditEvent.action == "report.export")).all()
    assert len(exports) == 8 and exports[0].actor_name == user.username
    assert json.loads(exports[0].object_ids) == ["platforms"]
    assert json.loads(exports[0].details) == {"start": "2025-01-01", "end": "2025-03-31",
                                              "rows": 3}


def test_bad_input(as_role, data):
    client, _ = as_role("analyst")
    r = client.get("/reports", params={"start": "31/01/2025"})
    assert r.status_code == 422 and "is not a date" in r.text and 'value="31/01/2025"' in r.text
    r = client.get("/reports", params={"start": "2025-02-01", "end": "2025-01-01"})
    assert r.status_code == 422 and "before the" in r.text
    r = client.get("/reports/months.csv", params={"end": "soon"})
    assert r.status_code == 422
    r = client.get("/reports/prisoners.csv")
    assert r.status_code == 404 and "choose one of platforms" in r.text


def test_a_name_that_looks_like_a_formula_is_defused(as_role, data, session):
    est = session.exec(select(Establishment).where(Establishment.code == "MDI")).one()
    est.name = "=HYPERLINK(\"http://x\")"
    session.add(est)
    session.commit()
    client, _ = as_role("analyst")
    (_, mdi) = [row for row in rows(client.get("/reports/establishments.csv"))
                if row[0] in ("MDI", "establishment_code")]
    assert mdi[1] == "'=HYPERLINK(\"http://x\")"


def test_an_empty_database_reports_nothing(as_role):
    client, _ = as_role("analyst")
    page = client.get("/reports")
    assert page.status_code == 200 and "No takedowns were created" in page.text
    assert rows(client.get("/reports/years.csv")) == [["year", "accounts_removed"]]


def test_the_time_chart_prints_its_values_in_the_units_it_names(as_role, data):
    """The chart's title names no unit its bars do not use: each bar reads as a duration."""
    client, _ = as_role("analyst")
    page = client.get("/reports").text
    chart = page.split('<figcaption>Median time from first notice to removal</figcaption>')[1]
    chart = chart.split("</figure>")[0]
    assert "hours" not in chart
    # Instagram: median 3 h; TikTok: median 6 h (see conftest), printed as such
    assert "<title>Instagram: 3 h 00 min</title>" in chart
    assert "<title>TikTok: 6 h 00 min</title>" in chart
    assert ">3 h 00 min</text>" in chart and ">6 h 00 min</text>" in chart
