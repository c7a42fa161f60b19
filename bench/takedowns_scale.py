"""Takedowns at scale: the queue page over 100,000 takedowns and 300,000 notices, and a jobs
run over 10,000 due re-notices delivered to a local webhook, on SQLite and PostgreSQL.

Run: .venv/bin/python -m bench.takedowns_scale [--quick] [--only sqlite|postgres]
Targets: queue page p95 <= 150 ms (GET /takedowns through the whole app, signed in); jobs run
over 10,000 due re-notices < 60 s. Writes bench/results/takedowns_scale.{json,md}.
PostgreSQL is a throwaway cluster from tests/support/postgres.py (fsync off, as in the tests).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app import migrations
from app.db import make_engine, utcnow
from app.main import create_app
from app.settings import Settings
from app.takedowns import jobs
from app.takedowns.models import Takedown
from bench.takedowns_data import PASSWORD, Sizes, WebhookSink, generate
from tests.support.postgres import create_database, temporary_cluster

RESULTS = Path(__file__).resolve().parent / "results"
QUEUE_PATHS = ["/takedowns", "/takedowns?platform=instagram", "/takedowns?establishment=E07",
               "/takedowns?state=removed"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_queue(settings: Settings, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with TestClient(create_app(settings)) as client:
        token = client.get("/login").text.split('id="login-csrf"')[0].rsplit('value="', 1)[1]
        token = token.split('"')[0]
        r = client.post("/login", data={"username": "bench-analyst", "password": PASSWORD,
                                        "csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303, r.text
        for path in QUEUE_PATHS:
            for _ in range(5):  # warm-up: templates compiled, caches filled
                assert client.get(path).status_code == 200
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert response.status_code == 200
            out[path] = {"median_ms": round(statistics.median(times), 1),
                         "p95_ms": round(percentile(times, 0.95), 1),
                         "max_ms": round(max(times), 1), "requests": repeat}
    return out


def run_one(name: str, url: str, data_dir: Path, sizes: Sizes, sink: WebhookSink,
            repeat: int) -> dict[str, Any]:
    t = time.perf_counter()
    migrations.upgrade(url)
    engine = make_engine(url)
    settings = Settings(database_url=url, data_dir=data_dir, delivery_timeout_seconds=10)
    counts = generate(engine, settings, sizes, sink.url)
    if engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    generated_s = time.perf_counter() - t
    print(f"[{name}] generated {counts} in {generated_s:.1f} s", flush=True)
    queue = time_queue(settings, repeat)
    for path, fig in queue.items():
        print(f"[{name}] GET {path}: median {fig['median_ms']} ms, p95 {fig['p95_ms']} ms",
              flush=True)
    sink.received = 0
    t = time.perf_counter()
    report = jobs.run(engine, settings)
    job_s = time.perf_counter() - t
    with engine.connect() as conn:  # due re-notices the run left behind (should be none)
        left = conn.execute(select(func.count()).select_from(Takedown).where(
            Takedown.state.in_(["sent", "acknowledged"]),  # type: ignore[attr-defined]
            Takedown.next_notice_due_at <= utcnow())).scalar()  # type: ignore[operator]
    print(f"[{name}] jobs run: {report.summary()} in {job_s:.1f} s "
          f"({report.delivered / job_s:.0f}/s); webhook received {sink.received}", flush=True)
    engine.dispose()
    return {"generated": counts, "generate_s": round(generated_s, 1), "queue": queue,
            "jobs": {"seconds": round(job_s, 2), "delivered": report.delivered,
                     "failed": report.failed, "overdue_flagged": report.overdue_flagged,
                     "escalated": report.escalated, "webhook_posts": sink.received,
                     "per_second": round(report.delivered / job_s), "still_due": left}}


def markdown(results: dict[str, Any], sizes: Sizes, machine: str) -> str:
    lines = ["# Takedowns at scale", "",
             f"{sizes.takedowns:,} takedowns, {sizes.notices:,} notices, {sizes.accounts:,} "
             f"accounts; {sizes.due:,} re-notices due. Command: "
             "`.venv/bin/python -m bench.takedowns_scale`. Page times are whole requests "
             "(signed-in GET through the app, TestClient); the jobs run delivers every "
             "re-notice to a webhook on 127.0.0.1 served by another process.", "",
             f"Machine: {machine}.", "",
             "| database | page | median ms | p95 ms | target |", "|---|---|---|---|---|"]
    for db, res in results.items():
        for path, fig in res["queue"].items():
            ok = "ok" if fig["p95_ms"] <= 150 else "FAIL"
            lines.append(f"| {db} | `{path}` | {fig['median_ms']} | {fig['p95_ms']} | "
                         f"p95 <= 150: {ok} |")
    lines += ["", "| database | re-notices delivered | seconds | per second | target |",
              "|---|---|---|---|---|"]
    for db, res in results.items():
        j = res["jobs"]
        ok = "ok" if j["seconds"] < 60 and j["delivered"] >= sizes.due else "FAIL"
        lines.append(f"| {db} | {j['delivered']:,} (webhook got {j['webhook_posts']:,}) | "
                     f"{j['seconds']} | {j['per_second']} | < 60 s: {ok} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a tenth of the data")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    sizes = Sizes.quick() if args.quick else Sizes()
    results: dict[str, Any] = {}
    load_before = os.getloadavg()
    with ExitStack() as stack, WebhookSink() as sink:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cw-bench-")))
        if args.only in (None, "sqlite"):
            results["sqlite"] = run_one("sqlite", f"sqlite:///{tmp / 'bench.db'}",
                                        tmp / "sqlite-data", sizes, sink, args.repeat)
        if args.only in (None, "postgres"):
            try:
                server = stack.enter_context(temporary_cluster())
            except BaseException as exc:  # no server binaries (pytest.skip): say so, go on
                print(f"[postgres] skipped: {exc}")
            else:
                url = create_database(server, "bench")
                results["postgres"] = run_one("postgres", url, tmp / "pg-data", sizes, sink,
                                              args.repeat)
    machine = (f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} before and "
               f"{os.getloadavg()[0]:.1f} after (other work shares this machine)")
    RESULTS.mkdir(exist_ok=True)
    name = "takedowns_scale_quick" if args.quick else "takedowns_scale"
    (RESULTS / f"{name}.json").write_text(json.dumps(
        {"sizes": sizes.__dict__, "machine": machine, "results": results}, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(results, sizes, machine))
    print(markdown(results, sizes, machine))


if __name__ == "__main__":
    main()
