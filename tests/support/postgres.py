"""A throwaway PostgreSQL cluster from the installed server binaries, on a free port.

Each pytest-xdist worker starts its own (the fixture is session-scoped, and a session is a
worker): its own data folder and socket folder, and a port the kernel gave it. Two workers
may still be handed the same free port between the probe and the server's bind, so a start
that fails is tried again on another port.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.requirements import unavailable


def _bindir() -> Path | None:
    if found := shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def temporary_cluster() -> Iterator[str]:
    """Yield a server URL (no database part); the cluster is destroyed afterwards."""
    with restartable_cluster() as cluster:
        yield cluster.url


@dataclass
class Cluster:
    """A running throwaway cluster that a test may stop and start again (same port)."""

    url: str
    port: int
    run_as: list[str]
    bindir: Path
    root: Path

    def stop(self) -> None:
        subprocess.run([*self.run_as, str(self.bindir / "pg_ctl"), "-D",
                        str(self.root / "data"), "-m", "fast", "-w", "stop"],
                       check=True, capture_output=True)

    def start(self) -> None:
        _start(self.run_as, self.bindir, self.root, port=self.port)


@contextmanager
def restartable_cluster() -> Iterator[Cluster]:
    bindir = _bindir()
    if bindir is None:
        unavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    root = Path(tempfile.mkdtemp(prefix=f"cellwatch-pg-{worker}-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the packaged system user
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no 'postgres' system user for initdb")
            return
        os.chown(root, pw.pw_uid, pw.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                    "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"],
                   check=True, capture_output=True)
    port = _start(run_as, bindir, root)
    try:
        yield Cluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}", port, run_as, bindir,
                      root)
    finally:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _start(run_as: list[str], bindir: Path, root: Path, tries: int = 5,
           port: int | None = None) -> int:
    """Start the server on a free port (another one if that was taken meanwhile), or on
    `port` when restarting."""
    for attempt in range(1, tries + 1):
        chosen = port or _free_port()
        options = (f"-p {chosen} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        started = subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-o", options,
             "-l", str(root / "server.log"), "-w", "-t", "60", "start"], capture_output=True)
        if started.returncode == 0:
            return chosen
        if attempt == tries:
            log_file = root / "server.log"
            log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr.decode()}\n{log}")
    raise AssertionError("unreachable")


def create_database(server_url: str, name: str) -> str:
    import psycopg

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


OWNER_ROLE, APP_ROLE = "cellwatch_owner", "cellwatch_app"


def _as(server_url: str, role: str) -> str:
    return server_url.replace("://postgres@", f"://{role}@", 1)


def two_role_database(server_url: str, name: str) -> tuple[str, str]:
    """A database as production runs it: owned and migrated by an owner role, used by an app
    role with only INSERT and SELECT on audit_event. Returns (owner URL, app URL)."""
    import psycopg
    from sqlalchemy import create_engine

    from app import migrations
    from app.db_roles import grant_app_role

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        for role in (OWNER_ROLE, APP_ROLE):
            found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if found.fetchone() is None:
                conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')
    owner_url = f"{_as(server_url, OWNER_ROLE)}/{name}"
    migrations.upgrade(owner_url)
    engine = create_engine(owner_url)
    with engine.begin() as conn:
        grant_app_role(conn, APP_ROLE)
    engine.dispose()
    return owner_url, f"{_as(server_url, APP_ROLE)}/{name}"
