"""The reports page (tables beside SVG charts) and each table as CSV. Aggregates only: no
names, prison numbers or handles appear anywhere here."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.audit.service import record
from app.auth.deps import Principal, SettingsDep, requires
from app.auth.permissions import Permission as P
from app.db import SessionDep, utcnow
from app.errors import AppError, NotFound
from app.reports import service
from app.reports.period import Period, local_today, parse_period
from app.web import render

router = APIRouter()
Reader = Annotated[Principal, Depends(requires(P.reports_read))]
Day = Annotated[str, Query(max_length=10)]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@router.get("/reports")
def reports_page(request: Request, db: SessionDep, who: Reader, settings: SettingsDep,
                 start: Day = "", end: Day = "") -> Response:
    form = {"start": start, "end": end}
    try:
        period = parse_period(start, end, settings.local_timezone)
    except AppError as exc:
        return render(request, "reports/report.html", {"report": None, "form": form,
                                                       "error": exc.message},
                      status_code=exc.status_code)
    report = service.build_report(db, period, local_today(period.tz))
    return render(request, "reports/report.html", {
        "report": report, "charts": service.report_charts(report), "form": form, "error": "",
        "query": _query(period), "duration": service.duration, "percent": service.percent})


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
def report_csv(table: str, db: SessionDep, who: Reader, settings: SettingsDep,
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
    db.commit()
    name = f"cellwatch-{table}-{period.slug}-{utcnow():%Y%m%d}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
