"""Shared helpers for the scale benchmarks (intake_api.py, national_scale.py).

A migrated database (SQLite file or a throwaway PostgreSQL cluster from the test support),
fast bulk loading (sqlite3 executemany / PostgreSQL COPY), the real app served by uvicorn in a
child process, and latency statistics. Nothing here is imported by the app or the tests.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from app import migrations

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "bench horse battery staple"


# --- statistics ---------------------------------------------------------------------------
def summary(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50 / p95 (nearest-rank on the sorted samples), mean, min, max, n."""
    s = sorted(samples_ms)
    if not s:
        return {"n": 0}

    def rank(p: float) -> float:
        return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]

    return {"n": len(s), "p50": round(statistics.median(s), 2), "p95": round(rank(95), 2),
            "mean": round(statistics.fmean(s), 2), "min": round(s[0], 2),
            "max": round(s[-1], 2)}


def fmt_s(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


# --- databases ----------------------------------------------------------------------------
def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    url = sqlite_url(path)
    migrations.upgrade(url)
    return url


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway cluster (tests/support/postgres.py); yields the server URL."""
    from tests.support.postgres import temporary_cluster

    with temporary_cluster() as url:
        yield url


def fresh_postgres(server_url: str, name: str) -> str:
    from tests.support.postgres import create_database

    url = create_database(server_url, name)
    migrations.upgrade(url)
    return url


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):  # SQLAlchemy's SQLite DateTime storage format
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return int(v)
    return v


class Loader:
    """Bulk writer for one database: executemany on SQLite, COPY on PostgreSQL.

    Values are plain Python: naive UTC datetimes (as UTCDateTime stores them), dates, bools,
    bytes. Rows carry explicit ids; PostgreSQL sequences are moved past them at the end.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"),
                                             isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA foreign_keys=OFF")
            self.conn.execute("PRAGMA cache_size=-1000000")  # 1 GB while loading
            self.conn.execute("PRAGMA temp_store=MEMORY")
        else:
            import psycopg

            self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                                        autocommit=False)
            # data is consistent by construction: skip the per-row FK triggers while loading
            self.conn.execute("SET session_replication_role = replica")
            self.conn.execute("SET maintenance_work_mem = '512MB'")
        self.counts: dict[str, int] = {}

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
               chunk: int = 20_000) -> int:
        n = 0
        cols = ", ".join(columns)
        if self.sqlite:
            sql = f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(columns))})"
            self.conn.execute("BEGIN")
            batch: list[tuple] = []
            for row in rows:
                batch.append(tuple(_sqlite_value(v) for v in row))
                if len(batch) >= chunk:
                    self.conn.executemany(sql, batch)
                    n += len(batch)
                    batch.clear()
            if batch:
                self.conn.executemany(sql, batch)
                n += len(batch)
            self.conn.execute("COMMIT")
        else:
            with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
                    n += 1
            self.conn.commit()
        self.counts[table] = self.counts.get(table, 0) + n
        return n

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self.sqlite:
            self.conn.execute(sql, params)
        else:
            self.conn.execute(sql.replace("?", "%s"), params)
            self.conn.commit()

    def scalar(self, sql: str) -> Any:
        return self.conn.execute(sql).fetchone()[0]

    def finish(self) -> None:
        """Reset sequences (PostgreSQL) and gather planner statistics like a live system."""
        if self.sqlite:
            self.conn.close()
            return
        self.conn.execute("SET session_replication_role = DEFAULT")
        rows = self.conn.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'id' "
            "AND column_default LIKE 'nextval%'").fetchall()
        for (table,) in rows:
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)")
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.execute("VACUUM ANALYZE")  # autovacuum would get there on a live server
        self.conn.close()


# --- users and keys -----------------------------------------------------------------------
def create_user(url: str, username: str, role: str = "analyst") -> int:
    from sqlmodel import Session

    from app.auth.models import User
    from app.auth.passwords import hash_password
    from app.db import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        user = User(username=username, role=role, password_hash=hash_password(PASSWORD),
                    must_change_password=False)
        session.add(user)
        session.commit()
        user_id = user.id or 0
    engine.dispose()
    return user_id


def create_api_key(url: str, user_id: int) -> str:
    from sqlmodel import Session

    from app.audit.service import Actor
    from app.auth import apikeys
    from app.auth.models import User
    from app.db import make_engine
    from app.settings import Settings

    engine = make_engine(url)
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        _, key = apikeys.create(session, Settings(database_url=url), Actor(None, "bench"),
                                user, name="bench", days=30)
        session.commit()
    engine.dispose()
    return key


def login(client: httpx.Client, username: str) -> None:
    """Sign in through the login form, as a browser does (session cookie)."""
    import re

    page = client.get("/login")
    token = re.search(r'value="([^"]+)" id="login-csrf"', page.text)
    assert token, "login page has no CSRF token"
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token.group(1)})
    assert response.status_code == 303, (response.status_code, response.text[:500])


# --- the app in a child process -----------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, proc: subprocess.Popen, base_url: str, ready_s: float,
                 log: Path) -> None:
        self.proc, self.base_url, self.ready_s, self.log = proc, base_url, ready_s, log

    def rss_mb(self) -> float:
        return _status_kb(self.proc.pid, "VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return _status_kb(self.proc.pid, "VmHWM") / 1024


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


@contextmanager
def app_server(url: str, data_dir: Path, *, timeout_s: float = 600) -> Iterator[Server]:
    """`uvicorn app.main:create_app --factory`, one worker, as `cellwatch serve` runs it.

    ready_s is from spawn to the first /healthz answer: imports + create_app + the lifespan's
    match index build (uvicorn answers nothing before the lifespan has started)."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    # one bench user reads thousands of records: counted, never refused
    env = {**os.environ, "CELLWATCH_DATABASE_URL": url, "CELLWATCH_DATA_DIR": str(data_dir),
           "CELLWATCH_ENVIRONMENT": "development", "PYTHONUNBUFFERED": "1",
           "CELLWATCH_READ_BUDGET_PER_HOUR": "100000000",
           "CELLWATCH_READ_BUDGET_PER_DAY": "100000000"}
    log = data_dir / "server.log"
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--no-access-log", "--no-server-header"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > timeout_s:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        yield Server(proc, base, time.perf_counter() - started, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def timed(fn: Callable[[], httpx.Response], expect: int | tuple[int, ...] = 200
          ) -> tuple[float, httpx.Response]:
    t = time.perf_counter()
    response = fn()
    ms = (time.perf_counter() - t) * 1000
    ok = (expect,) if isinstance(expect, int) else expect
    if response.status_code not in ok:
        raise RuntimeError(f"{response.request.method} {response.request.url} -> "
                           f"{response.status_code}: {response.text[:800]}")
    return ms, response


def random_hex(n_bytes: int) -> str:
    return secrets.token_hex(n_bytes)


def utc(*args: int) -> datetime:
    """A naive UTC datetime, as the UTCDateTime columns store them."""
    return datetime(*args, tzinfo=UTC).replace(tzinfo=None)


def write_results(name: str, data: dict[str, Any], markdown: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
