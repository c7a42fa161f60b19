"""The match workers' doorbell on this host: a request that queued work rings it once its
transaction has committed, and the idle workers look at the queue at once instead of at their
next poll (worker.IDLE_SECONDS later, 0.125 s on average).

Each worker process keeps a named pipe in <data_dir>/doorbell/<host name>, open for reading
and writing (so that it never reads an end of file). The folder is the host's own: a data
folder shared between hosts holds every host's pipes, and a pipe only carries bytes between
processes of one host. Ringing writes one byte to each pipe without
blocking. A pipe that no process holds open any more (its worker died) refuses the write and
is removed. A ring carries nothing but "look now": a spurious one costs one look at the
queue, a lost one the poll's wait. Workers on other hosts do not hear it; they find the work
at their next poll, as before.
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
from pathlib import Path

from app.settings import Settings

log = logging.getLogger("cellwatch.matching")
_TEMP = "."  # a pipe not yet open under its final name: never rung, never removed by a ring


def folder(settings: Settings) -> Path:
    """This host's doorbell folder."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())[:64].lstrip(".") or "host"
    return settings.data_dir / "doorbell" / host


class Bell:
    """A worker process's end of the doorbell."""

    def __init__(self, settings: Settings) -> None:
        where = folder(settings)
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        temp = where / f"{_TEMP}{name}"
        os.mkfifo(temp, 0o600)
        try:
            self._fd = os.open(temp, os.O_RDWR | os.O_NONBLOCK)
        except OSError:
            temp.unlink(missing_ok=True)
            raise
        self.path = where / name
        os.replace(temp, self.path)  # open before it has a name a ring would use

    def wait(self, timeout: float) -> bool:
        """Whether the bell rang within `timeout` seconds (every ring so far is heard)."""
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if not ready:
            return False
        try:
            while os.read(self._fd, 4096):
                pass
        except BlockingIOError:
            pass
        return True

    def close(self) -> None:
        self.path.unlink(missing_ok=True)
        os.close(self._fd)


def ring(settings: Settings) -> int:
    """Ring every worker's pipe on this host; returns how many were rung."""
    try:
        pipes = [p for p in folder(settings).iterdir() if not p.name.startswith(_TEMP)]
    except FileNotFoundError:
        return 0
    except OSError:  # the workers find the work at their next poll
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
