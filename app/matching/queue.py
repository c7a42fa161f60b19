"""The queue of second matching stages: match runs that have no `second_stage_at` yet.

Whoever runs a second stage (a match worker, the web process after its answer, `jobs run`)
claims it first: on PostgreSQL the next one is picked with FOR UPDATE SKIP LOCKED, on SQLite
(one writer at a time) a conditional UPDATE is the claim. A claim holds a lease: a claim that
is never finished (its process was killed) lapses and is claimed again. Each claim counts as
an attempt and is its fencing token: a stage commits only while its claim is still the newest
(`still_mine`), so a worker that outlived its lease can never store a stage twice.

A failed attempt is tried again after a pause; after `Policy.attempts` attempts (failed, or
lapsed with their worker) the stage is recorded as failed with its reason (`failed_at`,
`error`), and pages stop waiting and show it. `retry` puts a failed stage back in the queue.

The same lease serves three more queues: videos waiting to be sampled (app/matching/sampling.py),
videos' clip passes (app/matching/frame_sets.py), each claimable once none of its video's
held frames has a second stage still to run (done, or failed for good), and videos'
previews (app/matching/previews.py). Each function takes
`on`, the queue it works on (`STAGES` unless said); a claim's `image_id` is then the video's id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, func, or_, update
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.errors import Unprocessable
from app.evidence.models import Image, Video, VideoFrame
from app.matching.models import ClipPass, MatchRun, VideoPreview

if TYPE_CHECKING:
    from app.settings import Settings

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3
RETRY_PAUSE = timedelta(seconds=5)  # after a failed attempt: 5 s, then 10 s, 15 s...
# a job put back in the queue: unclaimed, no failure, its attempts counted afresh
FRESH_ATTEMPTS: dict[str, Any] = {"failed_at": None, "claimed_at": None, "retry_at": None,
                                  "attempts": 0, "claimed_by": "", "error": ""}
LAPSED = "the worker running it stopped before finishing (its lease of {lease:.0f} s lapsed)"


@dataclass(frozen=True)
class Policy:
    """How long a claim holds, and how many attempts a stage gets before it is failed."""

    lease: timedelta = LEASE
    attempts: int = MAX_ATTEMPTS

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(lease=timedelta(seconds=settings.match_lease_seconds),
                   attempts=settings.match_attempts)


DEFAULT = Policy()


@dataclass(frozen=True)
class Queued:
    """A table used as a queue: its key, the column set when the work is done, the column
    it is taken in order of; and the lease columns every such table has (claimed_at,
    claimed_by, attempts, retry_at, failed_at, error)."""

    model: Any
    key: str
    done: str
    since: str
    failed_action: str  # the audit event of a failed attempt
    subject: str  # what the audit event names: image or video
    held: Callable[[], list[object]] = field(default=lambda: [])  # else neither run nor shown
    ready: Callable[[], list[object]] = field(default=lambda: [])  # else not claimable yet

    def col(self, name: str) -> Any:
        return col(getattr(self.model, name))


STAGES = Queued(MatchRun, "image_id", "second_stage_at", "first_stage_at",
                "match.second_stage_failed", "image")
SAMPLINGS = Queued(Video, "id", "sampled_at", "created_at",
                   "evidence.video.sampling_failed", "video",
                   held=lambda: [col(Video.erased_at).is_(None)])


def _frames_settled() -> list[object]:
    """No held frame of the pass's video has a second stage still to run (an erased frame's
    run is deleted with it)."""
    return [~exists().where(
        col(VideoFrame.video_id) == col(ClipPass.video_id),
        col(MatchRun.image_id) == col(VideoFrame.image_id),
        col(Image.id) == col(VideoFrame.image_id),
        col(Image.erased_at).is_(None), col(MatchRun.second_stage_at).is_(None),
        col(MatchRun.failed_at).is_(None))]


CLIPS = Queued(ClipPass, "video_id", "done_at", "queued_at", "match.clip_pass_failed", "video",
               held=lambda: [exists().where(col(Video.id) == col(ClipPass.video_id),
                                            col(Video.erased_at).is_(None))],
               ready=_frames_settled)

PREVIEWS = Queued(VideoPreview, "video_id", "done_at", "queued_at",
                  "evidence.video.preview_failed", "video",
                  held=lambda: [exists().where(col(Video.id) == col(VideoPreview.video_id),
                                               col(Video.erased_at).is_(None))])


@dataclass(frozen=True)
class Claim:
    image_id: int  # the queued row's key (a video's id for SAMPLINGS)
    attempt: int  # the fencing token: this claim's number


def _open(on: Queued = STAGES) -> list[object]:
    """Neither done nor given up."""
    return [on.col(on.done).is_(None), on.col("failed_at").is_(None), *on.held()]


def _claimable(now: datetime, policy: Policy, on: Queued = STAGES) -> list[object]:
    return [*_open(on), on.col("attempts") < policy.attempts,
            or_(on.col("claimed_at").is_(None), on.col("claimed_at") < now - policy.lease),
            or_(on.col("retry_at").is_(None), on.col("retry_at") <= now),
            *on.ready()]  # last: the dearest test


def claim(session: Session, image_id: int, now: datetime, worker: str = "",
          policy: Policy = DEFAULT, *, on: Queued = STAGES) -> Claim | None:
    """Take this image's second stage, unless it is done, failed, or someone holds it."""
    taken = session.execute(
        update(on.model).where(on.col(on.key) == image_id, *_claimable(now, policy, on))
        .values(claimed_at=now, claimed_by=worker[:64], attempts=on.col("attempts") + 1))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    attempt = session.execute(select(on.col("attempts"))
                              .where(on.col(on.key) == image_id)).scalar_one()
    return Claim(image_id, int(attempt))


def claim_next(session: Session, now: datetime, worker: str = "",
               policy: Policy = DEFAULT, *, on: Queued = STAGES) -> Claim | None:
    """The oldest claimable second stage, taken; None when there is nothing to do."""
    while True:
        image_id = session.execute(
            select(on.col(on.key)).where(*_claimable(now, policy, on))
            .order_by(on.col(on.since), on.col(on.key)).limit(1)
            .with_for_update(skip_locked=True)).scalars().first()
        if image_id is None:
            return None
        if (taken := claim(session, image_id, now, worker, policy, on=on)) is not None:
            return taken
        # another worker took it between the look and the claim (SQLite): look again


def still_mine(session: Session, taken: Claim, *, on: Queued = STAGES) -> bool:
    """In the unit of work that stores the stage, last: is this claim still the newest one?
    The UPDATE locks the row until the commit, so a later claimant waits and then finds the
    stage done; a claim that lapsed and was taken again finds a newer token and gives up."""
    kept = session.execute(
        update(on.model).where(on.col(on.key) == taken.image_id,
                               on.col("attempts") == taken.attempt,
                               on.col("failed_at").is_(None))
        .values(claimed_at=None, error="", retry_at=None))
    return kept.rowcount == 1  # type: ignore[attr-defined]


def release(session: Session, taken: Claim, *, on: Queued = STAGES) -> None:
    """Give a claimed stage back (its run was cut off by the database going away), so that
    it is taken up again at once rather than when the lease lapses, without using an attempt.
    A claim taken over meanwhile is not this one's to give back."""
    session.execute(update(on.model).where(on.col(on.key) == taken.image_id,
                                           on.col("attempts") == taken.attempt, *_open(on))
                    .values(claimed_at=None, attempts=on.col("attempts") - 1))


def attempt_failed(session: Session, taken: Claim, reason: str, now: datetime,
                   policy: Policy = DEFAULT, *, on: Queued = STAGES) -> str | None:
    """Keep why this attempt failed; try again after a pause, or, out of attempts, record the
    stage as failed. Returns "retrying" or "failed"; None when the claim is no longer the
    newest (a later attempt owns the stage) and nothing was changed."""
    final = taken.attempt >= policy.attempts
    done = session.execute(
        update(on.model).where(on.col(on.key) == taken.image_id,
                               on.col("attempts") == taken.attempt, *_open(on))
        .values(error=reason[:500], claimed_at=None,
                retry_at=None if final else now + RETRY_PAUSE * taken.attempt,
                failed_at=now if final else None))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return "failed" if final else "retrying"


def give_up_lapsed(session: Session, now: datetime, policy: Policy = DEFAULT, *,
                   on: Queued = STAGES) -> list[int]:
    """Stages whose every attempt ended with its worker gone (lease lapsed): failed, with that
    reason. Returns their image ids (for the audit event)."""
    lapsed = and_(*_open(on), on.col("attempts") >= policy.attempts,
                  on.col("claimed_at") < now - policy.lease)
    ids = [int(i) for i in session.execute(select(on.col(on.key)).where(lapsed)).scalars()]
    if ids:
        reason = LAPSED.format(lease=policy.lease.total_seconds())
        session.execute(update(on.model).where(on.col(on.key).in_(ids), lapsed)
                        .values(failed_at=now, claimed_at=None, error=func.coalesce(
                            func.nullif(on.col("error"), ""), reason)))
    return ids


@dataclass(frozen=True)
class Retried:
    image_id: int
    attempts: int
    error: str



def record_failed_attempt(session: Session, actor: Actor, taken: Claim, reason: str,
                          now: datetime, policy: Policy = DEFAULT, *,
                          on: Queued = STAGES) -> None:
    """attempt_failed, audited (by the worker that failed): unless a later attempt owns the
    work, whose failure is not this one's to say."""
    outcome = attempt_failed(session, taken, reason, now, policy, on=on)
    if outcome is not None:
        record(session, actor, on.failed_action, object_type=on.subject,
               object_ids=[taken.image_id],
               details={"attempt": taken.attempt, "of": policy.attempts,
                        "final": outcome == "failed", "reason": reason[:500]})


def record_lapsed(session: Session, actor: Actor, now: datetime, policy: Policy = DEFAULT, *,
                  on: Queued = STAGES) -> list[int]:
    """give_up_lapsed, audited."""
    ids = give_up_lapsed(session, now, policy, on=on)
    if ids:
        record(session, actor, on.failed_action, object_type=on.subject, object_ids=ids,
               details={"final": True, "of": policy.attempts,
                        "reason": LAPSED.format(lease=policy.lease.total_seconds())})
    return ids


def retry(session: Session, image_ids: list[int] | None) -> list[Retried]:
    """Put failed stages back in the queue with fresh attempts (None: every failed one).
    Returns what each had been (attempts, reason), for the audit event."""
    query = select(MatchRun).where(col(MatchRun.failed_at).is_not(None),
                                   col(MatchRun.second_stage_at).is_(None))
    if image_ids is not None:
        query = query.where(col(MatchRun.image_id).in_(image_ids))
    out = []
    for run in session.exec(query.order_by(col(MatchRun.image_id))).all():
        out.append(Retried(run.image_id, run.attempts, run.error))
        run.failed_at = run.claimed_at = run.retry_at = None
        run.attempts, run.claimed_by, run.error = 0, "", ""
        session.add(run)
    session.flush()
    return out


def retry_failed(session: Session, actor: Actor, image_ids: list[int] | None) -> list[Retried]:
    """`retry`, audited, all or nothing: an image without a failed stage refuses them all."""
    again = retry(session, None if image_ids is None else sorted(set(image_ids)))
    missing = sorted(set(image_ids or []) - {r.image_id for r in again})
    if missing:
        raise Unprocessable("No failed second stage for image " + ", ".join(map(str, missing))
                            + "; nothing was changed.")
    if again:
        reopened = reopen_clip_passes(session, [r.image_id for r in again])
        record(session, actor, "match.second_stage_retry", object_type="image",
               object_ids=[r.image_id for r in again],
               details={"previous": [{"image": r.image_id, "attempts": r.attempts,
                                      "reason": r.error} for r in again],
                        "clip_passes_queued_again": reopened})
    return again


def reopen_clip_passes(session: Session, image_ids: list[int]) -> list[int]:
    """The clip passes of the videos these frames are of, queued again with fresh attempts
    (done or failed without a frame whose stage now runs again): they run once it is done.
    Returns the videos' ids."""
    ids = [int(i) for i in session.exec(select(ClipPass.video_id).where(
        col(ClipPass.video_id).in_(select(VideoFrame.video_id).where(
            col(VideoFrame.image_id).in_(image_ids))),
        or_(col(ClipPass.done_at).is_not(None), col(ClipPass.failed_at).is_not(None)))
        .order_by(col(ClipPass.video_id))).all()]
    if ids:
        session.execute(update(ClipPass).where(col(ClipPass.video_id).in_(ids)).values(
            done_at=None, **FRESH_ATTEMPTS))
    return ids


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:  # aggregates skip the column type
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True)
class Backlog:
    """The queue as an operator watches it: stages to run, since when, and given up."""

    waiting: int  # not done and not failed: queued, running, or pausing between attempts
    oldest_at: datetime | None
    failed: int  # failed for good: the reason is on the match run, the page shows it
    running: int = 0


def backlog(session: Session, now: datetime | None = None,
            policy: Policy = DEFAULT, on: Queued = STAGES) -> Backlog:
    """The queue's depth (`on`: second stages, the samplings of videos, or their clip passes;
    a clip pass counts once its frames are settled, since when it was queued)."""
    count, oldest = session.exec(
        select(func.count(), func.min(on.col(on.since))).where(*_open(on), *on.ready())).one()
    given_up = [on.col("failed_at").is_not(None), on.col(on.done).is_(None), *on.held()]
    failed = session.exec(select(func.count()).select_from(on.model).where(*given_up)).one()
    running = 0
    if now is not None:
        running = session.exec(select(func.count()).select_from(on.model).where(
            *_open(on), on.col("claimed_at") >= now - policy.lease)).one()
    return Backlog(int(count or 0), _aware(oldest), int(failed or 0), int(running or 0))


def running(session: Session, now: datetime, policy: Policy = DEFAULT,
            on: Queued = STAGES) -> list[Any]:
    """Claims held now: image (or video), worker, attempt, and when each lease ends."""
    return list(session.exec(select(on.model).where(
        *_open(on), on.col("claimed_at") >= now - policy.lease)
        .order_by(on.col("claimed_at"))).all())


def failed(session: Session, limit: int = 100, on: Queued = STAGES) -> list[Any]:
    """Given up, newest first: the reason is in each row's `error`."""
    return list(session.exec(select(on.model).where(
        on.col("failed_at").is_not(None), on.col(on.done).is_(None), *on.held())
        .order_by(on.col("failed_at").desc()).limit(limit)).all())


@dataclass(frozen=True)
class Stage:
    """An image's second stage as a page shows it."""

    state: str  # done | queued | running | retrying | failed | none
    ahead: int = 0  # queued: stages that will be taken before this one
    attempts: int = 0
    error: str = ""
    candidates: int = 0  # done: how many candidates the image has from both stages

    @property
    def waiting(self) -> bool:
        return self.state in ("queued", "running", "retrying")


def stage_of(session: Session, run: MatchRun | None, now: datetime,
             policy: Policy = DEFAULT) -> Stage:
    if run is None:
        return Stage("none")
    if run.second_stage_at is not None:
        return Stage("done", attempts=run.attempts, candidates=run.candidates)
    if run.failed_at is not None:
        return Stage("failed", attempts=run.attempts, error=run.error)
    claimed = _aware(run.claimed_at)
    if claimed is not None and claimed >= now - policy.lease:
        return Stage("running", attempts=run.attempts, error=run.error)
    first = _aware(run.first_stage_at)
    ahead = session.exec(select(func.count()).select_from(MatchRun).where(
        *_open(), or_(col(MatchRun.claimed_at).is_(None),
                      col(MatchRun.claimed_at) < now - policy.lease),
        or_(col(MatchRun.first_stage_at) < first,
            and_(col(MatchRun.first_stage_at) == first,
                 col(MatchRun.image_id) < run.image_id)))).one()
    return Stage("retrying" if run.error else "queued", ahead=int(ahead or 0),
                 attempts=run.attempts, error=run.error)
