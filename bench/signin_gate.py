"""What checking sign-in before the body costs each request that carries one.

Run: nice .venv/bin/python -m bench.signin_gate [--calls 2000]
On SQLite and on PostgreSQL (a throwaway cluster): `app.auth.gate.signed_in` for a live
session cookie and for an API key, as the middleware calls it (a pooled connection, a read of
the session or key and of its user, nothing written). Figures: median and p95 per call.
Writes bench/results/signin_gate.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from starlette.requests import Request

from app import migrations
from app.audit.service import Actor
from app.auth import apikeys, sessions
from app.auth.gate import signed_in
from app.auth.models import User
from app.auth.passwords import hash_password
from app.db import make_engine, make_session_factory, unit_of_work
from app.settings import Settings
from bench.scale_support import fresh_postgres, postgres_server, write_results

ACTOR = Actor(user_id=None, name="bench", client_addr="local")


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/api/v1/images",
                    "headers": raw, "query_string": b""})


def run(kind: str, url: str, folder: Path, calls: int) -> list[dict[str, Any]]:
    settings = Settings(database_url=url, data_dir=folder)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as db:
        user = User(username="bench", role="analyst", must_change_password=False,
                    password_hash=hash_password("a long enough password"))
        db.add(user)
        db.flush()
        token = sessions.start(db, settings, user, client_addr="local", user_agent="bench")
        _, key = apikeys.create(db, settings, ACTOR, user, name="bench", days=5)
    app = SimpleNamespace(state=SimpleNamespace(session_factory=factory, settings=settings))
    rows = []
    for label, headers in (("session cookie", {"Cookie": f"{sessions.COOKIE_NAME}={token}"}),
                           ("API key", {"Authorization": f"Bearer {key}"})):
        request = _request(headers)
        for _ in range(50):  # warm the pool
            signed_in(app, request)
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            assert signed_in(app, request)
            times.append(time.perf_counter() - started)
        times.sort()
        rows.append({"database": kind, "credential": label, "calls": calls,
                     "median_ms": statistics.median(times) * 1000,
                     "p95_ms": times[int(calls * 0.95)] * 1000})
    engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/gate.db"
        migrations.upgrade(url)
        rows = run("sqlite", url, Path(tmp), args.calls)
        with postgres_server() as server:
            rows += run("postgres", fresh_postgres(server, "gate"), Path(tmp), args.calls)
    lines = ["# Sign-in checked before the body: cost per request", "",
             f"`signed_in` called {args.calls} times per row, one process; shared 2-core "
             f"machine, niced; load average {load_before:.1f} before, "
             f"{os.getloadavg()[0]:.1f} after.", "",
             "| database | credential | median ms | p95 ms |", "|---|---|---|---|"]
    lines += [f"| {r['database']} | {r['credential']} | {r['median_ms']:.2f} | "
              f"{r['p95_ms']:.2f} |" for r in rows]
    write_results("signin_gate", {"runs": rows, "load_before": load_before,
                                  "load_after": os.getloadavg()[0]}, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
