"""A match worker killed with SIGKILL in the middle of a second stage: once another worker
runs, every stage completes, and none is lost or done twice (one second stage, its candidates
stored once, one audit event per stage). Real `cellwatch worker` processes, on a SQLite file
and on PostgreSQL."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlmodel import select

from app import migrations
from app.audit.models import AuditEvent
from app.audit.service import SYSTEM
from app.db import make_engine, make_session_factory, unit_of_work
from app.evidence.images import ingest_image
from app.matching import queue, service
from app.matching.engine import MatchEngine
from app.matching.models import Match, MatchRun
from app.settings import Settings
from tests.matching import scenes

LEASE = 3  # seconds: the killed worker's claim lapses this soon


@pytest.fixture(params=["sqlite", "postgres"])
def live(request, tmp_path):
    if request.param == "postgres":
        from tests.support.postgres import create_database

        url = create_database(request.getfixturevalue("pg_server"),
                              f"killed_{tmp_path.name[-12:].lower().replace('-', '_')}")
    else:
        url = f"sqlite:///{tmp_path}/killed.db"
    migrations.upgrade(url)
    engine = make_engine(url)
    index = MatchEngine(db=make_engine(url))
    yield Settings(data_dir=tmp_path / "data", database_url=url), make_session_factory(engine), \
        index
    index.close()
    engine.dispose()


def _store(settings, factory, index, data):
    with unit_of_work(factory) as s:
        image, _ = ingest_image(s, settings, SYSTEM, data=data, filename="x.jpg")
        service.first_stage(s, index, SYSTEM, [image.id])
        return image.id


def _worker(settings, log_path, pause):
    env = {**os.environ, "CELLWATCH_DATABASE_URL": settings.database_url,
           "CELLWATCH_DATA_DIR": str(settings.data_dir),
           "CELLWATCH_MATCH_LEASE_SECONDS": str(LEASE),
           "CELLWATCH_TEST_SECOND_STAGE_PAUSE": str(pause)}
    return subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()",
                             "worker"], env=env, stdout=subprocess.DEVNULL,
                            stderr=log_path.open("w"))


def _wait_for(check, seconds, what):
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.1)


def test_a_worker_killed_mid_stage_loses_nothing_and_nothing_is_done_twice(live, tmp_path):
    settings, factory, index = live
    held = [_store(settings, factory, index, scenes.jpeg(scenes.room(n))) for n in (51, 52)]
    with unit_of_work(factory) as s:  # the library: their own stages are done already
        for image_id in held:
            s.get(MatchRun, image_id).second_stage_at = s.get(MatchRun, image_id).first_stage_at
    # four new photos: two other views of the held rooms (a features link each), two unrelated
    views = [_store(settings, factory, index, scenes.other_viewpoint(scenes.room(n)))
             for n in (51, 52)]
    unrelated = [_store(settings, factory, index, scenes.jpeg(scenes.room(n))) for n in (53, 54)]
    queued = views + unrelated

    log = tmp_path / "first-worker.log"
    first = _worker(settings, log, pause=60)
    try:  # it has done the stage's work and waits to commit it: kill it there
        _wait_for(lambda: "test pause: image" in log.read_text(), 60, "the first worker's stage")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    paused = int(log.read_text().split("test pause: image ")[1].split()[0])
    with unit_of_work(factory) as s:  # its threads had claimed one stage each, or more
        killed = {i for i in queued if s.get(MatchRun, i).attempts == 1}
        assert views[0] in killed and paused in killed  # the oldest is taken first
        assert all(s.get(MatchRun, i).second_stage_at is None for i in killed)  # none stored
        assert s.exec(select(Match).where(Match.method == "features")).all() == []

    second = _worker(settings, tmp_path / "second-worker.log", pause=0)
    try:
        def all_done() -> bool:
            with unit_of_work(factory) as s:
                return queue.backlog(s).waiting == 0
        _wait_for(all_done, 120, "every second stage done by the second worker")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(120)  # a graceful stop; generous for a loaded machine (the worker is niced)
    assert second.returncode == 0

    with unit_of_work(factory) as s:
        runs = {i: s.get(MatchRun, i) for i in queued}
        assert all(r.second_stage_at is not None and r.failed_at is None and r.error == ""
                   for r in runs.values())
        assert {i: r.attempts for i, r in runs.items()} == {
            i: 2 if i in killed else 1 for i in queued}  # the killed ones taken again once
        features = s.exec(select(Match).where(Match.method == "features")).all()
        assert sorted((m.query_image_id, m.candidate_image_id) for m in features) == sorted(
            zip(views, held, strict=True))  # each link stored once
        staged = Counter(json.loads(e.object_ids)[0] for e in s.exec(
            select(AuditEvent).where(AuditEvent.action == "match.second_stage")).all())
        assert staged == Counter({str(i): 1 for i in queued})  # one event per stage
        assert s.exec(select(AuditEvent).where(
            AuditEvent.action == "match.second_stage_failed")).all() == []
