import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.audit.linker import link_all
from app.audit.service import link_pending, record
from app.audit.verify import verify_chain
from app.db import make_engine, make_session_factory
from tests.conftest import AUDIT_KEY, TEST_ACTOR


def _write(session, n=3, link=True):
    events = [record(session, TEST_ACTOR, "test.event", object_type="thing", object_ids=[i])
              for i in range(n)]
    session.commit()
    if link:
        link_pending(session, key=AUDIT_KEY)
        session.commit()
        for event in events:
            session.refresh(event)
    return events


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_chain_links_each_row_to_the_previous(session):
    events = _write(session)
    assert [e.seq for e in events] == [events[0].seq + i for i in range(3)]
    assert events[1].prev_hash == events[0].row_hash
    assert events[2].prev_hash == events[1].row_hash
    assert verify_chain(session, key=AUDIT_KEY).ok


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("statement", ["UPDATE audit_event SET action = 'forged'",
                                       "DELETE FROM audit_event"])
def test_database_refuses_update_and_delete(owner_session, statement):
    _write(owner_session, 1)
    with pytest.raises((IntegrityError, DBAPIError), match="append-only"):
        owner_session.execute(text(statement))


def test_secrets_never_reach_the_log(session):
    event = record(session, TEST_ACTOR, "test.secret",
                   details={"password": "hunter2hunter2", "api_key": "cwk_x", "name": "ok"})
    details = json.loads(event.details)
    assert details == {"password": "[withheld]", "api_key": "[withheld]", "name": "ok"}


def _tamper_sqlite(url, sql):
    """What an attacker with file access does: drop the trigger, change history."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_event_no_update"))
        conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture
def own_db(tmp_path):
    from app import migrations

    url = f"sqlite:///{tmp_path}/own.db"
    migrations.upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        ids = [e.id for e in _write(session, 5)]
    yield url, engine, ids
    engine.dispose()


def test_verify_reports_an_altered_row(own_db):
    url, engine, ids = own_db
    _tamper_sqlite(url, f"UPDATE audit_event SET actor_name = 'someone' WHERE id = {ids[2]}")
    with make_session_factory(engine)() as session:
        result = verify_chain(session, key=AUDIT_KEY)
    assert not result.ok
    assert result.broken_at == ids[2]
    assert "altered" in result.reason


def test_verify_reports_a_removed_row(own_db):
    url, engine, ids = own_db
    _tamper_sqlite(url, f"DELETE FROM audit_event WHERE id = {ids[1]}")
    with make_session_factory(engine)() as session:
        result = verify_chain(session, key=AUDIT_KEY)
    assert not result.ok
    assert result.broken_at == ids[2]
    assert "removed" in result.reason


def test_verify_reports_removed_newest_rows(own_db):
    url, engine, ids = own_db
    _tamper_sqlite(url, f"DELETE FROM audit_event WHERE id = {ids[-1]}")
    with make_session_factory(engine)() as session:
        result = verify_chain(session, key=AUDIT_KEY)
    assert not result.ok
    assert "newest rows were removed" in result.reason


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_concurrent_writers_never_fork_the_chain(db_url):
    """Eight threads append at once on PostgreSQL; the chain stays one line."""
    from concurrent.futures import ThreadPoolExecutor

    engine = make_engine(db_url)
    factory = make_session_factory(engine)

    def write(i):
        with factory() as s:
            record(s, TEST_ACTOR, "test.concurrent", object_ids=[i])
            s.commit()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(40)))
    assert link_all(engine, factory, key=AUDIT_KEY) >= 40
    with factory() as s:
        result = verify_chain(s, key=AUDIT_KEY)
        assert result.ok and result.lag.unlinked == 0
        count = s.execute(text("SELECT count(*) FROM audit_event WHERE action = "
                               "'test.concurrent'")).scalar_one()
        assert count == 40
    engine.dispose()
