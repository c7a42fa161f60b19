"""The audit chain's linker: committed events get their place in the chain, one linker at a time.

Requests only insert events; none of them waits on another. Each server process runs a small
thread that, every `CELLWATCH_AUDIT_LINK_SECONDS`, looks for unlinked events (one indexed read)
and, if there are any, takes the chain's job lock and links them in id order. `cellwatch jobs
run` does the same, so a deployment whose web processes are down still catches up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.audit.service import LINK_BATCH, ChainHeadInvalid, link_pending
from app.db import unit_of_work
from app.locks import job_lock

log = logging.getLogger("cellwatch.audit")
LOCK_NAME = "audit-chain"


def has_unlinked(factory: Callable[[], Session]) -> bool:
    with factory() as session:
        return session.exec(select(AuditEvent.id).where(col(AuditEvent.seq).is_(None))
                            .limit(1)).first() is not None


def link_all(engine: Engine, factory: Callable[[], Session], *, key: bytes) -> int | None:
    """Link every committed event still unlinked. None: another linker holds the lock.
    Raises ChainHeadInvalid when the head's signature does not hold."""
    if not has_unlinked(factory):
        return 0
    with job_lock(engine, LOCK_NAME) as lease:
        if lease is None:
            return None
        total = 0
        while True:
            with unit_of_work(factory) as session:
                linked = link_pending(session, key=key)
            total += linked
            if linked < LINK_BATCH:
                return total
            lease.renew()


class Linker:
    """A daemon thread per server process; stopping it waits for the current pass."""

    def __init__(self, engine: Engine, factory: Callable[[], Session], every: float, *,
                 key: bytes) -> None:
        self.engine, self.factory, self.every, self.key = engine, factory, every, key
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-linker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        pause = self.every
        while not self._stop.wait(pause):
            try:
                link_all(self.engine, self.factory, key=self.key)
                pause = self.every
            except ChainHeadInvalid as exc:  # never sign a rewritten chain; keep saying so
                log.error("audit linking stopped: %s", exc)
                pause = 60.0
            except SQLAlchemyError:  # the database is away: try again, less and less often
                log.warning("audit linking failed; retrying in %.0f s", pause * 2,
                            exc_info=pause == self.every)
                pause = min(pause * 2, 60.0)
