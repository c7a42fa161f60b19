"""The full reports page at scale: 100,000 takedowns and 300,000 notices, SQLite and PostgreSQL.

Run: .venv/bin/python -m bench.reports_scale [--takedowns 100000] [--runs 30] [--sqlite-only]
Target: p95 <= 500 ms for GET /reports (all time, through the app: auth, queries, render).
Also timed: one year's range, each service function alone, and one CSV table.
Writes bench/results/reports_scale.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlmodel import Session

from app import migrations
from app.accounts.models import Account, Attribution
from app.auth.models import User
from app.auth.passwords import hash_password
from app.cellsearch.models import CellSearch
from app.db import make_engine
from app.estate.models import Cell, Establishment, Prisoner
from app.main import create_app
from app.reports.by_establishment import establishment_rows
from app.reports.by_platform import platform_rows
from app.reports.period import Period
from app.reports.removals import monthly_removals
from app.settings import Settings
from app.takedowns.models import Notice, Takedown

RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "benchmark password 1"
TZ = "Europe/London"
PLATFORMS = [("instagram", 30), ("tiktok", 25), ("facebook", 15), ("x", 10), ("snapchat", 10),
             ("youtube", 5), ("telegram", 5)]
STATES = [("removed", 60), ("refused", 10), ("withdrawn", 5), ("acknowledged", 6), ("sent", 4),
          ("approved", 5), ("awaiting_approval", 5), ("draft", 5)]
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_S = 3 * 365 * 86400  # three years of takedowns


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def chunks(rows: list[dict[str, Any]], size: int = 20000) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def load(engine: Engine, n_takedowns: int, n_notices: int, seed: int = 7) -> dict[str, int]:
    """Synthetic rows by Core executemany (no ORM objects); returns how many of each."""
    rng = random.Random(seed)
    n_est, cells_per, n_prisoners = 120, 20, 20000
    n_accounts, n_searches = n_takedowns * 8 // 10, n_takedowns // 10
    now = datetime(2026, 1, 1, tzinfo=UTC)
    counts: dict[str, int] = {}

    def put(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
        for part in chunks(rows):
            conn.execute(insert(table.__table__), part)
        counts[table.__tablename__] = counts.get(table.__tablename__, 0) + len(rows)

    with engine.begin() as conn:
        put(conn, User, [{"id": 1, "username": "bench-analyst", "role": "analyst",
                          "password_hash": hash_password(PASSWORD),
                          "must_change_password": False, "created_at": now}])
        put(conn, Establishment, [{"id": i + 1, "code": f"{chr(65 + i // 26)}{chr(65 + i % 26)}Z",
                                   "name": f"HMP {i}",
                                   "category": "C", "region": "", "updated_at": now}
                                  for i in range(n_est)])
        put(conn, Cell, [{"id": i + 1, "establishment_id": i // cells_per + 1,
                          "label": f"A-1-{i % cells_per:03d}", "wing": "A", "landing": "1",
                          "capacity": 2, "updated_at": now} for i in range(n_est * cells_per)])
        put(conn, Prisoner, [{"id": i + 1,
                              "prison_number": f"{chr(65 + i // 10000)}{i % 10000:04d}BC",
                              "surname": "S", "forenames": "F", "surname_key": "s",
                              "forenames_key": "f", "date_of_birth": date(1990, 1, 1),
                              "updated_at": now} for i in range(n_prisoners)])
        accounts = []
        for i in range(n_accounts):
            created = START + timedelta(seconds=rng.randrange(SPAN_S))
            accounts.append({
                "id": i + 1, "platform": pick(rng, PLATFORMS), "handle": f"h{i}",
                "status": "attributed", "priority_factors": "{}",
                "establishment_id": None if rng.random() < 0.1 else rng.randrange(n_est) + 1,
                "closed_reason": "", "notes": "", "created_at": created, "updated_at": created})
        put(conn, Account, accounts)
        attributions = []
        for i in range(n_accounts * 6 // 10):
            account = accounts[i]
            cell = rng.randrange(n_est * cells_per) + 1 if rng.random() < 0.7 else None
            decided = account["created_at"] + timedelta(hours=rng.randrange(1, 72))
            attributions.append({
                "id": i + 1, "account_id": account["id"],
                "prisoner_id": rng.randrange(n_prisoners) + 1,
                "status": pick(rng, [("confirmed", 6), ("suggested", 2), ("rejected", 2)]),
                "basis_kind": "cell_match" if cell else "manual", "basis": "b",
                "cell_id": cell, "time_source": "", "reason": "",
                "created_at": account["created_at"], "decided_at": decided})
        put(conn, Attribution, attributions)
        searches = []
        for i in range(n_searches):
            cell = rng.randrange(n_est * cells_per) + 1
            requested = START + timedelta(seconds=rng.randrange(SPAN_S))
            done = rng.random() < 0.8
            searches.append({
                "id": i + 1, "establishment_id": (cell - 1) // cells_per + 1, "cell_id": cell,
                "reason": "r", "urgency": "urgent", "state": "completed" if done else "requested",
                "version": 1, "requested_by": 1, "requested_at": requested,
                "searched_at": requested + timedelta(hours=2) if done else None,
                "completed_at": requested + timedelta(hours=3) if done else None,
                "phones": rng.randrange(3) if done else 0, "sim_cards": rng.randrange(3) if done
                else 0, "chargers": rng.randrange(2) if done else 0, "other_items": 0,
                "other_description": "", "outcome_note": ""})
        put(conn, CellSearch, searches)
        takedowns, sent_ids = [], []
        for i in range(n_takedowns):
            state = pick(rng, STATES)
            created = START + timedelta(seconds=rng.randrange(SPAN_S))
            sent = created + timedelta(minutes=rng.randrange(10, 600))
            is_sent = state in ("removed", "refused", "acknowledged", "sent") or (
                state == "withdrawn" and rng.random() < 0.5)
            resolved = (sent + timedelta(seconds=int(rng.lognormvariate(10, 1.2)))
                        if state in ("removed", "refused") else None)
            takedowns.append({
                "id": i + 1, "account_id": rng.randrange(n_accounts) + 1,
                "platform": pick(rng, PLATFORMS), "state": state, "reason": "r", "version": 1,
                "author_id": 1, "notices_sent": 0, "escalated": False, "overdue": False,
                "platform_reference": "", "refusal_reason": "", "created_at": created,
                "first_sent_at": sent if is_sent else None, "resolved_at": resolved})
            if is_sent:
                sent_ids.append(i + 1)
        # every sent takedown has notice #1; the rest of the notices are re-notices, spread;
        # 2 % failed deliveries, which the lifecycle does not count in notices_sent
        per = {tid: 1 for tid in sent_ids}
        for _ in range(max(0, n_notices - len(sent_ids))):
            per[rng.choice(sent_ids)] += 1
        notices = [{"takedown_id": tid, "number": k + 1, "channel": "portal", "recipient": "r",
                    "subject": "", "body": "", "pack_sha256": "", "pack_key": "",
                    "delivery": "failed" if rng.random() < 0.02 else "delivered", "error": "",
                    "sent_at": takedowns[tid - 1]["first_sent_at"] + timedelta(days=k)}
                   for tid, n in per.items() for k in range(n)]
        for notice in notices:
            if notice["delivery"] != "failed":
                takedowns[notice["takedown_id"] - 1]["notices_sent"] += 1
        put(conn, Takedown, takedowns)
        put(conn, Notice, notices)
    return counts


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def timed(fn: Callable[[], Any], runs: int, warmup: int = 3) -> dict[str, float]:
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(pct(ms, 0.95), 1),
            "max_ms": round(max(ms), 1), "runs": runs}


def signed_in(client: TestClient) -> TestClient:
    page = client.get("/login").text
    token = re.search(r'value="([^"]+)" id="login-csrf"', page)
    assert token, "no login form"
    r = client.post("/login", data={"username": "bench-analyst", "password": PASSWORD,
                                    "csrf_token": token.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def measure(url: str, data_dir: Path, runs: int) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir, database_url=url)
    app = create_app(settings)
    out: dict[str, Any] = {}
    last_year = {"start": "2025-01-01", "end": "2025-12-31"}
    with TestClient(app) as client:
        signed_in(client)

        def page(params: dict[str, str]) -> Callable[[], None]:
            def get() -> None:
                r = client.get("/reports", params=params)
                assert r.status_code == 200 and "<svg" in r.text, r.status_code
            return get

        def csv_months() -> None:
            assert client.get("/reports/months.csv").status_code == 200

        out["page_all_time"] = timed(page({}), runs)
        out["page_one_year"] = timed(page(last_year), runs)
        out["csv_months"] = timed(csv_months, max(5, runs // 3))
    engine = make_engine(url)
    period, today = Period(None, None, TZ), date(2026, 1, 1)
    with Session(engine) as session:
        out["platform_rows"] = timed(lambda: platform_rows(session, period), max(5, runs // 3))
        out["establishment_rows"] = timed(lambda: establishment_rows(session, period),
                                          max(5, runs // 3))
        out["monthly_removals"] = timed(lambda: monthly_removals(session, period, today),
                                        max(5, runs // 3))
    engine.dispose()
    return out


@contextmanager
def postgres() -> Iterator[str]:
    from tests.support.postgres import create_database, temporary_cluster

    with temporary_cluster() as server:
        yield create_database(server, "cellwatch_bench")


def run_one(name: str, url: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    migrations.upgrade(url)
    engine = make_engine(url)
    t = time.perf_counter()
    counts = load(engine, args.takedowns, args.takedowns * 3)
    load_s = time.perf_counter() - t
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    engine.dispose()
    result = {"rows": counts, "load_seconds": round(load_s, 1),
              **measure(url, workdir / f"data-{name}", args.runs)}
    print(f"{name}: loaded {counts['takedown']:,} takedowns, {counts['notice']:,} notices "
          f"in {load_s:.1f} s")
    for key, value in result.items():
        if isinstance(value, dict) and "p95_ms" in value:
            print(f"  {key:20s} p50 {value['p50_ms']:7.1f} ms  p95 {value['p95_ms']:7.1f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--takedowns", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"takedowns": args.takedowns, "notices": args.takedowns * 3,
                               "target_p95_ms": 500}
    with tempfile.TemporaryDirectory(prefix="cellwatch-bench-") as tmp:
        work = Path(tmp)
        results["sqlite"] = run_one("sqlite", f"sqlite:///{work / 'bench.db'}", work, args)
        if not args.sqlite_only:
            with postgres() as url:
                results["postgres"] = run_one("postgres", url, work, args)
    load = os.getloadavg()
    results["machine"] = {"cpus": os.cpu_count(), "load_average_1_5_15": load}
    lines = [f"Reports page at {args.takedowns:,} takedowns / {args.takedowns * 3:,} notices "
             f"(GET /reports through the app, {args.runs} runs after 3 warm-up; "
             f"{os.cpu_count()} CPUs, load average {load[0]:.1f} at the end):"]
    for db in ("sqlite", "postgres"):
        if db not in results:
            continue
        r = results[db]
        verdict = "ok" if r["page_all_time"]["p95_ms"] <= 500 else "FAIL"
        lines.append(f"  {db}: all time p50 {r['page_all_time']['p50_ms']} ms, p95 "
                     f"{r['page_all_time']['p95_ms']} ms (target <= 500) {verdict}; one year "
                     f"p95 {r['page_one_year']['p95_ms']} ms; months.csv p95 "
                     f"{r['csv_months']['p95_ms']} ms")
        lines.append(f"    alone (p50): platforms {r['platform_rows']['p50_ms']} ms, "
                     f"establishments {r['establishment_rows']['p50_ms']} ms, months "
                     f"{r['monthly_removals']['p50_ms']} ms; load {r['load_seconds']} s")
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reports_scale.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "reports_scale.md").write_text("```\n" + "\n".join(lines) + "\n```\n")


if __name__ == "__main__":
    main()
