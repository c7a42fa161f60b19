"""Matching around a request: the first stage inside it, the second after its answer.

The first stage (near-duplicates) runs in the request's own transaction, so its candidates
are in the answer and commit with the images. The second stage (local features) is slow and
CPU-heavy: match workers (`cellwatch worker`, started by `cellwatch serve`) take it from the
queue (app/matching/queue.py) at a lower CPU priority than the web processes. With
`CELLWATCH_MATCH_WORKERS=0` the web process runs it itself once its answer has gone. Either
way each image runs in a unit of work of its own, so one image's failure costs only that
image, and its reason is kept on the image's MatchRun.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import BackgroundTasks
from sqlmodel import Session

from app.audit.service import Actor
from app.db import unit_of_work, utcnow
from app.matching import queue, service
from app.matching.engine import MatchEngine

log = logging.getLogger("cellwatch.matching")


def run_second_stage(factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
                     image_id: int) -> None:
    """One image's second stage, already claimed; a failure is recorded, never raised."""
    try:
        with unit_of_work(factory) as session:
            service.second_stage(session, engine, actor, image_id)
    except Exception as exc:  # noqa: BLE001 - nobody to raise to: the reason is kept instead
        log.exception("second matching stage failed for image %s", image_id)
        with unit_of_work(factory) as session:  # after the failed one rolled back
            service.second_stage_failed(session, image_id, f"{type(exc).__name__}: {exc}")


def second_stage_job(factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
                     image_ids: list[int]) -> None:
    """Runs after the response (no match workers): claim each image, then verify it."""
    for image_id in image_ids:
        with unit_of_work(factory) as session:
            claimed = queue.claim(session, image_id, utcnow())
        if claimed:
            run_second_stage(factory, engine, actor, image_id)


def after_answer(tasks: BackgroundTasks, state: Any, actor: Actor, image_ids: list[int]) -> None:
    """Second stages for these images: the match workers' queue already holds them; without
    workers this process runs them once the answer has gone."""
    if state.settings.match_workers == 0 and image_ids:
        tasks.add_task(second_stage_job, state.session_factory, state.match_engine, actor,
                       image_ids)


def match_new(db: Session, state: Any, actor: Actor, image_ids: list[int],
              tasks: BackgroundTasks) -> None:
    """First stage now, in the caller's transaction; second stage after the response."""
    service.first_stage(db, state.match_engine, actor, image_ids)
    after_answer(tasks, state, actor, image_ids)
