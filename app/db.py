"""Engine, naming convention, UTC timestamps and the per-request session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from sqlalchemy import DateTime, Engine, create_engine, event, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from app.errors import Conflict
from app.writer_gate import GatedConnection

# Stable constraint names, so that migrations can name what they drop.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every database; always returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


CONNECT_TIMEOUT = 10  # seconds, PostgreSQL
RECYCLE_SECONDS = 3600  # SQLite: each connection reopened as often as statistics are gathered


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> Engine:
    if url.startswith("sqlite"):
        # as many connections as the server's thread pool may want at once (a file's
        # connections cost little; a request must never wait for one)
        # recycled hourly: a connection reads the planner statistics when it opens, and they
        # are gathered again every hour (db_statistics, the default setting)
        # GatedConnection: SQLite's write lock handed on between threads without its busy
        # handler's sleeps (app/writer_gate.py)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10,
                                                  "factory": GatedConnection},
                               pool_size=max(pool_size, 20), max_overflow=max(max_overflow, 20),
                               pool_recycle=RECYCLE_SECONDS)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # a database out of reach (no answer at all, not a refusal) fails a connection attempt
    # after CONNECT_TIMEOUT instead of hanging the request, and /readyz, for ever
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size,
                         max_overflow=max_overflow,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT})


def make_session_factory(bind: Any) -> sessionmaker[Session]:
    return sessionmaker(bind=bind, class_=Session, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: Callable[[], Session]) -> Iterator[Session]:
    """One transaction: committed once when the block ends normally, rolled back if it raises.

    The only place in the application that commits. Requests (through `get_session`), CLI
    commands, job steps and background tasks all run their work inside one of these, so a
    service never has to decide when its changes become visible.
    """
    with factory() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


def get_session(request: Request) -> Iterator[Session]:
    """One request, one transaction: committed when the route returns, rolled back when it
    raises. `request.state.committed` tells the error handler whether anything was stored."""
    request.state.committed = False
    request.state.regardless = []
    settings = request.app.state.settings
    try:
        with unit_of_work(request.app.state.session_factory) as session:
            if settings.read_budget_per_hour:  # charged by every audited read (audit/budget)
                session.info["read_budget"] = {
                    "per_hour": settings.read_budget_per_hour,
                    "per_day": settings.read_budget_per_day,
                    "regardless": request.state.regardless.append}
            yield session
        request.state.committed = True
    finally:
        for work in request.state.regardless:
            with unit_of_work(request.app.state.session_factory) as own:
                work(own)


def write_regardless(request: Request, work: Callable[[Session], object]) -> None:
    """Work that must be stored whether the request's own change commits or is rolled back
    (a dead session ended when the request it came with is refused). It runs in a unit of
    work of its own once the request's has ended, so it never waits on the request's locks."""
    request.state.regardless.append(work)


# Committed and closed when the route returns, before the response goes out: a failed commit
# is the request's error, and background work that follows (the second matching stage) opens
# its own unit of work and never waits on this one.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# PostgreSQL's "try the transaction again" states: deadlock_detected, serialization_failure
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def retryable(exc: BaseException) -> bool:
    """A transaction that lost a race with another one and may simply be run again."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    # SQLite: the busy timeout ran out, or a read snapshot could not become a write
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


# PostgreSQL shutting down or starting up: admin_shutdown, crash_shutdown, cannot_connect_now
_AWAY_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def unreachable(exc: BaseException) -> bool:
    """The database went away (restart, network): the connection broke or none could be made.
    (psycopg raises a connection failure with no SQLSTATE; SQLite errors carry none at all.)"""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, (OperationalError, InterfaceError)) or \
            type(exc.orig).__module__.startswith("sqlite3"):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", "")
    return sqlstate is None or sqlstate in _AWAY_SQLSTATES


class Versioned(Protocol):
    id: Any
    version: Any


def compare_and_set(
    session: Session, row: Versioned, expected_version: int, *, what: str, **values: Any
) -> None:
    """The one optimistic lock: `UPDATE … SET version = version + 1, … WHERE id = :id AND
    version = :v`. Of two people acting on the same version exactly one wins; the other gets
    a Conflict and nothing of theirs is written. `row` is refreshed to what was stored."""
    model = type(row)
    table = model.__table__  # type: ignore[attr-defined]
    result = session.execute(
        update(table)
        .where(table.c.id == row.id, table.c.version == expected_version)
        .values(version=table.c.version + 1, **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"Someone else changed this {what} since you opened it; reload and "
                       "try again.")
    session.refresh(row)
