"""Real races on committed databases (a SQLite file and PostgreSQL), one connection per thread:
exactly one of two simultaneous moves wins, the other gets 409, one event row is written."""

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func
from sqlmodel import col, select

from app.accounts.models import Account
from app.audit.models import AuditEvent
from app.audit.verify import verify_chain
from app.errors import Conflict
from app.takedowns import claims, jobs, service
from app.takedowns.models import Notice, Takedown, TakedownEvent
from tests.conftest import AUDIT_KEY
from tests.takedowns.conftest import doer, seed_people, set_platform


def _takedown(live, people, state, author=None, **fields):
    with live.factory() as session:
        td = Takedown(account_id=people.account.id, platform="instagram", state=state,
                      reason="Posting from inside a cell", author_id=(author or people.analyst).id,
                      **fields)
        session.add(td)
        session.commit()
        return td.id


def _race(live, monkeypatch, jobs):
    """Run jobs in threads that all reach the compare-and-set UPDATE together."""
    barrier = threading.Barrier(len(jobs), timeout=20)
    original = service.compare_and_set

    def together(*args, **kwargs):
        barrier.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "compare_and_set", together)

    def run(job):
        with live.factory() as session:
            try:
                result = job(session)
                session.commit()
                return "ok", result
            except Conflict as exc:
                session.rollback()
                return "conflict", exc.message

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def test_two_supervisors_at_once_one_wins(live, monkeypatch):
    people = seed_people(live)
    td_id = _takedown(live, people, "awaiting_approval")

    def approve(who):
        return lambda s: service.transition(s, live.settings, doer(who), td_id, "approve",
                                            version=1).takedown.state

    def send_back(s):
        return service.transition(s, live.settings, doer(people.sup2), td_id, "return",
                                  version=1, note="needs the post URLs").takedown.state

    outcomes = _race(live, monkeypatch, [approve(people.sup1), send_back])
    assert sorted(kind for kind, _ in outcomes) == ["conflict", "ok"]
    message = next(m for kind, m in outcomes if kind == "conflict")
    assert "at the same moment" in message and "Reload" in message
    with live.factory() as session:
        td = session.get(Takedown, td_id)
        events = session.exec(select(TakedownEvent).where(
            TakedownEvent.takedown_id == td_id)).all()
        assert len(events) == 1 and events[0].from_state == "awaiting_approval"
        assert td.version == 2 and td.state == events[0].to_state
        moves = session.exec(select(func.count()).select_from(AuditEvent).where(
            col(AuditEvent.action).in_(["takedown.approve", "takedown.return"]))).one()
        assert moves == 1
        assert verify_chain(session, key=AUDIT_KEY).ok


def test_two_senders_at_once_send_one_notice(live, monkeypatch, webhook):
    people = seed_people(live)
    with live.factory() as session:
        set_platform(session, "webhook", f"{webhook.url}/ok")
        session.commit()
    td_id = _takedown(live, people, "approved", approver_id=people.sup1.id)

    def send(who):
        return lambda s: service.transition(s, live.settings, doer(who), td_id, "send",
                                            version=1).takedown.state

    outcomes = _race(live, monkeypatch, [send(people.analyst), send(people.analyst2)])
    assert sorted(kind for kind, _ in outcomes) == ["conflict", "ok"]
    assert webhook.received == []  # stored as due: delivered after the commit, here by a job
    monkeypatch.undo()
    assert jobs.run(live.engine, live.settings).left_over == 1
    assert len(webhook.received) == 1
    with live.factory() as session:
        assert session.exec(select(func.count()).select_from(Notice)).one() == 1
        assert session.get(Takedown, td_id).state == "sent"
        assert session.get(Account, people.account.id).status == "takedown_requested"
        assert len(session.exec(select(TakedownEvent)).all()) == 1


def test_claim_next_never_hands_out_the_same_takedown(live):
    people = seed_people(live)
    ids = {_takedown(live, people, "approved", approver_id=people.sup1.id) for _ in range(8)}
    barrier = threading.Barrier(4, timeout=20)

    def claimer(user):
        got = []
        barrier.wait()
        while True:
            with live.factory() as session:
                td = claims.claim_next(session, doer(user))
                session.commit()
            if td is None:
                return user.id, got
            got.append(td.id)

    users = [people.analyst, people.analyst2, people.sup1, people.sup2]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(claimer, users))
    claimed = [i for _, got in results for i in got]
    assert sorted(claimed) == sorted(ids)  # every one claimed exactly once
    with live.factory() as session:
        owners = dict(session.exec(select(Takedown.id, Takedown.claimed_by)).all())
    for user_id, got in results:
        assert all(owners[i] == user_id for i in got)
