"""Retention of the audit log: pruning the oldest events leaves a signed anchor, `audit verify`
stays clean from it, and still finds edits, deletions and re-hashes of the events kept."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from app import migrations
from app.audit import chain
from app.audit.linker import link_all
from app.audit.models import AuditEvent
from app.audit.prune import PruneRefused, prune_audit
from app.audit.service import link_pending
from app.audit.verify import read_checkpoint, verify_chain, write_checkpoint
from app.db import make_engine, make_session_factory, utcnow
from tests.conftest import AUDIT_KEY, TEST_ACTOR
from tests.support.postgres import two_role_database

OLD, NEW = 6, 4


def _databases(kind, tmp_path, request):
    """(owner URL, app URL): the same file on SQLite, which has no roles."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path}/prune-{uuid.uuid4().hex[:6]}.db"
        migrations.upgrade(url)
        return url, url
    return two_role_database(request.getfixturevalue("pg_server"),
                             f"prune_{uuid.uuid4().hex[:8]}")


def _event(session, when, n):
    session.add(AuditEvent(occurred_at=when, actor_name="test", action="test.event",
                           object_type="thing", object_ids=f'["{n}"]'))


def _log(app_url):
    """OLD events from two years ago, then NEW from today, all linked."""
    engine = make_engine(app_url)
    factory = make_session_factory(engine)
    with factory() as s:
        for n in range(OLD):
            _event(s, utcnow() - timedelta(days=730), n)
        for n in range(NEW):
            _event(s, utcnow(), OLD + n)
        s.commit()
    assert link_all(engine, factory, key=AUDIT_KEY) == OLD + NEW
    return engine, factory


def _prune(owner_url, path):
    engine = make_engine(owner_url)
    try:
        with make_session_factory(engine)() as s:
            done = prune_audit(s, TEST_ACTOR, key=AUDIT_KEY, before=utcnow() - timedelta(
                days=395), checkpoint=read_checkpoint(path))
            s.commit()
    finally:
        engine.dispose()
    return done


def _kept(factory):
    with factory() as s:
        return list(s.exec(text("SELECT id, seq FROM audit_event ORDER BY seq")).all())  # type: ignore[call-overload]


def _unguarded(owner_url, *statements):
    """Someone with full access to the database (not the key): triggers off, then the edit."""
    engine = make_engine(owner_url)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER ALL"))
        for statement, params in statements:
            conn.execute(text(statement), params)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def pruned(request, tmp_path):
    """A log of OLD old and NEW recent events, checkpointed, then pruned by the owner."""
    owner_url, app_url = _databases(request.param, tmp_path, request)
    engine, factory = _log(app_url)
    path = tmp_path / "checkpoints.jsonl"
    with factory() as s:
        write_checkpoint(s, path, key=AUDIT_KEY)
    done = _prune(owner_url, path)
    assert link_all(engine, factory, key=AUDIT_KEY) == 1  # the prune's own event
    yield owner_url, factory, path, done
    engine.dispose()


def test_prune_removes_the_old_events_and_verify_stays_clean(pruned):
    owner_url, factory, path, done = pruned
    assert (done.events, done.anchor_seq) == (OLD, OLD)
    kept = _kept(factory)
    assert [seq for _, seq in kept] == list(range(OLD + 1, OLD + NEW + 2))
    with factory() as s:
        result = verify_chain(s, key=AUDIT_KEY, checkpoint=read_checkpoint(path))
        note = s.exec(select(AuditEvent).where(AuditEvent.action == "audit.pruned")).one()
        write_checkpoint(s, path, key=AUDIT_KEY)  # a checkpoint after the prune is written
    assert result.ok, result.reason
    assert result.checked == NEW + 1
    assert '"events": 6' in note.details and f'"through_seq": {OLD}' in note.details


@pytest.mark.parametrize("attack", ["edit", "delete", "rehash", "move anchor"])
def test_verify_after_a_prune_still_finds_tampering(pruned, attack):
    owner_url, factory, path, _ = pruned
    kept = _kept(factory)
    victim = kept[1].id
    if attack == "edit":
        _unguarded(owner_url, ("UPDATE audit_event SET details = '{\"x\": 1}' WHERE id = :i",
                               {"i": victim}))
    elif attack == "delete":
        _unguarded(owner_url, ("DELETE FROM audit_event WHERE id = :i", {"i": victim}))
    elif attack == "rehash":  # edit a row and give it and the rest links that match, unkeyed
        with factory() as s:
            rows = list(s.exec(select(AuditEvent).order_by(AuditEvent.seq)).all())
        prev = rows[0].row_hash
        rows[1].details = '{"x": 1}'
        statements = []
        for row in rows[1:]:
            digest = chain.keyed_hash(b"k" * 32, prev, row.seq, row)
            statements.append(("UPDATE audit_event SET details = :d, prev_hash = :p, "
                               "row_hash = :h WHERE id = :i",
                               {"d": row.details, "p": prev, "h": digest, "i": row.id}))
            prev = digest
        _unguarded(owner_url, *statements,
                   ("UPDATE audit_head SET last_hash = :h", {"h": prev}))
    else:  # prune two more by hand and move the anchor over them, with the old signature
        with factory() as s:
            second = s.exec(select(AuditEvent).where(AuditEvent.id == victim)).one()
        _unguarded(owner_url,
                   ("DELETE FROM audit_event WHERE seq <= :s", {"s": second.seq}),
                   ("UPDATE audit_head SET anchor_seq = :s, anchor_hash = :h, anchor_id = :i",
                    {"s": second.seq, "h": second.row_hash, "i": victim}))
    with factory() as s:
        with_file = verify_chain(s, key=AUDIT_KEY, checkpoint=read_checkpoint(path))
        blind = verify_chain(s, key=AUDIT_KEY)
    assert not with_file.ok and not blind.ok
    if attack in ("edit", "rehash"):
        assert with_file.broken_at == victim and "does not match its hash" in with_file.reason
    elif attack == "delete":
        assert "were removed" in with_file.reason
    else:
        assert "anchor" in with_file.reason and "not signed" in with_file.reason


def test_the_apps_role_cannot_prune(tmp_path, request):
    owner_url, app_url = _databases("postgres", tmp_path, request)
    engine, factory = _log(app_url)
    with factory() as s, pytest.raises(DBAPIError, match="permission denied"):
        prune_audit(s, TEST_ACTOR, key=AUDIT_KEY, before=utcnow() - timedelta(days=395),
                    checkpoint=None)
    assert len(_kept(factory)) == OLD + NEW
    engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_the_triggers_let_nothing_above_the_anchor_go(owner_session):
    owner_session.add(AuditEvent(actor_name="t", action="test.event"))
    owner_session.flush()
    link_pending(owner_session, key=AUDIT_KEY)
    # even the tables' owner: nothing is pruned, so the anchor is at seq 0
    with pytest.raises(DBAPIError, match="append-only"), owner_session.begin_nested():
        owner_session.execute(text("DELETE FROM audit_event"))


def test_a_broken_chain_is_not_pruned(tmp_path, request):
    owner_url, app_url = _databases("sqlite", tmp_path, request)
    engine, factory = _log(app_url)
    first = _kept(factory)[0].id
    _unguarded(owner_url, ("UPDATE audit_event SET purpose = 'x' WHERE id = :i", {"i": first}))
    with factory() as s, pytest.raises(PruneRefused, match="does not verify"):
        prune_audit(s, TEST_ACTOR, key=AUDIT_KEY, before=utcnow(), checkpoint=None)
    assert len(_kept(factory)) == OLD + NEW  # the evidence of the edit stays
    engine.dispose()


def test_a_deleted_unlinked_event_above_the_anchor_is_still_found(tmp_path, request):
    owner_url, app_url = _databases("sqlite", tmp_path, request)
    engine, factory = _log(app_url)
    _prune(owner_url, tmp_path / "none.jsonl")
    with factory() as s:  # two more events, not linked yet; the first is deleted
        for n in range(2):
            _event(s, utcnow(), 100 + n)
        s.commit()
        gone = s.exec(select(AuditEvent.id).where(AuditEvent.seq == None)  # noqa: E711
                      .order_by(AuditEvent.id)).first()
    _unguarded(owner_url, ("DELETE FROM audit_event WHERE id = :i", {"i": gone}))
    with factory() as s:
        result = verify_chain(s, key=AUDIT_KEY)
    engine.dispose()
    assert not result.ok and result.broken_at == gone and "ids are missing" in result.reason
