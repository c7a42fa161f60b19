"""A match worker's threads take jobs side by side: every second stage is run once, by
either thread; a thread that fails with a bug stops the whole worker with its error."""

import json
import threading
import time
from collections import Counter

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.matching import queue
from app.matching import worker as match_worker
from app.matching.models import MatchRun
from tests.matching import scenes
from tests.matching.test_worker_killed import _store, _wait_for, live  # noqa: F401


@pytest.mark.parametrize("live", ["sqlite"], indirect=True)
def test_two_threads_run_every_stage_once_between_them(live, monkeypatch):  # noqa: F811
    settings, factory, index = live
    queued = [_store(settings, factory, index, scenes.jpeg(scenes.room(n))) for n in range(6)]
    takers: Counter[str] = Counter()
    real = match_worker.run_second_stage

    def noted(*args, **kwargs):
        takers[threading.current_thread().name] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(match_worker, "run_second_stage", noted)
    # each stage waits a moment before its commit: the other thread takes the next meanwhile
    own = settings.model_copy(update={"match_worker_threads": 2,
                                      "test_second_stage_pause": 0.3})
    stop = threading.Event()
    worker = threading.Thread(target=match_worker.run, args=(own, stop), daemon=True)
    worker.start()
    try:
        def all_done() -> bool:
            with factory() as s:
                return queue.backlog(s).waiting == 0
        _wait_for(all_done, 120, "every second stage done")
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
    assert sorted(takers) == ["match-0", "match-1"] and sum(takers.values()) == len(queued)
    with factory() as s:
        runs = [s.get(MatchRun, i) for i in queued]
        assert all(r.second_stage_at is not None and r.attempts == 1 and r.failed_at is None
                   for r in runs)
        staged = Counter(json.loads(e.object_ids)[0] for e in s.exec(
            select(AuditEvent).where(AuditEvent.action == "match.second_stage")).all())
    assert staged == Counter({str(i): 1 for i in queued})  # one event per stage


@pytest.mark.parametrize("live", ["sqlite"], indirect=True)
def test_a_thread_failing_with_a_bug_stops_the_worker_with_its_error(live,  # noqa: F811
                                                                    monkeypatch):
    settings, factory, index = live
    _store(settings, factory, index, scenes.jpeg(scenes.room(7)))

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a second stage")

    monkeypatch.setattr(match_worker, "run_second_stage", broken)
    stop = threading.Event()  # never set: the failure alone ends the worker
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="a bug in a second stage"):
        match_worker.run(settings.model_copy(update={"match_worker_threads": 2}), stop)
    assert time.monotonic() - started < 60 and not stop.is_set()
