"""The keyed chain against someone with full database access but not the key.

The attack of issue 11, on a copy of the database: drop (or disable) the triggers, delete
events, re-hash the chain so that every link matches again. `verify` must say it is broken,
and where, on SQLite and PostgreSQL.
"""

import json
import shutil
import uuid

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.orm import defer
from sqlmodel import Session, select
from typer.testing import CliRunner

from app import migrations
from app.audit import chain
from app.audit.linker import link_all
from app.audit.models import GENESIS_HASH, AuditEvent
from app.audit.service import ChainHeadInvalid, link_pending, record
from app.audit.verify import read_checkpoint, verify_chain, write_checkpoint
from app.db import make_engine, make_session_factory
from app.settings import get_settings
from tests.conftest import AUDIT_KEY, TEST_ACTOR
from tests.support.postgres import create_database


def _fresh_url(kind, tmp_path, request):
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path}/chain-{uuid.uuid4().hex[:6]}.db"
    else:
        url = create_database(request.getfixturevalue("pg_server"), f"chain_{uuid.uuid4().hex[:8]}")
    migrations.upgrade(url)
    return url


def _copy(kind, url, tmp_path, request):
    """A copy of the database, as someone with the files or a dump would make."""
    if kind == "sqlite":
        target = tmp_path / f"copy-{uuid.uuid4().hex[:6]}.db"
        shutil.copy(url.removeprefix("sqlite:///"), target)
        return f"sqlite:///{target}"
    import psycopg

    server = request.getfixturevalue("pg_server")
    name, source = f"copy_{uuid.uuid4().hex[:8]}", url.rsplit("/", 1)[1]
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return f"{server}/{name}"


def _events(url, n):
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as s:
        for i in range(n):
            record(s, TEST_ACTOR, "test.event", object_type="thing", object_ids=[i])
        s.commit()
    assert link_all(engine, factory, key=AUDIT_KEY) == n
    with factory() as s:
        ids = [row.id for row in s.exec(
            text("SELECT id FROM audit_event ORDER BY seq")).all()]  # type: ignore[call-overload]
    return engine, factory, ids


def _unguard(conn):
    if conn.dialect.name == "sqlite":
        conn.execute(text("DROP TRIGGER audit_event_no_update"))
        conn.execute(text("DROP TRIGGER audit_event_no_delete"))
    else:
        conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER ALL"))


def _read(conn, where, *, before_0014=False):
    """Events as the app reads them (times as UTC), through the attacker's connection."""
    query = select(AuditEvent).where(text(where))
    if before_0014:
        query = query.options(defer(AuditEvent.hash_version, raiseload=True))
    with Session(bind=conn) as s:
        rows = list(s.exec(query).all())
        s.expunge_all()
    return rows


def _rehash(conn, *, version):
    """Renumber the surviving events and give every one a link that matches, computed with the
    unkeyed function (as the app's own hash was), marked `version`; move the head to the end."""
    prev, seq = GENESIS_HASH, 0
    for event in _read(conn, "seq IS NOT NULL ORDER BY seq"):
        seq += 1
        digest = chain.plain_hash(prev, event)
        conn.execute(text("UPDATE audit_event SET seq = :s, prev_hash = :p, row_hash = :h, "
                          "hash_version = :v WHERE id = :id"),
                     {"s": seq, "p": prev, "h": digest, "v": version, "id": event.id})
        prev = digest
    conn.execute(text("UPDATE audit_head SET last_seq = :s, last_hash = :h, keyed_from = :k"),
                 {"s": seq, "h": prev, "k": seq + 1 if version == chain.PLAIN else 1})


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("version", [chain.PLAIN, chain.KEYED])
def test_rehash_attack_is_found_and_located(kind, version, tmp_path, request):
    url = _fresh_url(kind, tmp_path, request)
    engine, factory, ids = _events(url, 10)
    path = tmp_path / "checkpoints.jsonl"
    with factory() as s:
        write_checkpoint(s, path, key=AUDIT_KEY)
        assert verify_chain(s, key=AUDIT_KEY, checkpoint=read_checkpoint(path)).ok
    engine.dispose()
    copy_url = _copy(kind, url, tmp_path, request)
    engine = make_engine(copy_url)
    with engine.begin() as conn:  # the attacker, on a copy: triggers off, five events gone,
        _unguard(conn)            # the rest re-hashed
        conn.execute(text("DELETE FROM audit_event WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)), {"ids": ids[3:8]})
        _rehash(conn, version=version)
    with make_session_factory(engine)() as s:
        checked = verify_chain(s, key=AUDIT_KEY, checkpoint=read_checkpoint(path))
        blind = verify_chain(s, key=AUDIT_KEY)  # even without the auditor's file
    engine.dispose()
    with factory() as s:  # the original is untouched and verifies
        assert verify_chain(s, key=AUDIT_KEY, checkpoint=read_checkpoint(path)).ok
    assert not checked.ok and not blind.ok
    # every link was rewritten (the unkeyed ones from the start), so the first event is named
    assert checked.broken_at == ids[0]
    assert ("not hashed with the audit key" in checked.reason if version == chain.PLAIN
            else "does not match its hash" in checked.reason)
    if version == chain.PLAIN:  # without the file only the head's signature gives it away
        assert "head is not signed" in blind.reason
    else:
        assert blind.broken_at == ids[0]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_removing_the_newest_events_is_found_by_the_checkpoint(kind, tmp_path, request):
    url = _fresh_url(kind, tmp_path, request)
    engine, factory, ids = _events(url, 6)
    path = tmp_path / "checkpoints.jsonl"
    with factory() as s:
        write_checkpoint(s, path, key=AUDIT_KEY)
        head = s.exec(text("SELECT last_seq, last_hash, mac FROM audit_head")).one()  # type: ignore[call-overload]
    with engine.begin() as conn:  # keep an old, validly signed head: roll the log back
        _unguard(conn)
        conn.execute(text(f"DELETE FROM audit_event WHERE id >= {ids[4]}"))
        row = conn.execute(text(f"SELECT row_hash FROM audit_event WHERE id = {ids[3]}")).one()
        conn.execute(text("UPDATE audit_head SET last_seq = 4, last_hash = :h"),
                     {"h": row.row_hash})
    with factory() as s:
        result = verify_chain(s, key=AUDIT_KEY, checkpoint=read_checkpoint(path))
    engine.dispose()
    assert head.last_seq == 6
    assert not result.ok
    assert "checkpoint" in result.reason and "reached seq 6" in result.reason


def test_checkpoint_forged_or_edited_is_refused(tmp_path, request):
    url = _fresh_url("sqlite", tmp_path, request)
    engine, factory, _ = _events(url, 3)
    path = tmp_path / "checkpoints.jsonl"
    with factory() as s:
        point = write_checkpoint(s, path, key=AUDIT_KEY)
    edited = json.loads(path.read_text())
    edited["seq"] = 2
    path.write_text(json.dumps(edited) + "\n")
    with factory() as s:
        result = verify_chain(s, key=AUDIT_KEY, checkpoint=read_checkpoint(path))
        assert not result.ok and "checkpoint is not signed" in result.reason
        other_key = verify_chain(s, key=b"k" * 32, checkpoint=point)
        assert not other_key.ok
    engine.dispose()


def test_linker_never_extends_a_head_that_is_not_signed(session):
    record(session, TEST_ACTOR, "test.event")
    session.execute(text("UPDATE audit_head SET mac = ''"))
    with pytest.raises(ChainHeadInvalid):
        link_pending(session, key=AUDIT_KEY)


def test_wrong_key_finds_every_keyed_link_broken(session):
    record(session, TEST_ACTOR, "test.event")
    link_pending(session, key=AUDIT_KEY)
    assert verify_chain(session, key=AUDIT_KEY).ok
    assert not verify_chain(session, key=b"x" * 32).ok


def test_rows_linked_before_the_key_stay_verifiable(tmp_path):
    """A database with events linked by the unkeyed chain (revision 0011) upgrades: old rows
    verify as version 1, new ones are keyed, and relabelling a keyed row as version 1 is
    found."""
    url = f"sqlite:///{tmp_path}/old.db"
    migrations.upgrade(url, "0013")
    engine = make_engine(url)
    prev = "0" * 64
    with engine.begin() as conn:  # what the app before 0014 wrote and linked
        for seq in (1, 2):
            conn.execute(text(
                "INSERT INTO audit_event (occurred_at, actor_name, action, object_type, "
                "object_ids, purpose, outcome, client_addr, request_id, details) VALUES "
                "('2026-11-01 10:00:00.000000', 'old', 'test.old', '', '[]', '', 'success', '', "
                "'', '{}')"))
            new_id = conn.execute(text("SELECT max(id) FROM audit_event")).scalar_one()
            event = _read(conn, f"id = {new_id}", before_0014=True)[0]
            digest = chain.plain_hash(prev, event)
            conn.execute(text("UPDATE audit_event SET seq = :s, prev_hash = :p, row_hash = :h "
                              "WHERE id = :i"), {"s": seq, "p": prev, "h": digest, "i": new_id})
            prev = digest
        conn.execute(text("UPDATE audit_head SET last_seq = 2, last_hash = :h"), {"h": prev})
    engine.dispose()
    migrations.upgrade(url)
    engine, factory, ids = _events(url, 2)
    with factory() as s:
        result = verify_chain(s, key=AUDIT_KEY)
        versions = s.exec(text("SELECT hash_version FROM audit_event ORDER BY seq")).all()  # type: ignore[call-overload]
    assert result.ok and result.checked == 4
    assert [v[0] for v in versions] == [chain.PLAIN, chain.PLAIN, chain.KEYED, chain.KEYED]
    with engine.begin() as conn:
        _unguard(conn)
        conn.execute(text("UPDATE audit_event SET hash_version = 1 WHERE seq = 3"))
    with factory() as s:
        relabelled = verify_chain(s, key=AUDIT_KEY)
    engine.dispose()
    assert not relabelled.ok and relabelled.broken_at == ids[2]  # the first keyed event
    assert "keyed from seq 3" in relabelled.reason


def test_cli_checkpoint_then_verify(tmp_path, monkeypatch):
    from app.cli import cli

    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    keep = tmp_path / "auditor" / "heads.jsonl"
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(cli, ["migrate"]).exit_code == 0
        runner.invoke(cli, ["users", "create", "jdoe", "analyst"])
        runner.invoke(cli, ["audit", "link"])
        made = runner.invoke(cli, ["audit", "checkpoint", "--file", str(keep)])
        engine = make_engine(f"sqlite:///{tmp_path}/cellwatch.db")
        with engine.connect() as conn:  # the head is the last of the events `users create` made
            events = conn.exec_driver_sql("SELECT count(*) FROM audit_event").scalar()
        engine.dispose()
        assert made.exit_code == 0 and f"seq {events}," in made.output
        ok = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(keep)])
        assert ok.exit_code == 0 and "against the checkpoint of" in ok.output
        engine = make_engine(f"sqlite:///{tmp_path}/cellwatch.db")
        with engine.begin() as conn:
            _unguard(conn)
            _rehash(conn, version=chain.PLAIN)
        engine.dispose()
        broken = runner.invoke(cli, ["audit", "verify", "--checkpoint", str(keep)])
        assert broken.exit_code == 1 and "BROKEN at event 1" in broken.output
        refused = runner.invoke(cli, ["audit", "checkpoint", "--file", str(keep)])
        assert refused.exit_code == 1 and "no checkpoint written" in refused.output
        assert len(keep.read_text().splitlines()) == 1
    finally:
        get_settings.cache_clear()


def test_a_deleted_event_not_yet_linked_is_found_by_its_missing_id(tmp_path, request):
    """SQLite gives out ids without gaps, so an event deleted before the linker reached it
    still leaves a trace."""
    url = _fresh_url("sqlite", tmp_path, request)
    engine, factory, ids = _events(url, 3)
    with factory() as s:
        for i in range(3):
            record(s, TEST_ACTOR, "test.waiting", object_ids=[i])
        s.commit()
        waiting = [e.id for e in s.exec(select(AuditEvent).where(
            AuditEvent.action == "test.waiting").order_by(AuditEvent.id)).all()]
    with engine.begin() as conn:
        _unguard(conn)
        conn.execute(text(f"DELETE FROM audit_event WHERE id = {waiting[1]}"))
    with factory() as s:
        result = verify_chain(s, key=AUDIT_KEY)
    engine.dispose()
    assert not result.ok and result.broken_at == waiting[1]
    assert "1 event ids are missing" in result.reason


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_ids_a_rollback_took_on_postgresql_are_only_counted(session):
    record(session, TEST_ACTOR, "test.kept")
    with pytest.raises(RuntimeError), session.begin_nested():
        record(session, TEST_ACTOR, "test.rolled_back")
        raise RuntimeError("the change fails")
    record(session, TEST_ACTOR, "test.kept")
    link_pending(session, key=AUDIT_KEY)
    result = verify_chain(session, key=AUDIT_KEY)
    assert result.ok and result.checked >= 2 and result.unused_ids >= 1


def test_a_checkpoint_file_is_readable_by_its_writer_only(session, tmp_path):
    import os
    import stat

    link_pending(session, key=AUDIT_KEY)
    previous = os.umask(0o022)  # as a shell or cron would leave it
    try:
        write_checkpoint(session, tmp_path / "auditor" / "heads.jsonl", key=AUDIT_KEY)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "auditor" / "heads.jsonl").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "auditor").stat().st_mode) == 0o700
