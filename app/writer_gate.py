"""SQLite's one write lock, handed on at once between the threads of a process.

SQLite lets one transaction write at a time. A writer that finds the lock taken is made to
wait by SQLite's busy handler, which sleeps and tries again: 1, 2, 5 ... then 50 and 100 ms
between tries. So when many requests write at once, the lock sits free while the waiters
sleep: in a burst of 50 uploads each writer held it for 10 to 20 ms, yet the median upload
waited 440 ms for it.

The gate is a lock of the process's own beside SQLite's. A connection takes it just before
its first write statement and gives it up once that statement's transaction has committed or
rolled back (a statement run outside one, such as ANALYZE: once it is done), or the
connection closes; a waiter wakes the moment it is given up. It changes nothing about what
is safe: SQLite's own lock still serialises every writer, in this process and in the others
(each has a gate of its own), and a write the gate does not see is simply left to SQLite. A
writer waits for the gate as long as its connection's busy timeout would have let SQLite
wait, then fails as SQLite would ("database is locked"), which callers already treat as a
race to retry.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

# what takes SQLite's write lock: the statements that make Python's sqlite3 begin a
# transaction (held until it ends), and those it runs on their own (held for the statement)
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|ANALYZE|VACUUM|REINDEX)"
                    r"\b", re.IGNORECASE)
_BUSY = re.compile(r"\s*PRAGMA\s+busy_timeout\s*=\s*(\d+)\s*;?\s*$", re.IGNORECASE)
_gates: dict[str, threading.Lock] = {}
_gates_lock = threading.Lock()
T = TypeVar("T")


def _gate_for(database: str) -> threading.Lock | None:
    """The gate of a database file; none for a database in memory (each connection's own)."""
    if not database or database == ":memory:" or "mode=memory" in database:
        return None
    with _gates_lock:
        return _gates.setdefault(os.path.realpath(database.removeprefix("file:")
                                                  .split("?")[0]), threading.Lock())


class GatedConnection(sqlite3.Connection):
    """sqlite3.connect(..., factory=GatedConnection): a connection that passes the gate of
    its database file before it writes."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self.gate = _gate_for(str(database))
        self.gate_held = False
        self.wait_seconds = float(kwargs.get("timeout", 5.0))  # sqlite3's own default

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or GatedCursor)

    def before(self, sql: str) -> None:
        busy = _BUSY.match(sql)
        if busy:
            self.wait_seconds = int(busy.group(1)) / 1000
        elif self.gate is not None and not self.gate_held and _WRITE.match(sql):
            if not self.gate.acquire(timeout=self.wait_seconds):
                raise sqlite3.OperationalError("database is locked")
            self.gate_held = True

    def after(self) -> None:
        """After a statement: a write that failed before its transaction began (a refused
        statement, a lock SQLite itself would not give) holds nothing."""
        if self.gate_held and not self.in_transaction:
            self._release()

    def commit(self) -> None:
        self.run(super().commit)

    def rollback(self) -> None:
        self.run(super().rollback)

    def run(self, work: Callable[[], T], sql: str = "") -> T:
        """`work` (a statement `sql`, or the end of its transaction), past the gate if it writes,
        and the gate given up after it if no transaction is left open."""
        self.before(sql)
        try:
            return work()
        finally:
            self.after()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def _release(self) -> None:
        if self.gate_held and self.gate is not None:
            self.gate_held = False
            self.gate.release()


class GatedCursor(sqlite3.Cursor):
    connection: GatedConnection

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.connection.run(lambda: super(GatedCursor, self).execute(sql, parameters),
                                   sql)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> sqlite3.Cursor:
        return self.connection.run(
            lambda: super(GatedCursor, self).executemany(sql, seq_of_parameters), sql)
