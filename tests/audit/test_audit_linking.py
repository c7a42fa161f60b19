"""Events are written with the change they record and linked into the chain after commit."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import select

from app.audit.linker import LOCK_NAME, link_all
from app.audit.models import AuditEvent, AuditHead
from app.audit.service import lag, link_pending, record
from app.audit.verify import verify_chain
from app.db import make_engine, make_session_factory, utcnow
from app.locks import job_lock
from tests.conftest import AUDIT_KEY, TEST_ACTOR

BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


@BOTH
def test_an_event_waits_unlinked_until_the_linker_places_it(session):
    event = record(session, TEST_ACTOR, "test.pending")
    session.commit()
    assert event.seq is None and event.row_hash is None
    waiting = verify_chain(session, key=AUDIT_KEY)
    assert waiting.ok and waiting.lag.unlinked >= 1
    assert waiting.lag.seconds(utcnow() + timedelta(seconds=5)) >= 5
    linked = link_pending(session, key=AUDIT_KEY)
    session.commit()
    assert linked >= 1
    session.refresh(event)
    head = session.get(AuditHead, 1)
    assert event.seq == head.last_seq and event.row_hash == head.last_hash
    result = verify_chain(session, key=AUDIT_KEY)
    assert result.ok and result.lag.unlinked == 0 and result.checked >= 1


@BOTH
def test_a_rolled_back_change_leaves_no_event(session):
    before = lag(session).unlinked
    with pytest.raises(RuntimeError), session.begin_nested():
        record(session, TEST_ACTOR, "test.rolled_back")
        raise RuntimeError("the change fails")
    assert lag(session).unlinked == before
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "test.rolled_back")
                        ).first() is None


@BOTH
@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET seq = 999999, action = 'forged' WHERE action = 'test.guard'",
    "UPDATE audit_event SET action = 'forged' WHERE action = 'test.guard'",
    "UPDATE audit_event SET seq = seq + 1000 WHERE action = 'test.guard'",
])
def test_only_the_one_link_of_an_unlinked_event_is_allowed(owner_session, statement):
    record(owner_session, TEST_ACTOR, "test.guard")
    owner_session.commit()
    if "seq + 1000" in statement:  # an already linked event cannot be moved
        link_pending(owner_session, key=AUDIT_KEY)
        owner_session.commit()
    with pytest.raises((IntegrityError, DBAPIError), match="append-only"), \
            owner_session.begin_nested():
        owner_session.execute(text(statement))


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_writers_never_wait_on_the_chain_head(db_url):
    """While something holds the chain's head row, audited work still commits at once."""
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    holder = engine.connect()
    holder.execute(text("SELECT * FROM audit_head WHERE id = 1 FOR UPDATE"))
    done = threading.Event()

    def write():
        with factory() as s:
            s.execute(text("SET LOCAL lock_timeout = '2s'"))
            record(s, TEST_ACTOR, "test.unblocked")
            s.commit()
        done.set()

    worker = threading.Thread(target=write)
    worker.start()
    worker.join(10)
    holder.rollback()
    holder.close()
    assert done.is_set()
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def committed_url(request, tmp_path):
    """A database whose commits are real: a fresh SQLite file, or the PostgreSQL test one."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    from app import migrations

    url = f"sqlite:///{tmp_path}/linkers.db"
    migrations.upgrade(url)
    return url


def test_a_second_linker_stands_aside_while_the_first_holds_the_lock(committed_url):
    engine = make_engine(committed_url)
    factory = make_session_factory(engine)
    with factory() as s:
        record(s, TEST_ACTOR, "test.two_linkers")
        s.commit()
    with job_lock(engine, LOCK_NAME) as lease:
        assert lease is not None
        assert link_all(engine, factory, key=AUDIT_KEY) is None  # lock held: not twice
    assert link_all(engine, factory, key=AUDIT_KEY) >= 1
    with factory() as s:
        result = verify_chain(s, key=AUDIT_KEY)
        assert result.ok and result.lag.unlinked == 0
    engine.dispose()
