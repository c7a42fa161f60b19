"""The reports page (tables beside SVG charts) and each table as CSV. Aggregates only: no
names, prison numbers or handles appear anywhere here."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.audit.service import record
from app.auth.deps import SettingsDep
from app.auth.guards import ReportReader
from app.db import SessionDep, utcnow
from app.errors import AppError, NotFound
from app.reports import service
from app.reports.period import Period, parse_period
from app.web import render
from app.web.dates import local_today
from app.web.forms import refused

router = APIRouter()
Day = Annotated[str, Query(max_length=10)]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _report_page(request: Request, report: service.Report | None = None, *,
                 form: dict[str, str], error: str = "", status: int = 200) -> Response:
    context: dict[str, Any] = {"report": report, "form": form, "error": error}
    if report is not None:
        context.update(charts=service.report_charts(report), query=_query(report.period),
                       duration=service.duration, percent=service.percent)
    return render(request, "reports/report.html", context, status_code=status)


@router.get("/reports")
def reports_page(request: Request, db: SessionDep, who: ReportReader, settings: SettingsDep,
                 start: Day = "", end: Day = "") -> Response:
    form = {"start": start, "end": end}
    try:
        period = parse_period(start, end, settings.local_timezone)
    except AppError as exc:
        return refused(db, exc, _report_page, request, form=form)
    return _report_page(request, service.build_report(db, period, local_today(period.tz)),
                        form=form)


def _query(period: Period) -> str:
    parts = [f"start={period.start}" if period.start else "",
             f"end={period.end}" if period.end else ""]
    joined = "&".join(p for p in parts if p)
    return f"?{joined}" if joined else ""


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value  # a spreadsheet must not read it as a formula
    return value


@router.get("/reports/{table}.csv")
def report_csv(table: str, db: SessionDep, who: ReportReader, settings: SettingsDep,
               start: Day = "", end: Day = "") -> Response:
    if table not in service.TABLES:
        raise NotFound(f"There is no report table {table[:40]!r}: choose one of "
                       f"{', '.join(service.TABLES)}.")
    period = parse_period(start, end, settings.local_timezone)
    header, table_rows = service.TABLES[table]
    rows = table_rows(db, period, local_today(period.tz))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    record(db, who.actor, "report.export", object_type="report", object_ids=[table],
           details={"start": str(period.start or ""), "end": str(period.end or ""),
                    "rows": len(rows)})
    name = f"cellwatch-{table}-{period.slug}-{utcnow():%Y%m%d}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
