"""Real races on committed databases (a SQLite file and PostgreSQL), one connection per thread:
of two analysts changing one account from the same version, exactly one wins."""

import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from app import migrations
from app.accounts import service
from app.accounts.models import Account, AccountStatus
from app.audit.models import AuditEvent
from app.audit.service import Actor
from app.audit.verify import verify_chain
from app.auth.models import User
from app.db import make_engine, make_session_factory, unit_of_work
from app.errors import Conflict
from tests.conftest import AUDIT_KEY
from tests.support.postgres import create_database


@pytest.fixture(scope="session")
def accounts_sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("acctmpl") / "template.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def accounts_pg_template(pg_server):
    migrations.upgrade(create_database(pg_server, "acc_template"))
    return "acc_template"


def _pg_admin(server, sql):
    import psycopg

    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(params=["sqlite", "postgres"])
def factory(request, tmp_path: Path):
    """A fresh committed database: a copy of a migrated SQLite file, or a PostgreSQL clone."""
    server = name = ""
    if request.param == "sqlite":
        path = tmp_path / "live.db"
        shutil.copy(request.getfixturevalue("accounts_sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        server = request.getfixturevalue("pg_server")
        template = request.getfixturevalue("accounts_pg_template")
        name = f"acc_{uuid.uuid4().hex[:12]}"
        _pg_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = f"{server}/{name}"
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()
    if name:
        _pg_admin(server, f'DROP DATABASE "{name}" WITH (FORCE)')


def test_two_analysts_change_the_status_at_once_one_wins(factory, monkeypatch):
    with unit_of_work(factory) as session:
        users = [User(username=n, role="analyst", password_hash="!", must_change_password=False)
                 for n in ("ana", "bob")]
        account = Account(platform="instagram", handle="race_case")
        session.add_all([*users, account])
        session.flush()
        actors = [Actor(user_id=u.id, name=u.username) for u in users]
        account_id, read_at = account.id, account.version

    barrier = threading.Barrier(2, timeout=20)
    original = service.compare_and_set

    def together(*args, **kwargs):  # both reach the UPDATE together, both having read v1
        barrier.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "compare_and_set", together)

    def change(actor, status, note=""):
        def run():
            try:
                with unit_of_work(factory) as session:
                    account = service.get_account(session, account_id)
                    service.set_status(session, actor, account, status, note=note,
                                       expected_version=read_at)
                return "ok", status.value
            except Conflict as exc:
                return "conflict", (exc.status_code, exc.message)
        return run

    jobs = [change(actors[0], AccountStatus.under_review),
            change(actors[1], AccountStatus.no_further_action, "staff member's account")]
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda job: job(), jobs))

    assert sorted(kind for kind, _ in outcomes) == ["conflict", "ok"]
    status, message = next(v for kind, v in outcomes if kind == "conflict")
    assert status == 409 and "Someone else changed this account" in message
    winner = next(v for kind, v in outcomes if kind == "ok")
    with factory() as session:
        stored = session.get(Account, account_id)
        assert stored.version == read_at + 1  # moved on by exactly one
        assert stored.status == winner
        changes = session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "account.status")).one()
        assert changes == 1
        assert verify_chain(session, key=AUDIT_KEY).ok


def test_a_change_with_no_expected_version_still_moves_it_on(factory):
    with unit_of_work(factory) as session:
        account = Account(platform="x", handle="follows_on")
        session.add(account)
        session.flush()
        account_id = account.id
    with unit_of_work(factory) as session:
        account = service.get_account(session, account_id)
        service.set_status(session, Actor(user_id=None, name="test"), account,
                           AccountStatus.attributed, note="attribution confirmed")
    with unit_of_work(factory) as session:
        account = service.get_account(session, account_id)
        assert (account.status, account.version) == ("attributed", 2)
        with pytest.raises(Conflict):  # a page still showing version 1 is now stale
            service.set_status(session, Actor(user_id=None, name="test"), account,
                               AccountStatus.new, expected_version=1)


def _decide_at_once(factory, monkeypatch, module, decisions):
    """Run each decision in a thread of its own; all reach their UPDATE together (the clock
    read just before it waits for the others). -> [("ok", result) | ("conflict", message)]"""
    barrier = threading.Barrier(len(decisions), timeout=20)
    original = module.utcnow

    def together():
        barrier.wait()
        return original()

    monkeypatch.setattr(module, "utcnow", together)

    def run(decision):
        try:
            with unit_of_work(factory) as session:
                return "ok", decision(session)
        except Conflict as exc:
            return "conflict", exc.message

    with ThreadPoolExecutor(len(decisions)) as pool:
        return list(pool.map(run, decisions))


def test_two_reviewers_decide_one_match_at_once_one_decides(factory, monkeypatch, tmp_path):
    from app.audit.service import SYSTEM
    from app.evidence.images import ingest_image
    from app.matching import service as matching
    from app.matching.models import Match
    from app.settings import Settings
    from tests.matching import scenes

    settings = Settings(data_dir=tmp_path / "data")
    with unit_of_work(factory) as session:
        users = [User(username=n, role="analyst", password_hash="!", must_change_password=False)
                 for n in ("ana", "bob")]
        session.add_all(users)
        first, _ = ingest_image(session, settings, SYSTEM, data=scenes.jpeg(scenes.room(4)),
                                filename="a.jpg")
        again, _ = ingest_image(session, settings, SYSTEM, data=scenes.repost(scenes.room(4)),
                                filename="b.jpg")
        match = Match(query_image_id=again.id, candidate_image_id=first.id, method="phash",
                      distance=1)
        session.add(match)
        session.flush()
        actors = [Actor(user_id=u.id, name=u.username) for u in users]
        match_id = match.id

    def decide(actor, confirm):
        return lambda session: matching.review(session, actor, session.get(Match, match_id),
                                               confirm=confirm).status

    outcomes = _decide_at_once(factory, monkeypatch, matching,
                               [decide(actors[0], True), decide(actors[1], False)])
    assert sorted(kind for kind, _ in outcomes) == ["conflict", "ok"]
    winner = next(v for kind, v in outcomes if kind == "ok")
    with factory() as session:
        assert session.get(Match, match_id).status == winner
        decisions = session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.in_(["match.confirm", "match.reject"]))).one()
        assert decisions == 1


def test_two_analysts_decide_one_attribution_at_once_one_decides(factory, monkeypatch):
    from datetime import date

    from app.accounts import attribution
    from app.accounts.models import Attribution
    from app.estate import service as estate

    with unit_of_work(factory) as session:
        users = [User(username=n, role="analyst", password_hash="!", must_change_password=False)
                 for n in ("ana", "bob")]
        account = Account(platform="instagram", handle="attributed_race")
        session.add_all([*users, account])
        session.flush()
        prisoner = estate.create_prisoner(session, Actor(user_id=None, name="test"),
                                          prison_number="A1234BC", surname="Smith",
                                          forenames="John", date_of_birth=date(1990, 1, 1))
        row = Attribution(account_id=account.id, prisoner_id=prisoner.id, basis_kind="manual",
                          basis="cell A-1-001 on the photo's day")
        session.add(row)
        session.flush()
        actors = [Actor(user_id=u.id, name=u.username) for u in users]
        row_id = row.id

    def decide(actor, confirm):
        return lambda session: attribution.decide(
            session, actor, session.get(Attribution, row_id), confirm=confirm).status

    outcomes = _decide_at_once(factory, monkeypatch, attribution,
                               [decide(actors[0], True), decide(actors[1], False)])
    assert sorted(kind for kind, _ in outcomes) == ["conflict", "ok"]
    with factory() as session:
        decisions = session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.in_(["attribution.confirm", "attribution.reject"]))).one()
        assert decisions == 1


def test_two_cell_matches_of_one_account_confirmed_at_once_suggest_a_prisoner_once(
        factory, monkeypatch):
    """Two images of one account, each matched to cell A-1-001, confirmed by two reviewers at
    the same moment: the cell's occupant is suggested once (the second decision waits for
    the first's account lock, then sees its suggestion)."""
    from datetime import UTC, date, datetime

    from app.accounts import attribution
    from app.accounts.models import Attribution
    from app.estate.models import Cell, Establishment, Occupancy, Prisoner
    from app.evidence.models import EvidenceImage, Image, ReferencePhoto
    from app.matching import service as matching
    from app.matching.models import Match

    def image(n):
        return Image(sha256=f"{n:064x}", format="jpeg", byte_size=1, width=1, height=1,
                     storage_key=f"{n:064x}", wrapped_key=b"x", phash=n, phash_mirror=n,
                     phash_trim=n, dhash=n)

    with unit_of_work(factory) as session:
        users = [User(username=n, role="analyst", password_hash="!", must_change_password=False)
                 for n in ("ana", "bob")]
        account = Account(platform="instagram", handle="two_posts")
        est = Establishment(code="MDI", name="Moorland")
        session.add_all([*users, account, est])
        session.flush()
        cell = Cell(establishment_id=est.id, label="A-1-001", wing="A", landing="1")
        prisoner = Prisoner(prison_number="A1234BC", surname="Smith", forenames="John",
                            surname_key="smith", forenames_key="john",
                            date_of_birth=date(1990, 1, 1))
        images = [image(n) for n in (1, 2, 3, 4)]
        session.add_all([cell, prisoner, *images])
        session.flush()
        session.add(Occupancy(prisoner_id=prisoner.id, cell_id=cell.id,
                              starts_on=date(2025, 1, 1)))
        posts, refs = images[:2], images[2:]
        session.add_all([EvidenceImage(image_id=i.id, account_id=account.id,
                                       posted_at=datetime(2025, 6, 1, 12, tzinfo=UTC))
                         for i in posts])
        session.add_all([ReferencePhoto(image_id=i.id, cell_id=cell.id) for i in refs])
        matches = [Match(query_image_id=p.id, candidate_image_id=r.id, method="phash",
                         distance=0) for p, r in zip(posts, refs, strict=True)]
        session.add_all(matches)
        session.flush()
        actors = [Actor(user_id=u.id, name=u.username) for u in users]
        match_ids, account_id = [m.id for m in matches], account.id

    def confirm(actor, match_id):
        return lambda session: len(attribution.decide_match(
            session, actor, session.get(Match, match_id), confirm=True, note="",
            tz="Europe/London"))

    outcomes = _decide_at_once(factory, monkeypatch, matching,
                               [confirm(actors[0], match_ids[0]),
                                confirm(actors[1], match_ids[1])])
    assert sorted(outcomes) == [("ok", 0), ("ok", 1)]
    with factory() as session:
        rows = session.exec(select(Attribution).where(Attribution.account_id == account_id)
                            ).all()
        assert [(r.prisoner_id, r.status) for r in rows] == [(prisoner.id, "suggested")]
        assert {session.get(Match, i).status for i in match_ids} == {"confirmed"}
