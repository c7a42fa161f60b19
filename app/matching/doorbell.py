"""The match workers' doorbell: a request that queued work rings it once its transaction has
committed (and so does a worker whose sampling queued a clip's frames), and the idle workers
look at the queue at once instead of at their next poll (worker.IDLE_SECONDS).

- This host: each worker process keeps a named pipe in <data_dir>/doorbell/<host name>, open
  for reading and writing (so that it never reads an end of file). Ringing writes one byte
  to each pipe without blocking; a pipe that no process holds open any more (its worker
  died) refuses the write and is removed. The folder is the host's own: a data folder shared
  between hosts holds every host's pipes, and a pipe only carries bytes within one host.
- PostgreSQL, any host: the ring is also a NOTIFY on CHANNEL, and each worker LISTENs on a
  connection of its own. A worker that lost that connection (the database restarted) polls
  until it has it back.

A ring carries nothing but "look now": a spurious one costs one look at the queue, a lost
one the poll's wait. A worker that cannot make its pipe (a filesystem without named pipes)
still LISTENs; one that hears neither (SQLite, another host) finds the work at its next poll.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import select
import socket
import stat
import time
from pathlib import Path

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from app.db import make_session_factory, unit_of_work
from app.settings import Settings

log = logging.getLogger("cellwatch.matching")
CHANNEL = "cellwatch_queue"
_TEMP = "."  # a pipe not yet open under its final name: never rung, never removed by a ring
_LISTEN_RETRY_SECONDS = 30.0  # a lost LISTEN connection is opened again at most this often
_LISTEN_CONNECT_SECONDS = 2  # so that a database out of reach never holds up a stop for long


def folder(settings: Settings) -> Path:
    """This host's doorbell folder."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())[:64].lstrip(".") or "host"
    return settings.data_dir / "doorbell" / host


class _Listener:
    """A worker's LISTEN connection on PostgreSQL, opened again when lost."""

    def __init__(self, url: str) -> None:
        self._conninfo = make_url(url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._conn: psycopg.Connection | None = None
        self._tried = float("-inf")

    def fileno(self) -> int | None:
        if self._conn is not None and not self._conn.closed:
            return self._conn.fileno()
        if time.monotonic() - self._tried < _LISTEN_RETRY_SECONDS:
            return None
        self._tried = time.monotonic()
        try:
            self._conn = psycopg.connect(self._conninfo, autocommit=True,
                                         connect_timeout=_LISTEN_CONNECT_SECONDS)
            self._conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            log.warning("match worker: not listening for rings, the queue is polled")
            self.close()
            return None
        return self._conn.fileno()

    def heard(self) -> None:
        """Take in what has come (the rings themselves need no reading)."""
        try:
            assert self._conn is not None
            if not list(self._conn.notifies(timeout=0)):
                # readable with nothing to hear: a message of the server's, such as the
                # notice that it ends the session, which the next read raises
                list(self._conn.notifies(timeout=0))
        except psycopg.Error:  # the connection is gone: polled until it is back
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


class Bell:
    """A worker process's end of the doorbell: its pipe, and on PostgreSQL its LISTEN."""

    def __init__(self, settings: Settings) -> None:
        self._fd: int | None = None
        self.path: Path | None = None
        try:
            self._open_pipe(folder(settings))
        except OSError:  # no named pipes here (some network filesystems): NOTIFY alone
            log.warning("match worker: no doorbell pipe on this host, rings come only through "
                        "PostgreSQL (or the queue is polled)", exc_info=True)
        url = settings.effective_database_url
        self._listener = _Listener(url) if url.startswith("postgresql") else None

    def _open_pipe(self, where: Path) -> None:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        temp = where / f"{_TEMP}{name}"
        os.mkfifo(temp, 0o600)
        try:
            self._fd = os.open(temp, os.O_RDWR | os.O_NONBLOCK)
        except OSError:
            temp.unlink(missing_ok=True)
            raise
        os.replace(temp, where / name)  # open before it has a name a ring would use
        self.path = where / name

    def wait(self, timeout: float) -> bool:
        """Whether the bell rang within `timeout` seconds (every ring so far is heard);
        with neither a pipe nor a LISTEN, simply `timeout` seconds of waiting."""
        listening = self._listener.fileno() if self._listener is not None else None
        ready, _, _ = select.select(
            [fd for fd in (self._fd, listening) if fd is not None], [], [], timeout)
        if not ready:
            return False
        if self._fd is not None and self._fd in ready:
            try:
                while os.read(self._fd, 4096):
                    pass
            except BlockingIOError:
                pass
        if self._listener is not None and listening in ready:
            self._listener.heard()
        return True

    def close(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)
        if self._listener is not None:
            self._listener.close()


def ring(settings: Settings, db: Engine | None = None) -> int:
    """Ring every worker's pipe on this host, and on PostgreSQL (`db`) the workers of every
    host; returns how many pipes were rung."""
    if db is not None and db.dialect.name == "postgresql":
        try:
            with unit_of_work(make_session_factory(db)) as session:
                session.execute(text(f"NOTIFY {CHANNEL}"))  # sent when it commits
        except SQLAlchemyError:  # the workers find the work at their next poll
            log.warning("doorbell: NOTIFY failed", exc_info=True)
    try:
        pipes = [p for p in folder(settings).iterdir() if not p.name.startswith(_TEMP)]
    except FileNotFoundError:
        return 0
    except OSError:
        log.warning("doorbell folder unreadable", exc_info=True)
        return 0
    rung = 0
    for pipe in pipes:
        try:
            if not stat.S_ISFIFO(os.lstat(pipe).st_mode):
                continue  # only our own pipes are ever written to
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # nobody holds it open: its worker is gone
                pipe.unlink(missing_ok=True)
            continue
        try:
            os.write(fd, b"!")
            rung += 1
        except BlockingIOError:  # full of rings not yet heard: it will look anyway
            rung += 1
        except OSError:
            log.warning("doorbell %s could not be rung", pipe.name, exc_info=True)
        finally:
            os.close(fd)
    return rung
