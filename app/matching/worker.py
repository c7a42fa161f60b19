"""A match worker: samples waiting videos, runs clip passes, takes second matching stages and
makes videos' previews from the queue until told to stop (a video first: its frames' stages
join the queue behind it; then a clip pass whose frames are settled, the last step of a clip
already waited on; a preview last: nobody's matching waits for it).

`cellwatch serve` starts CELLWATCH_MATCH_WORKERS of them beside the web workers (and `cellwatch
worker` runs one on any host). They run at a lower CPU priority than the web processes, so
searches and pages stay quick while a burst of uploads is being verified.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app import db_statistics
from app.audit.service import Actor
from app.db import make_engine, make_session_factory, unit_of_work, utcnow
from app.matching import doorbell, previews, queue, sampling
from app.matching.engine import Limits, MatchEngine
from app.matching.jobs import give_up_lapsed, run_clip_pass, run_second_stage, worker_name
from app.memory import freeze_startup_objects, release_freed_memory, thaw_startup_objects
from app.settings import Settings

log = logging.getLogger("cellwatch.matching")
WORKER_ACTOR = Actor(user_id=None, name="worker:matching", client_addr="local")
# How long an idle worker's thread waits before looking at the queue again, when nothing
# rings (app/matching/doorbell.py: requests that queue work ring it, and so does a sampling
# that queues its frames): the look is a safety net, for a ring that could not reach a
# worker, and for retries and lapsed claims. A look is four small queries; the search for
# jobs whose worker died (a few more each) is made far less often (LAPSED_CHECK_SECONDS, and
# at most a quarter of the lease, so none waits long).
IDLE_SECONDS = 2.0
LAPSED_CHECK_SECONDS = 10.0
NICENESS = 10
STOP_POLL_SECONDS = 0.25  # how soon the worker's threads hear that it is told to stop


def drain(factory: Callable[[], Session], engine: MatchEngine, *, settings: Settings,
          stop: threading.Event | None = None, limit: int | None = None,
          policy: queue.Policy = queue.DEFAULT, pause: float = 0.0,
          give_up: bool = True, queued: Callable[[], None] | None = None) -> int:
    """Sample claimable videos, run claimable clip passes and second stages, make previews
    until none is left (or `stop`, or `limit`); record as failed those whose every attempt's
    worker died (unless not `give_up`). `queued` is called once a sampling has queued its
    frames' stages (for the process's idle threads). Returns how many samplings, passes,
    stages and previews it stored."""
    done = 0
    if give_up:
        give_up_lapsed(factory, WORKER_ACTOR, policy)
        sampling.give_up_lapsed(factory, WORKER_ACTOR, policy)
        previews.give_up_lapsed(factory, WORKER_ACTOR, policy)
    me = worker_name()
    while (stop is None or not stop.is_set()) and (limit is None or done < limit):
        with unit_of_work(factory) as session:
            for on in (queue.SAMPLINGS, queue.CLIPS, queue.STAGES, queue.PREVIEWS):
                if (taken := queue.claim_next(session, utcnow(), me, policy, on=on)):
                    break
        if taken is None:
            break
        try:
            if on is queue.SAMPLINGS:
                stored = sampling.run_sampling(factory, engine, WORKER_ACTOR, taken, policy,
                                               settings=settings) is not None
                if stored and queued is not None:
                    queued()
            elif on is queue.CLIPS:
                stored = run_clip_pass(factory, engine, WORKER_ACTOR, taken, policy, pause,
                                       settings=settings)
            elif on is queue.PREVIEWS:
                stored = previews.run_preview(factory, WORKER_ACTOR, taken, policy,
                                              settings=settings)
            else:
                stored = run_second_stage(factory, engine, WORKER_ACTOR, taken, policy, pause,
                                          settings=settings)
        except SQLAlchemyError:  # the database went away mid-stage: hand the claim back
            _release_when_back(factory, taken, stop, on)
            raise
        done += stored
    return done


def _release_when_back(factory: Callable[[], Session], taken: queue.Claim,
                       stop: threading.Event | None, on: queue.Queued = queue.STAGES,
                       patience: float = 60.0) -> None:
    waited = 0.0
    while waited < patience and (stop is None or not stop.is_set()):
        try:
            with unit_of_work(factory) as session:
                queue.release(session, taken, on=on)
            return
        except SQLAlchemyError:
            time.sleep(1.0)
            waited += 1.0


def run(settings: Settings, stop: threading.Event) -> None:
    """The worker's loop; returns once `stop` is set."""
    try:
        os.nice(NICENESS)
    except OSError:  # not allowed here: run at normal priority
        log.warning("match worker runs at normal CPU priority")
    threads = settings.match_worker_threads
    db = make_engine(settings.effective_database_url, pool_size=threads + 1, max_overflow=0)
    # the descriptor index is kept under the data folder: a restart loads it (and brings it
    # up to date) instead of reading every reference photo's features again
    engine = MatchEngine(Limits.of(settings),
                         db=make_engine(settings.effective_database_url,
                                        pool_size=threads, max_overflow=1),
                         keep=settings.data_dir / "index")
    factory = make_session_factory(db)
    if settings.sqlite_statistics_seconds:  # SQLite: before this process's queries plan
        db_statistics.gather(db)
    policy, pause = queue.Policy.of(settings), settings.test_second_stage_pause
    try:  # the index now, not at the first job: then what start-up built is set aside
        engine.refresh(None)
    except SQLAlchemyError:  # not migrated yet: the first job builds it
        log.warning("match worker: index not built, database not ready")
    if settings.gc_freeze_at_start:
        freeze_startup_objects()
    log.info("match worker %s started (%d threads, lease %.0f s, %d attempts)", worker_name(),
             threads, policy.lease.total_seconds(), policy.attempts)
    # more threads take jobs side by side (OpenCV, faiss and the decoders let go of the
    # GIL): a clip's frames are verified two at a time; claims are per job, as across workers
    crashed: list[BaseException] = []
    halt = threading.Event()  # this process's threads: set by `stop` or by a thread's crash
    wake = Wake()  # work was queued (a clip's frames, the doorbell): idle threads look now
    bell = doorbell.Bell(settings)  # its pipe here and, on PostgreSQL, its LISTEN

    def queued() -> None:  # a sampling queued its frames' stages: this worker's idle threads
        wake.ring()  # take them now, and so do the other workers'
        doorbell.ring(settings, db)

    def serve() -> None:
        try:
            _serve(factory, engine, settings, halt, policy, pause, wake, queued)
        except BaseException as exc:  # a bug: the whole worker stops, as with one thread
            crashed.append(exc)
            halt.set()

    takers = [threading.Thread(target=serve, name=f"match-{n}", daemon=True)
              for n in range(threads)]
    try:
        for thread in takers:
            thread.start()
        while not halt.is_set() and not stop.is_set():
            if bell.wait(STOP_POLL_SECONDS):
                wake.ring()
        halt.set()
        wake.ring()  # the idle ones hear it now
        for thread in takers:
            thread.join()
        if crashed:
            raise crashed[0]
    finally:
        bell.close()
        if settings.gc_freeze_at_start:
            thaw_startup_objects()
        engine.close()
        db.dispose()


class Wake:
    """Tells a worker's idle threads to look at the queue now. A ring that comes while a
    thread is still looking is not lost: the thread then looks again instead of waiting."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.rings = 0

    def ring(self) -> None:
        with self._cond:
            self.rings += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Wait up to `timeout` seconds for a ring after the first `seen`."""
        with self._cond:
            self._cond.wait_for(lambda: self.rings != seen, timeout)


def _serve(factory: Callable[[], Session], engine: MatchEngine, settings: Settings,
           stop: threading.Event, policy: queue.Policy, pause: float, wake: Wake,
           queued: Callable[[], None]) -> None:
    """One of the worker's threads: drain the queue, wait when it is empty (or until work is
    queued: `wake`, from a sampling or the doorbell), until `stop`."""
    every = min(LAPSED_CHECK_SECONDS, policy.lease.total_seconds() / 4)
    checked = float("-inf")
    while not stop.is_set():
        try:
            due = time.monotonic() - checked >= every
            if due:
                checked = time.monotonic()
            seen = wake.rings
            if drain(factory, engine, settings=settings, stop=stop, policy=policy,
                     pause=pause, give_up=due, queued=queued) == 0:
                wake.wait(seen, IDLE_SECONDS)
            else:
                release_freed_memory()
        except SQLAlchemyError:  # the database is away: wait and look again
            log.warning("match worker: database unavailable", exc_info=True)
            stop.wait(2.0)
