"""Second matching stages are a queue: claimed once, taken up again when a worker dies, and
the index reads committed rows only. On committed databases (a SQLite file and PostgreSQL)."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from app import migrations
from app.audit.models import AuditEvent
from app.audit.service import SYSTEM
from app.db import make_engine, make_session_factory, unit_of_work, utcnow
from app.evidence.images import ingest_image, prepare, store
from app.matching import queue, service
from app.matching.engine import MatchEngine
from app.matching.jobs import features_first, run_second_stage
from app.matching.models import Match, MatchRun
from app.matching.worker import drain
from app.settings import Settings
from tests.matching import scenes


@pytest.fixture(params=["sqlite", "postgres"])
def live(request, tmp_path):
    if request.param == "postgres":
        pg = request.getfixturevalue("pg_server")
        from tests.support.postgres import create_database

        url = create_database(pg, f"queue_{tmp_path.name[-12:].lower().replace('-', '_')}")
        migrations.upgrade(url)
    else:
        url = f"sqlite:///{tmp_path}/queue.db"
        migrations.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    index = MatchEngine(db=make_engine(url))
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    yield settings, factory, index
    index.close()
    engine.dispose()


def _store(settings, factory, index, data):
    """An upload as a request makes it: image (its features left to its second stage) and
    first stage in one unit of work."""
    with unit_of_work(factory) as s:
        image, _ = store(s, settings, SYSTEM, prepare(s, settings, data=data, filename="x.jpg",
                                                       features=False))
        service.first_stage(s, index, SYSTEM, [image.id])
        return image.id


def test_a_second_stage_is_claimed_once_and_taken_up_again_when_its_claim_lapses(live):
    settings, factory, index = live
    image_id = _store(settings, factory, index, scenes.jpeg(scenes.room(1)))
    now = utcnow()
    with unit_of_work(factory) as s:
        assert queue.claim(s, image_id, now, "host-a:1") == queue.Claim(image_id, 1)
    with unit_of_work(factory) as s:
        assert queue.claim(s, image_id, now) is None  # held: nobody else runs it
        assert queue.claim_next(s, now) is None
        assert [(r.image_id, r.claimed_by) for r in queue.running(s, now)] == \
            [(image_id, "host-a:1")]
    # the worker that held it died: after the lease another one takes it
    later = now + queue.LEASE + timedelta(seconds=1)
    with unit_of_work(factory) as s:
        assert queue.claim_next(s, later, "host-b:2") == queue.Claim(image_id, 2)
        run = s.get(MatchRun, image_id)
        assert run.attempts == 2 and run.second_stage_at is None
        assert run.claimed_by == "host-b:2"


def test_a_worker_finishes_what_a_killed_process_left(live):
    settings, factory, index = live
    held = _store(settings, factory, index, scenes.jpeg(scenes.room(7)))
    with unit_of_work(factory) as s:  # the held photo's own stage is done already
        taken = queue.claim(s, held, utcnow())
    assert run_second_stage(factory, index, SYSTEM, taken, settings=settings)
    # another photo of the same room comes in; its process dies before the second stage
    other = _store(settings, factory, index, scenes.other_viewpoint(scenes.room(7)))
    with unit_of_work(factory) as s:
        assert queue.backlog(s).waiting == 1
    assert drain(factory, index, settings=settings) == 1
    with unit_of_work(factory) as s:
        assert queue.backlog(s).waiting == 0
        run = s.get(MatchRun, other)
        assert run.second_stage_at is not None and run.error == ""
        pair = s.exec(select(Match).where(Match.query_image_id == other)).all()
        assert [m.candidate_image_id for m in pair] == [held]
        assert pair[0].method == "features"


def test_a_stage_that_keeps_failing_is_tried_again_then_failed_with_its_reason(live,
                                                                              monkeypatch):
    settings, factory, index = live
    image_id = _store(settings, factory, index, scenes.jpeg(scenes.room(3)))

    def broken(*args, **kwargs):
        raise RuntimeError("features unreadable")

    monkeypatch.setattr(service, "second_stage", broken)
    now = utcnow()
    with unit_of_work(factory) as s:
        taken = queue.claim_next(s, now)
    assert not run_second_stage(factory, index, SYSTEM, taken, settings=settings)
    with unit_of_work(factory) as s:  # tried again after a pause, not at once
        stage = queue.stage_of(s, s.get(MatchRun, image_id), now)
        assert (stage.state, stage.error) == ("retrying", "RuntimeError: features unreadable")
        assert queue.claim_next(s, now) is None
    at = now
    for attempt in range(2, queue.MAX_ATTEMPTS + 1):
        at += queue.RETRY_PAUSE * attempt
        with unit_of_work(factory) as s:
            taken = queue.claim_next(s, at)
            assert taken == queue.Claim(image_id, attempt)
        run_second_stage(factory, index, SYSTEM, taken, settings=settings)
    with unit_of_work(factory) as s:
        assert queue.claim_next(s, now + timedelta(hours=1)) is None
        run = s.get(MatchRun, image_id)
        assert run.attempts == queue.MAX_ATTEMPTS and run.failed_at is not None
        assert run.error == "RuntimeError: features unreadable"
        assert queue.stage_of(s, run, now).state == "failed"
        assert queue.backlog(s) == queue.Backlog(0, None, 1)
        events = s.exec(select(AuditEvent).where(
            AuditEvent.action == "match.second_stage_failed")).all()
        assert [json.loads(e.details)["final"] for e in events] == [False, False, True]


def test_a_stage_whose_every_worker_died_is_failed_with_that_reason(live):
    settings, factory, index = live
    image_id = _store(settings, factory, index, scenes.jpeg(scenes.room(4)))
    policy = queue.Policy(lease=timedelta(seconds=10), attempts=2)
    now = utcnow()
    for attempt in (1, 2):  # each claimant dies without a word
        with unit_of_work(factory) as s:
            assert queue.claim_next(s, now, policy=policy) == queue.Claim(image_id, attempt)
        now += timedelta(seconds=11)
    with unit_of_work(factory) as s:
        assert queue.stage_of(s, s.get(MatchRun, image_id), now, policy).state == "queued"
        assert queue.give_up_lapsed(s, now, policy) == [image_id]
        run = s.get(MatchRun, image_id)
        s.refresh(run)
        assert run.failed_at is not None and "lease of 10 s lapsed" in run.error
        assert queue.claim_next(s, now + timedelta(hours=1), policy=policy) is None
    with unit_of_work(factory) as s:  # put back by an operator: a fresh set of attempts
        assert [r.image_id for r in queue.retry(s, [image_id])] == [image_id]
    assert drain(factory, index, settings=settings, policy=policy) == 1
    with unit_of_work(factory) as s:
        run = s.get(MatchRun, image_id)
        assert run.second_stage_at is not None and run.error == "" and run.attempts == 1


def test_a_worker_that_outlived_its_lease_stores_nothing(live):
    """Its claim lapsed and another worker took the stage: only the newest claim commits,
    so the stage is stored once and audited once, whichever finishes first."""
    settings, factory, index = live
    held = _store(settings, factory, index, scenes.jpeg(scenes.room(8)))
    other = _store(settings, factory, index, scenes.other_viewpoint(scenes.room(8)))
    features_first(factory, settings, held)  # held is done: its features are stored
    with unit_of_work(factory) as s:
        s.get(MatchRun, held).second_stage_at = utcnow()
    now = utcnow()
    with unit_of_work(factory) as s:
        slow = queue.claim_next(s, now)
    with unit_of_work(factory) as s:
        fresh = queue.claim_next(s, now + queue.LEASE + timedelta(seconds=1))
    assert (slow.image_id, fresh.image_id) == (other, other)
    # done, but dropped
    assert not run_second_stage(factory, index, SYSTEM, slow, settings=settings)
    with unit_of_work(factory) as s:
        assert s.get(MatchRun, other).second_stage_at is None
    assert run_second_stage(factory, index, SYSTEM, fresh, settings=settings)
    # late again: nothing twice
    assert not run_second_stage(factory, index, SYSTEM, slow, settings=settings)
    with unit_of_work(factory) as s:  # nor can it fail the stage, or give its claim back
        assert queue.attempt_failed(s, slow, "late", utcnow()) is None
        queue.release(s, slow)
        run = s.get(MatchRun, other)
        assert (run.error, run.failed_at, run.attempts) == ("", None, 2)
    with unit_of_work(factory) as s:
        assert len(s.exec(select(Match).where(Match.query_image_id == other)).all()) == 1
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "match.second_stage")).all()
        assert [json.loads(e.object_ids) for e in events] == [[str(other)]]


def test_a_page_says_how_many_stages_are_ahead(live):
    settings, factory, index = live
    ids = [_store(settings, factory, index, scenes.jpeg(scenes.room(40 + n))) for n in range(3)]
    now = utcnow()
    with unit_of_work(factory) as s:
        assert [queue.stage_of(s, s.get(MatchRun, i), now).ahead for i in ids] == [0, 1, 2]
        queue.claim_next(s, now, "w:1")
    with unit_of_work(factory) as s:
        stages = [queue.stage_of(s, s.get(MatchRun, i), now) for i in ids]
        assert [(st.state, st.ahead) for st in stages] == [
            ("running", 0), ("queued", 0), ("queued", 1)]
        assert queue.backlog(s, now) == queue.Backlog(3, s.get(MatchRun, ids[0]).first_stage_at,
                                                      0, running=1)


def test_the_index_never_takes_in_a_row_that_was_rolled_back(live):
    """The index reads through its own connection: an upload still in its transaction, later
    rolled back, never enters it (on SQLite its id is reused by the next upload)."""
    settings, factory, index = live
    scene = scenes.room(11)
    with factory() as s:
        ghost, _ = ingest_image(s, settings, SYSTEM, data=scenes.jpeg(scene), filename="g.jpg")
        s.flush()
        assert index.near_duplicates(s, ghost) == []
        assert ghost.id not in index.hashes.ids()
        s.rollback()
    unrelated = _store(settings, factory, index, scenes.jpeg(scenes.room(12)))
    repost = _store(settings, factory, index, scenes.repost(scene))
    with factory() as s:
        linked = s.exec(select(Match).where(Match.query_image_id.in_([unrelated, repost]))).all()
        assert linked == []


def test_a_claim_given_back_is_taken_up_at_once_without_using_an_attempt(live):
    settings, factory, index = live
    image_id = _store(settings, factory, index, scenes.jpeg(scenes.room(21)))
    now = utcnow()
    with unit_of_work(factory) as s:
        taken = queue.claim_next(s, now)
    with unit_of_work(factory) as s:  # the database went away mid-stage, and came back
        queue.release(s, taken)
    with unit_of_work(factory) as s:
        assert queue.claim_next(s, now) == queue.Claim(image_id, 1)
        assert s.get(MatchRun, image_id).attempts == 1


def test_images_of_one_submission_are_linked_to_each_other(live):
    """They are not in any index yet (nothing is committed), yet a re-post sent together with
    its original is a candidate like any other."""
    settings, factory, index = live
    scene = scenes.room(31)
    with unit_of_work(factory) as s:
        first, _ = ingest_image(s, settings, SYSTEM, data=scenes.jpeg(scene), filename="a.jpg")
        again, _ = ingest_image(s, settings, SYSTEM, data=scenes.repost(scene), filename="b.jpg")
        found = service.first_stage(s, index, SYSTEM, [first.id, again.id])
        assert [(m.query_image_id, m.candidate_image_id) for m in found] == [(again.id, first.id)]


@pytest.mark.parametrize("live", ["postgres"], indirect=True)  # SQLite: one writer at a time
def test_on_postgresql_two_workers_claim_different_stages_without_waiting(live):
    """FOR UPDATE SKIP LOCKED: while one worker's claim is not yet committed, another skips
    that row and takes the next, instead of waiting for it or taking it too."""
    settings, factory, index = live
    ids = [_store(settings, factory, index, scenes.jpeg(scenes.room(60 + n))) for n in range(2)]
    now = utcnow()
    with factory() as first, factory() as second:
        mine = queue.claim_next(first, now, "w:1")  # uncommitted: the row stays locked
        second.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would be an error
        theirs = queue.claim_next(second, now, "w:2")
        assert (mine.image_id, theirs.image_id) == (ids[0], ids[1])
        first.commit()
        second.commit()
    with unit_of_work(factory) as s:
        assert queue.claim_next(s, now) is None
        assert sorted(r.claimed_by for r in queue.running(s, now)) == ["w:1", "w:2"]
