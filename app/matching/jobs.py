"""Matching around a request: the first stage inside it, the second after its answer.

The first stage (near-duplicates) runs in the request's own transaction, so its candidates
are in the answer and commit with the images. The second stage (local features) is slow: it
runs as a background task once the answer has gone, each image in a unit of work of its own,
so one image's failure costs only that image, and its reason is kept on the image's MatchRun.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import BackgroundTasks
from sqlmodel import Session

from app.audit.service import Actor
from app.db import unit_of_work
from app.matching import service
from app.matching.engine import MatchEngine

log = logging.getLogger("cellwatch.matching")


def second_stage_job(factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
                     image_ids: list[int]) -> None:
    """Runs after the response: local-feature verification, one transaction per image."""
    for image_id in image_ids:
        try:
            with unit_of_work(factory) as session:
                service.second_stage(session, engine, actor, image_id)
        except Exception as exc:  # noqa: BLE001 - a background task has nobody to raise to
            log.exception("second matching stage failed for image %s", image_id)
            with unit_of_work(factory) as session:  # after the failed one rolled back
                service.second_stage_failed(session, image_id,
                                            f"{type(exc).__name__}: {exc}")


def match_new(db: Session, factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
              image_ids: list[int], tasks: BackgroundTasks) -> None:
    """First stage now, in the caller's transaction; second stage after the response."""
    service.first_stage(db, engine, actor, image_ids)
    tasks.add_task(second_stage_job, factory, engine, actor, image_ids)
