"""Where a page's time goes: SQL statements (timed by SQLAlchemy events) vs everything else.

Used by national_scale.py --profile: the app runs in-process (fastapi TestClient), every
statement's wall time is summed per normalised statement, and the query plans of the slowest
are printed (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, text

from app.main import create_app
from app.settings import Settings
from bench.scale_support import PASSWORD


def _shape(statement: str) -> str:
    s = re.sub(r"\s+", " ", statement)
    s = re.sub(r"\(\s*(\?|%\([^)]*\)s(::\w+)?)(\s*,\s*(\?|%\([^)]*\)s(::\w+)?))*\s*\)", "(…)", s)
    return s[:400]


def profile(url: str, data_dir: Path, paths: dict[str, list[str]], n: int = 30) -> dict:
    app = create_app(Settings(database_url=url, data_dir=data_dir,  # one user, many reads
                              read_budget_per_hour=100_000_000, read_budget_per_day=100_000_000))
    timings: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    samples: dict[str, tuple[str, Any, float]] = {}
    current = {"page": ""}

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        conn.info.setdefault("t0", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        ms = (time.perf_counter() - conn.info["t0"].pop()) * 1000
        shape = _shape(statement)
        timings[current["page"]][shape].append(ms)
        if ms >= samples.get(shape, ("", None, -1.0))[2]:  # plan of the slowest call
            samples[shape] = (statement, parameters, ms)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    out: dict[str, Any] = {}
    with TestClient(app) as client:
        page = client.get("/login").text
        token = re.search(r'value="([^"]+)" id="login-csrf"', page)
        assert token
        client.post("/login", data={"username": "bench-analyst", "password": PASSWORD,
                                    "csrf_token": token.group(1)}, follow_redirects=False)
        for name, urls in paths.items():
            current["page"] = "warm-up"
            for path in urls[-3:]:  # first renders compile templates; not counted
                client.get(path)
            current["page"] = name
            wall = []
            for path in urls[:n]:
                t = time.perf_counter()
                response = client.get(path)
                wall.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            stmts = timings[name]
            sql_total = sum(sum(v) for v in stmts.values()) / len(wall)
            top = sorted(stmts.items(), key=lambda kv: -sum(kv[1]))[:6]
            out[name] = {
                "requests": len(wall), "wall_ms_mean": round(sum(wall) / len(wall), 2),
                "sql_ms_mean": round(sql_total, 2),
                "statements_per_request": round(sum(len(v) for v in stmts.values()) / len(wall),
                                                1),
                "top": [{"ms_per_request": round(sum(v) / len(wall), 2), "calls": len(v),
                         "max_ms": round(max(v), 2), "sql": shape} for shape, v in top],
            }
    # query plans of the two slowest statements of each page
    with engine.connect() as conn:
        for info in out.values():
            for entry in info["top"][:2]:
                statement, params, _ = samples[entry["sql"]]
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                try:
                    if engine.dialect.name == "sqlite":
                        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                    params).all()
                        entry["plan"] = [r[-1] for r in rows]
                    else:
                        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement,
                                                    params).all()
                        entry["plan"] = [r[0] for r in rows]
                except Exception as exc:  # noqa: BLE001 - a plan is a nice-to-have
                    entry["plan"] = [f"(no plan: {exc.__class__.__name__})"]
                    conn.rollback()
        conn.execute(text("SELECT 1"))
    engine.dispose()
    return out


def render(profiles: dict[str, dict]) -> str:
    lines = []
    for db, pages in profiles.items():
        lines += ["", f"### {db}: SQL vs the rest, per request (in-process, mean)"]
        for name, info in pages.items():
            lines += ["", f"**{name}**: {info['wall_ms_mean']:.1f} ms per request, of which SQL "
                      f"{info['sql_ms_mean']:.1f} ms in {info['statements_per_request']} "
                      "statements. Slowest statements:"]
            for entry in info["top"][:4]:
                lines.append(f"- {entry['ms_per_request']:.2f} ms/request ({entry['calls']} "
                             f"calls, max {entry['max_ms']:.1f} ms): `{entry['sql'][:240]}`")
                for plan in entry.get("plan", [])[:12]:
                    lines.append(f"    - plan: `{plan}`")
    return "\n".join(lines) + "\n"
