"""Matching around a request: the first stage inside it, the second after its answer.

The first stage (near-duplicates) runs in the request's own transaction, so its candidates
are in the answer and commit with the images. The second stage (local features) is slow and
CPU-heavy: match workers (`cellwatch worker`, started by `cellwatch serve`) take it from the
queue (app/matching/queue.py) at a lower CPU priority than the web processes. With
`CELLWATCH_MATCH_WORKERS=0` the web process runs it itself once its answer has gone. Either
way each image runs in a unit of work of its own, so one image's failure costs only that
image: its reason is kept on the image's MatchRun, and it is tried again a bounded number of
times before it is recorded as failed. A video's clip pass (app/matching/frame_sets.py) is a
queued job of its own the same way, run once its frames' stages are settled, and so is its
preview (app/matching/previews.py), made last.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from fastapi import BackgroundTasks
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from app.audit.service import Actor
from app.db import retryable, unit_of_work, unreachable, utcnow
from app.evidence.images import features_of, is_video_frame
from app.evidence.models import Image, ImageFeatures, VideoFrame
from app.matching import doorbell, frame_sets, previews, queue, service
from app.matching.engine import MatchEngine
from app.matching.models import ClipPass
from app.matching.sampling import sampling_job
from app.settings import Settings

log = logging.getLogger("cellwatch.matching")
PAIR_RACES = 2  # a pass that met a pair stored meanwhile runs again at once, this many times


class LostClaim(Exception):
    """This attempt's claim lapsed and was taken by a newer one: its work is dropped."""


def worker_name() -> str:
    """Who holds a claim, as an operator finds it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def features_first(factory: Callable[[], Session], settings: Settings, image_id: int) -> None:
    """The local features intake left to this stage, computed from the sealed original with no
    transaction open, then committed on their own before the stage starts: of two images whose
    stages run at once, the later stage to start then sees the other's features (so one of
    the two finds the pair)."""
    with factory() as session:
        image = session.get(Image, image_id)
        if (image is None or image.erased_at is not None
                or session.get(ImageFeatures, image_id) is not None):
            return
        frame = is_video_frame(session, image_id)
    # detached: its columns are loaded, nothing is lazy
    blob = features_of(settings, image, frame=frame)
    with unit_of_work(factory) as session:
        # FOR SHARE: a withdrawal waits for this commit, then deletes these features too
        held = session.exec(select(Image.id).where(col(Image.id) == image_id,
                                                   col(Image.erased_at).is_(None))
                            .with_for_update(read=True)).first()
        if held is not None and session.get(ImageFeatures, image_id) is None:
            session.add(ImageFeatures(image_id=image_id, data=blob))


def run_second_stage(factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
                     taken: queue.Claim, policy: queue.Policy = queue.DEFAULT,
                     pause: float = 0.0, *, settings: Settings) -> bool:
    """One image's second stage, already claimed: its features first if intake left them (see
    features_first), then the shortlist and verification. A failure (an original that fails
    its integrity check included) is recorded, never raised (but a database that went away,
    or a lost race, is raised for the caller to give the claim back). Returns whether this
    attempt stored the stage."""
    try:
        features_first(factory, settings, taken.image_id)
        with unit_of_work(factory) as session:
            service.second_stage(session, engine, actor, taken.image_id, settings=settings)
            if pause:  # tests only (refused in production): a window to kill the worker in
                log.warning("test pause: image %s waits %.0f s before its commit",
                            taken.image_id, pause)
                time.sleep(pause)
            if not queue.still_mine(session, taken):
                raise LostClaim
        return True
    except LostClaim:
        log.warning("second stage of image %s: claim %d lapsed and was taken again; dropped",
                    taken.image_id, taken.attempt)
        return False
    except Exception as exc:  # noqa: BLE001 - nobody to raise to: the reason is kept instead
        if isinstance(exc, SQLAlchemyError) and (unreachable(exc) or retryable(exc)):
            raise  # not this stage's fault: the caller gives the claim back
        log.exception("second matching stage failed for image %s", taken.image_id)
        reason = f"{type(exc).__name__}: {exc}"
        with unit_of_work(factory) as session:  # after the failed one rolled back
            queue.record_failed_attempt(session, actor, taken, reason, utcnow(), policy)
        return False


def _pair_race(exc: IntegrityError) -> bool:
    """uq_match_pair, by name (PostgreSQL) or by its columns (SQLite)."""
    said = str(exc.orig)
    return "uq_match_pair" in said or "match.query_image_id, match.candidate_image_id" in said


def run_clip_pass(factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
                  taken: queue.Claim, policy: queue.Policy = queue.DEFAULT,
                  pause: float = 0.0, *, settings: Settings | None = None) -> bool:
    """One video's clip pass, already claimed (queue.CLIPS), stored with its claim checked
    last (its fencing token); with `settings`, the pass's second look too. A pair another
    transaction stored meanwhile is no error: the pass runs again at once and skips it. A
    failure is recorded (retried, then failed), never raised, but for a database gone away.
    Returns whether this attempt stored the pass."""
    for race in range(PAIR_RACES + 1):
        try:
            with unit_of_work(factory) as session:
                links = frame_sets.clip_pass(session, engine, actor, taken.image_id,
                                             settings=settings)
                if pause:  # tests only (refused in production): a window to kill the worker in
                    log.warning("test pause: clip pass of video %s waits %.0f s before its "
                                "commit", taken.image_id, pause)
                    time.sleep(pause)
                if not queue.still_mine(session, taken, on=queue.CLIPS):
                    raise LostClaim
                session.execute(update(ClipPass).where(col(ClipPass.video_id) == taken.image_id)
                                .values(done_at=utcnow(), links=links))
            return True
        except LostClaim:
            log.warning("clip pass of video %s: claim %d lapsed and was taken again; dropped",
                        taken.image_id, taken.attempt)
            return False
        except IntegrityError as exc:
            if _pair_race(exc) and race < PAIR_RACES:
                log.info("clip pass of video %s met a pair stored meanwhile: run again",
                         taken.image_id)
                continue
            failure: Exception = exc
        except Exception as exc:  # noqa: BLE001 - nobody to raise to: the reason is kept
            if isinstance(exc, SQLAlchemyError) and (unreachable(exc) or retryable(exc)):
                raise  # not the pass's fault: the caller gives the claim back
            failure = exc
        break
    log.error("clip pass of video %s failed", taken.image_id, exc_info=failure)
    with unit_of_work(factory) as session:  # after the failed one rolled back
        queue.record_failed_attempt(session, actor, taken, f"{type(failure).__name__}: "
                                    f"{failure}", utcnow(), policy, on=queue.CLIPS)
    return False


def give_up_lapsed(factory: Callable[[], Session], actor: Actor,
                   policy: queue.Policy = queue.DEFAULT) -> list[int]:
    """Record as failed the stages and clip passes whose every attempt's worker died
    (audited)."""
    with unit_of_work(factory) as session:
        return [*queue.record_lapsed(session, actor, utcnow(), policy),
                *queue.record_lapsed(session, actor, utcnow(), policy, on=queue.CLIPS)]


def second_stage_job(factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
                     image_ids: list[int], policy: queue.Policy = queue.DEFAULT, *,
                     settings: Settings) -> None:
    """Runs after the response (no match workers): claim each image, then verify it."""
    for image_id in image_ids:
        with unit_of_work(factory) as session:
            taken = queue.claim(session, image_id, utcnow(), worker_name(), policy)
        if taken is not None:
            run_second_stage(factory, engine, actor, taken, policy, settings=settings)


def clip_pass_job(factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
                  video_ids: list[int], policy: queue.Policy = queue.DEFAULT, *,
                  settings: Settings | None = None) -> None:
    """After the stages (no match workers): the clip pass of each of these videos whose
    frames are settled (the claim says so)."""
    for video_id in dict.fromkeys(video_ids):
        with unit_of_work(factory) as session:
            taken = queue.claim(session, video_id, utcnow(), worker_name(), policy,
                                on=queue.CLIPS)
        if taken is not None:
            run_clip_pass(factory, engine, actor, taken, policy, settings=settings)


def samplings_then_stages(factory: Callable[[], Session], engine: MatchEngine, actor: Actor,
                          image_ids: list[int], video_ids: list[int],
                          policy: queue.Policy = queue.DEFAULT, *, settings: Settings) -> None:
    """After the answer: the videos sampled first, then every second stage (the images' and
    the new frames'), then the clip passes of the videos those frames are of, and last the
    sampled videos' previews."""
    frames = sampling_job(factory, engine, actor, video_ids, policy, settings=settings,
                          worker=worker_name()) if video_ids else []
    staged = [*image_ids, *frames]
    second_stage_job(factory, engine, actor, staged, policy, settings=settings)
    with factory() as session:
        clips = [*video_ids, *session.exec(select(VideoFrame.video_id).where(
            col(VideoFrame.image_id).in_(staged))).all()] if staged else list(video_ids)
    clip_pass_job(factory, engine, actor, clips, policy, settings=settings)
    previews.preview_job(factory, actor, video_ids, policy, settings=settings,
                         worker=worker_name())


def ring_when_committed(tasks: BackgroundTasks, state: Any) -> None:
    """Work a request queued (an upload, a failed stage retried): the match workers hear of
    it once the request's transaction has committed, not at their next poll."""
    tasks.add_task(doorbell.ring, state.settings, state.engine)


def after_answer(tasks: BackgroundTasks, state: Any, actor: Actor, image_ids: list[int],
                 video_ids: list[int] | None = None) -> None:
    """Second stages for these images, and sampling for these videos: the match workers'
    queues already hold them (the workers on this host are told at once, app/matching/
    doorbell.py); without workers this process runs them once the answer has gone.
    Background tasks run once the request's transaction has committed."""
    if not (image_ids or video_ids):
        return
    if state.settings.match_workers > 0:
        ring_when_committed(tasks, state)
    else:
        tasks.add_task(samplings_then_stages, state.session_factory, state.match_engine,
                       actor, image_ids, list(video_ids or []),
                       queue.Policy.of(state.settings), settings=state.settings)
