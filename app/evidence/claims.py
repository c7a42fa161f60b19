"""A writing transaction's claim on the image files it writes, so that an orphan is removed as
soon as no transaction can still commit the row that would name it (not an hour later).

A sealed file is written before the row naming it commits (app/evidence/storage.py), so a
file no committed row names is either in flight or an orphan. Its writer claims the storage
key before writing, and the claim ends with the writer's transaction however that ends:
commit, rollback, or the death of its process (the connection drops and the database ends
the transaction, a SIGKILL included).

- PostgreSQL: a transaction-level advisory lock on the key. The sweep takes the same lock
  with pg_try_advisory_xact_lock: a file whose lock is held belongs to a live transaction.
- SQLite: the database's one write lock. A writer takes it before its first file (any write
  statement does); the sweep takes it too before it decides, so no writer is in flight then.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.locks import advisory_key

_SQLITE_BUSY_MS = 10_000  # as app/db.py sets for every connection
# a write that changes nothing still begins SQLite's write transaction (its lock)
_TAKE_SQLITE_WRITE_LOCK = text("UPDATE image SET id = id WHERE 0")


def _lock_key(storage_key: str) -> int:
    return advisory_key(f"image-file:{storage_key}")


def claim(session: Session, storage_key: str) -> None:
    """Claim `storage_key` for the session's transaction: call before writing its files."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(storage_key)})
    else:
        conn.execute(_TAKE_SQLITE_WRITE_LOCK)


def unclaimed(session: Session, storage_keys: list[str], *,
              wait_seconds: float) -> set[str] | None:
    """The keys no other transaction claims; they stay claimed by this session's transaction
    until it ends, so none can be claimed meanwhile. None (SQLite) when writers held the
    write lock for all of `wait_seconds`: the next sweep decides."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return {key for key in storage_keys if conn.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_key(key)}).scalar()}
    conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_seconds * 1000)}")
    try:
        conn.execute(_TAKE_SQLITE_WRITE_LOCK)
    except OperationalError as exc:
        if "locked" not in str(exc.orig):
            raise
        return None
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {_SQLITE_BUSY_MS}")
    return set(storage_keys)
