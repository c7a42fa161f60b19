"""`cellwatch jobs run`: re-notices on the cadence, escalation after 3 notices, overdue flags,
idempotence, failures retried, and two runners at once on SQLite and PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlmodel import col, select
from typer.testing import CliRunner

from app import locks
from app.accounts.models import Account
from app.audit.verify import verify_chain
from app.cli import cli
from app.db import make_engine, utcnow
from app.settings import get_settings
from app.takedowns import jobs, outbox, service
from app.takedowns.models import Notice, Takedown, TakedownEvent
from tests.conftest import AUDIT_KEY
from tests.takedowns.conftest import doer, seed_people, set_platform
from tests.takedowns.helpers import audits, details, draft_for


def sent_takedowns(live, n, address, renotice_hours=24, target_hours=36):
    """n takedowns taken through the real flow up to notice #1; returns (ids, sent_at)."""
    people = seed_people(live, accounts=n)
    with live.factory() as session:
        set_platform(session, "webhook", address, renotice_hours=renotice_hours,
                     target_hours=target_hours)
        session.commit()
    ids, due = [], []
    with live.factory() as session:
        for account in session.exec(select(Account).order_by(col(Account.id))).all():
            td = service.create_takedown(session, live.settings, doer(people.analyst),
                                         account.id, draft_for(session, live.settings,
                                                               account.id))
            service.transition(session, live.settings, doer(people.analyst), td.id, "submit",
                               version=td.version)
            service.transition(session, live.settings, doer(people.sup1), td.id, "approve",
                               version=td.version)
            done = service.transition(session, live.settings, doer(people.analyst), td.id,
                                      "send", version=td.version)
            assert done.due
            ids.append(td.id)
            due.append(done.notice.id)
        session.commit()
    for notice_id in due:  # delivered after the commit, as the request's background task does
        assert outbox.deliver_now(live.factory, live.settings, doer(people.analyst).actor,
                                  notice_id).error == ""
    return ids, utcnow(), people


def numbers(live, takedown_id):
    with live.factory() as session:
        return [(n.number, n.delivery) for n in session.exec(
            select(Notice).where(Notice.takedown_id == takedown_id)
            .order_by(col(Notice.number))).all()]


def test_cadence_escalation_overdue_and_idempotence(live, webhook):
    (a, b), t0, people = sent_takedowns(live, 2, f"{webhook.url}/ok")
    with live.factory() as session:  # b is acknowledged: still waiting, still chased
        td = session.get(Takedown, b)
        service.transition(session, live.settings, doer(people.analyst), b, "acknowledge",
                           version=td.version, reference="REF-1")
        session.commit()

    def run(hours):
        return jobs.run(live.engine, live.settings, now=t0 + timedelta(hours=hours))

    early = run(23)
    assert (early.delivered, early.overdue_flagged) == (0, 0)
    first = run(25)
    assert (first.delivered, first.failed, first.overdue_flagged) == (2, 0, 0)
    again = run(25)  # idempotent: nothing is due any more
    assert (again.delivered, again.skipped, again.overdue_flagged) == (0, 0, 0)
    late = run(37)
    assert (late.delivered, late.overdue_flagged) == (0, 2)
    assert run(38).overdue_flagged == 0
    third = run(50)
    assert (third.delivered, third.escalated) == (2, 2)
    assert numbers(live, a) == [(1, "delivered"), (2, "delivered"), (3, "delivered")]
    with live.factory() as session:
        for td in session.exec(select(Takedown)).all():
            assert (td.notices_sent, td.escalated, td.overdue) == (3, True, True)
            assert td.next_notice_due_at > t0 + timedelta(hours=73)
        escalations = session.exec(select(TakedownEvent).where(
            col(TakedownEvent.note).startswith("Escalated"))).all()
        assert len(escalations) == 2
        assert verify_chain(session, key=AUDIT_KEY).ok
    with live.factory() as session:  # every re-notice is in a disclosure naming its recipient
        named = [(n["takedown"], n["notice"], n["recipient"])
                 for e in audits(session, "takedown.disclosure")
                 for n in details(e).get("notices", [details(e)])]
    assert sorted(named) == sorted((f"TD-{t}", n, f"{webhook.url}/ok")
                                   for t in (a, b) for n in (1, 2, 3))
    renotices = [p for _, p in webhook.received if p["notice_number"] > 1]
    assert sorted(p["notice_number"] for p in renotices) == [2, 2, 3, 3]
    assert all("reminder" in p["subject"] for p in renotices)
    assert any("REF-1" in p["body"] for p in renotices)
    # the same pack goes with every notice of a takedown
    assert len({p["pack"]["sha256"] for _, p in webhook.received
                if p["takedown_id"] == a}) == 1


def test_resolved_takedowns_get_no_more_notices(live, webhook):
    (a,), t0, people = sent_takedowns(live, 1, f"{webhook.url}/ok")
    with live.factory() as session:
        td = session.get(Takedown, a)
        service.transition(session, live.settings, doer(people.analyst), a, "removed",
                           version=td.version)
        session.commit()
    report = jobs.run(live.engine, live.settings, now=t0 + timedelta(days=10))
    assert (report.delivered, report.overdue_flagged) == (0, 0)
    assert numbers(live, a) == [(1, "delivered")]


def test_failed_renotice_is_recorded_and_retried_with_the_same_number(live, webhook):
    (a,), t0, _ = sent_takedowns(live, 1, f"{webhook.url}/ok")
    with live.factory() as session:
        set_platform(session, "webhook", f"{webhook.url}/fail")
        session.commit()
    failed = jobs.run(live.engine, live.settings, now=t0 + timedelta(hours=25))
    assert (failed.delivered, failed.failed) == (0, 1)
    assert numbers(live, a) == [(1, "delivered"), (2, "failed")]
    with live.factory() as session:
        td = session.get(Takedown, a)
        assert td.notices_sent == 1
        assert td.next_notice_due_at == t0 + timedelta(hours=25) + jobs.RETRY_AFTER
        set_platform(session, "webhook", f"{webhook.url}/ok")
        session.commit()
    assert jobs.run(live.engine, live.settings, now=t0 + timedelta(hours=25)).delivered == 0
    retried = jobs.run(live.engine, live.settings, now=t0 + timedelta(hours=26))
    assert retried.delivered == 1
    assert numbers(live, a) == [(1, "delivered"), (2, "delivered")]


def _two_at_once(live, t0, runner):
    barrier = threading.Barrier(2, timeout=20)

    def go(_):
        engine = make_engine(live.settings.effective_database_url)  # its own connections
        try:
            barrier.wait()
            return runner(engine, t0 + timedelta(hours=25))
        finally:
            engine.dispose()

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(go, range(2)))


def _each_got_one_renotice(live, ids, webhook, reports):
    assert sum(r.delivered for r in reports) == len(ids)
    for takedown_id in ids:
        assert numbers(live, takedown_id) == [(1, "delivered"), (2, "delivered")]
    renotices = [p["takedown_id"] for _, p in webhook.received if p["notice_number"] == 2]
    assert sorted(renotices) == sorted(ids)  # nobody was sent the same notice twice


def test_two_runners_started_together_send_each_notice_once(live, webhook):
    ids, t0, _ = sent_takedowns(live, 6, f"{webhook.url}/ok")
    reports = _two_at_once(live, t0, lambda engine, now: jobs.run(engine, live.settings,
                                                                 now=now))
    _each_got_one_renotice(live, ids, webhook, reports)


def test_even_without_the_lock_the_per_takedown_claim_holds(live, webhook):
    ids, t0, _ = sent_takedowns(live, 6, f"{webhook.url}/ok")
    reports = _two_at_once(live, t0, lambda engine, now: jobs.run_unlocked(
        engine, live.settings, now=now, actor=jobs.JOBS_ACTOR))
    _each_got_one_renotice(live, ids, webhook, reports)


def test_the_lock_admits_one_runner(live):
    with locks.job_lock(live.engine, "takedowns", "first") as held:
        assert held is not None
        with locks.job_lock(live.engine, "takedowns", "second") as other:
            assert other is None
        assert jobs.run(live.engine, live.settings).ran is False
    with locks.job_lock(live.engine, "takedowns", "third") as again:
        assert again is not None  # released at the end of the run


def test_an_expired_sqlite_lease_is_taken_over(live):
    if live.dialect != "sqlite":
        return  # PostgreSQL's advisory lock dies with its connection instead
    from sqlalchemy import update

    from app.locks import JobLock

    with locks.job_lock(live.engine, "takedowns", "crashed") as held:
        assert held is not None
        with live.engine.begin() as conn:  # as if the holder died long ago
            conn.execute(update(JobLock).values(expires_at=utcnow() - timedelta(seconds=1)))
        with locks.job_lock(live.engine, "takedowns", "rescuer") as rescued:
            assert rescued is not None


def test_cli_jobs_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(cli, ["migrate"]).exit_code == 0
        result = runner.invoke(cli, ["jobs", "run"])
        assert result.exit_code == 0, result.output
        assert "takedowns: overdue flagged 0; re-notices delivered 0" in result.output
    finally:
        get_settings.cache_clear()


def test_a_renotice_whose_template_fails_is_recorded_as_failed(live, webhook):
    from app.takedowns.models import PlatformSettings

    (a,), t0, _ = sent_takedowns(live, 1, f"{webhook.url}/ok")
    with live.factory() as session:
        row = session.get(PlatformSettings, "instagram")
        row.template = "{% if notice_number > 1 %}{{ nope.x }}{% endif %}x"
        session.add(row)
        session.commit()
    report = jobs.run(live.engine, live.settings, now=t0 + timedelta(hours=25))
    assert (report.delivered, report.failed) == (0, 1)
    assert numbers(live, a) == [(1, "delivered"), (2, "failed")]
    with live.factory() as session:
        notice = session.exec(select(Notice).where(Notice.number == 2)).one()
        assert "template failed" in notice.error


def test_a_costly_template_fails_its_own_notice_and_the_run_goes_on(live, webhook):
    """A template that is costly only for one account (the save-time check cannot see it)
    fails that takedown's re-notice within the render budget; the others are delivered."""
    from app.takedowns.models import PlatformSettings

    (a, b), t0, _ = sent_takedowns(live, 2, f"{webhook.url}/ok")
    with live.factory() as session:
        slow = session.exec(select(Account).join(Takedown, Takedown.account_id == Account.id)
                            .where(Takedown.id == a)).one().handle
        row = session.get(PlatformSettings, "instagram")
        row.template = (row.template + f"{{% if account.handle == '{slow}' %}}"
                        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                        "{% endfor %}{% endif %}")
        session.add(row)
        session.commit()
    report = jobs.run(live.engine, live.settings, now=t0 + timedelta(hours=25))
    assert (report.delivered, report.failed) == (1, 1)  # (unbounded, this run takes hours)
    assert numbers(live, a) == [(1, "delivered"), (2, "failed")]
    assert numbers(live, b) == [(1, "delivered"), (2, "delivered")]
    with live.factory() as session:
        notice = session.exec(select(Notice).where(Notice.takedown_id == a,
                                                   Notice.number == 2)).one()
        assert "does too much work" in notice.error


def test_a_portal_renotice_is_made_ready_to_submit_and_audited_so(live):
    """A portal platform's re-notice is not sent by the service: the job makes it ready for a
    person to file, and the audit log says so, not "sent"."""
    people = seed_people(live, accounts=1)
    with live.factory() as session:
        set_platform(session, "portal", "https://portal.example/report", renotice_hours=24)
        account = session.exec(select(Account)).one()
        td = service.create_takedown(session, live.settings, doer(people.analyst), account.id,
                                     draft_for(session, live.settings, account.id))
        for who, action in ((people.analyst, "submit"), (people.sup1, "approve"),
                            (people.analyst, "send")):
            service.transition(session, live.settings, doer(who), td.id, action,
                               version=td.version)
        service.transition(session, live.settings, doer(people.analyst), td.id, "submitted",
                           version=td.version, reference="P-1")
        session.commit()
        takedown_id = td.id
    report = jobs.run(live.engine, live.settings, now=utcnow() + timedelta(hours=25))
    assert report.failed == 0
    assert numbers(live, takedown_id) == [(1, "manual"), (2, "manual")]
    with live.factory() as session:
        [event] = [e for e in audits(session, "takedown.disclosure")
                   if details(e).get("notices")]
        assert details(event)["via"] == "made ready to submit on the portal"
        assert [n["via"] for n in details(event)["notices"]] == [
            "made ready to submit on the portal"]
