"""The SQLite writer gate (app/writer_gate.py): held from a transaction's first write to its
end, however it ends; reads never take it; a writer waits for it no longer than its busy
timeout allows and then fails as SQLite would, retryably."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from app.db import make_engine, retryable
from app.writer_gate import GatedConnection


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    engine.dispose()


def _gate(engine: Engine) -> threading.Lock:
    raw = engine.raw_connection()
    try:
        dbapi = raw.dbapi_connection
        assert isinstance(dbapi, GatedConnection) and dbapi.gate is not None
        return dbapi.gate
    finally:
        raw.close()


def test_held_from_the_first_write_until_commit(engine: Engine) -> None:
    gate = _gate(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t")).scalar()
        assert not gate.locked()  # a read takes nothing
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert gate.locked()
        conn.execute(text("UPDATE t SET x = 2"))  # the same transaction: taken once
        conn.commit()
        assert not gate.locked()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalar() == 2


def test_given_up_by_a_rollback_and_by_a_connection_returned_mid_transaction(
        engine: Engine) -> None:
    gate = _gate(engine)
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        conn.rollback()
        assert not gate.locked()
        conn.execute(text("DELETE FROM t"))
        assert gate.locked()
    # closed without a commit: the pool rolled it back on its return
    assert not gate.locked()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_a_write_outside_a_transaction_passes_the_gate_too(engine: Engine) -> None:
    gate = _gate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA busy_timeout = 50")
        # another thread of this process is writing
        with gate, pytest.raises(OperationalError, match="database is locked"):
            conn.exec_driver_sql("ANALYZE")  # SQLite's planner statistics: a write
        conn.rollback()
        conn.exec_driver_sql("ANALYZE")
        assert not gate.locked()  # held for the statement alone: it committed on its own


def test_a_refused_write_holds_nothing(engine: Engine) -> None:
    gate = _gate(engine)
    with engine.connect() as conn, pytest.raises(OperationalError):
        conn.execute(text("INSERT INTO no_such_table VALUES (1)"))
    assert not gate.locked()


def test_a_second_writer_waits_its_busy_timeout_then_fails_retryably(engine: Engine) -> None:
    with engine.connect() as first, engine.connect() as second:
        first.execute(text("INSERT INTO t VALUES (1)"))
        second.exec_driver_sql("PRAGMA busy_timeout = 50")
        with pytest.raises(OperationalError) as refused:
            second.execute(text("INSERT INTO t VALUES (2)"))
        assert "database is locked" in str(refused.value.orig)
        assert retryable(refused.value)
        second.rollback()
        first.commit()
        second.execute(text("INSERT INTO t VALUES (3)"))  # the gate is free again
        second.commit()
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT x FROM t")).scalars()) == [1, 3]


def test_many_writers_at_once_each_get_their_turn(engine: Engine) -> None:
    """Threads writing at once queue at the gate: none fails, every write is kept, and the
    gate is free once they are done."""
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            start.wait()
            for j in range(20):
                with engine.begin() as conn:
                    conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": i * 100 + j})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 160
    assert not _gate(engine).locked()
