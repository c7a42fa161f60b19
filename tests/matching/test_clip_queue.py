"""The clip pass as a queued job (queue.CLIPS): queued with the frames, claimed once no frame's
own stage is left to run (a frame failed for good does not hold it up), run once however many
workers look for it, retried and then failed with its reason, and queued again with a reason.
On a SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.audit.service import SYSTEM
from app.db import unit_of_work, utcnow
from app.evidence.models import VideoFrame
from app.matching import frame_sets, jobs, queue, sampling, service
from app.matching.clip_passes import clip_state
from app.matching.models import ClipPass, Match, MatchRun
from app.matching.video_retry import retry_video
from app.matching.worker import drain
from tests.matching.clip_scenes import zoom_video
from tests.matching.test_queue import live  # noqa: F401  (a fixture: both databases)
from tests.matching.test_video_retry import WHY
from tests.matching.test_video_retry import _store as store_video

TWO_ATTEMPTS = queue.Policy(attempts=2)


def sample(factory, index, settings, video_id: int) -> list[int]:
    """A match worker's sampling of this video: its frames (image ids), their stages queued."""
    with unit_of_work(factory) as s:
        taken = queue.claim(s, video_id, utcnow(), "test:1", on=queue.SAMPLINGS)
    assert taken is not None
    frames = sampling.run_sampling(factory, index, SYSTEM, taken, settings=settings)
    assert frames
    return frames


def stages(factory, index, settings) -> int:
    """Every claimable second stage, run as a match worker does (no clip pass)."""
    done = 0
    while True:
        with unit_of_work(factory) as s:
            taken = queue.claim_next(s, utcnow(), "test:1")
        if taken is None:
            return done
        done += jobs.run_second_stage(factory, index, SYSTEM, taken, settings=settings)


def _events(session, action: str) -> list[dict]:
    return [json.loads(e.details) for e in session.exec(
        select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id)))]


def test_the_pass_waits_for_its_frames_and_one_failed_for_good_does_not_hold_it_up(
        live):  # noqa: F811
    settings, factory, index = live
    with unit_of_work(factory) as s:
        video_id = store_video(s, settings)
    frames = sample(factory, index, settings, video_id)
    assert len(frames) >= 2
    with unit_of_work(factory) as s:  # queued with the frames, not claimable before them
        assert s.get(ClipPass, video_id).done_at is None
        assert clip_state(s, video_id, utcnow()).state == "frames"
        assert queue.claim(s, video_id, utcnow(), "test:1", on=queue.CLIPS) is None
        assert queue.backlog(s, utcnow(), on=queue.CLIPS).waiting == 0
        # the first frame's stage fails for good
        broken = queue.claim(s, frames[0], utcnow(), "test:1", queue.Policy(attempts=1))
        queue.record_failed_attempt(s, SYSTEM, broken, "ValueError: unreadable frame",
                                    utcnow(), queue.Policy(attempts=1))
    with factory() as s:
        assert s.get(MatchRun, frames[0]).failed_at is not None
        assert queue.claim(s, video_id, utcnow(), "test:1", on=queue.CLIPS) is None  # others
        s.rollback()

    # stages, the pass, then the preview
    assert drain(factory, index, settings=settings) == len(set(frames)) - 1 + 1 + 1
    with factory() as s:
        row = s.get(ClipPass, video_id)
        assert row.done_at is not None and row.attempts == 1 and row.failed_at is None
        state = clip_state(s, video_id, utcnow())
        assert (state.state, state.frames_failed) == ("done", 1)
        [event] = _events(s, "match.clip_pass")
        assert event["frames"] == len(set(frames)) - 1  # the frames whose stages are done
        assert _events(s, "match.clip_pass_failed") == []
        assert queue.backlog(s, utcnow(), on=queue.CLIPS) == queue.Backlog(0, None, 0, 0)


def test_a_pass_that_raises_is_retried_then_failed_with_its_reason_and_queued_again(
        live, monkeypatch):  # noqa: F811
    settings, factory, index = live
    with unit_of_work(factory) as s:
        video_id = store_video(s, settings)
    sample(factory, index, settings, video_id)
    stages(factory, index, settings)

    def broken(*args, **kwargs):
        raise RuntimeError("the descriptor index is unreadable")

    monkeypatch.setattr(frame_sets, "clip_pass", broken)
    # the preview alone is stored: it does not wait for a pass that failed
    assert drain(factory, index, settings=settings, policy=TWO_ATTEMPTS) == 1
    with factory() as s:  # the first attempt failed: kept, tried again after a pause
        row = s.get(ClipPass, video_id)
        assert (row.attempts, row.failed_at, row.done_at) == (1, None, None)
        assert row.error == "RuntimeError: the descriptor index is unreadable"
        assert clip_state(s, video_id, utcnow(), TWO_ATTEMPTS).state == "retrying"
        assert queue.claim(s, video_id, utcnow(), "test:1", TWO_ATTEMPTS,
                           on=queue.CLIPS) is None  # not before its pause is over
        s.rollback()
    with unit_of_work(factory) as s:
        taken = queue.claim(s, video_id, utcnow() + timedelta(minutes=1), "test:2",
                            TWO_ATTEMPTS, on=queue.CLIPS)
    assert taken is not None and taken.attempt == 2
    assert jobs.run_clip_pass(factory, index, SYSTEM, taken, TWO_ATTEMPTS) is False
    with factory() as s:
        row = s.get(ClipPass, video_id)
        assert row.failed_at is not None and row.done_at is None and row.attempts == 2
        assert "descriptor index is unreadable" in row.error
        assert [(e["attempt"], e["final"]) for e in _events(s, "match.clip_pass_failed")] == [
            (1, False), (2, True)]
        assert queue.backlog(s, utcnow(), TWO_ATTEMPTS, queue.CLIPS).failed == 1
        assert [r.video_id for r in queue.failed(s, on=queue.CLIPS)] == [video_id]
    assert drain(factory, index, settings=settings, policy=TWO_ATTEMPTS) == 0  # given up

    monkeypatch.undo()  # the cause is fixed; a supervisor queues it again
    with unit_of_work(factory) as s:
        before = retry_video(s, SYSTEM, video_id, WHY)
    assert (before.what, before.attempts) == ("clip_pass", 2)
    with factory() as s:
        row = s.get(ClipPass, video_id)
        assert (row.attempts, row.failed_at, row.error) == (0, None, "")
        [event] = _events(s, "match.clip_pass_retried")
        assert event["previous_attempts"] == 2 and event["reason"] == WHY
    assert drain(factory, index, settings=settings) == 1
    with factory() as s:
        assert s.get(ClipPass, video_id).done_at is not None
        assert len(_events(s, "match.clip_pass")) == 1


def test_a_frame_run_again_queues_its_clip_pass_again(live):  # noqa: F811
    settings, factory, index = live
    with unit_of_work(factory) as s:
        video_id = store_video(s, settings)
    frames = sample(factory, index, settings, video_id)
    with unit_of_work(factory) as s:
        broken = queue.claim(s, frames[-1], utcnow(), "test:1", queue.Policy(attempts=1))
        queue.record_failed_attempt(s, SYSTEM, broken, "ValueError: unreadable frame",
                                    utcnow(), queue.Policy(attempts=1))
    drain(factory, index, settings=settings)
    with unit_of_work(factory) as s:
        assert s.get(ClipPass, video_id).done_at is not None  # without the failed frame
        queue.retry_failed(s, SYSTEM, [frames[-1]])
    with factory() as s:
        assert clip_state(s, video_id, utcnow()).state == "frames"  # waits for that frame
        [event] = _events(s, "match.second_stage_retry")
        assert event["clip_passes_queued_again"] == [video_id]
    drain(factory, index, settings=settings)
    with factory() as s:
        assert s.get(ClipPass, video_id).done_at is not None
        assert [e["frames"] for e in _events(s, "match.clip_pass")] == [
            len(set(frames)) - 1, len(set(frames))]


def test_two_workers_looking_at_once_take_different_passes_and_each_runs_once(
        live):  # noqa: F811
    settings, factory, index = live
    with unit_of_work(factory) as s:
        ids = [store_video(s, settings, seconds) for seconds in (1, 2)]
    for video_id in ids:
        sample(factory, index, settings, video_id)
    stages(factory, index, settings)
    # two match workers claim at the same moment, then two more look for work
    start, taken, errors = threading.Barrier(4), [], []

    def worker(name: str) -> None:
        try:
            with unit_of_work(factory) as s:
                start.wait(10)
                claim = queue.claim_next(s, utcnow(), name, on=queue.CLIPS)
            taken.append(claim)
            if claim is not None:
                jobs.run_clip_pass(factory, index, SYSTEM, claim)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w:{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    claimed = sorted(c.image_id for c in taken if c is not None)
    assert claimed == sorted(ids)  # each pass taken by one worker only
    with factory() as s:
        rows = [s.get(ClipPass, i) for i in ids]
        assert all(r.done_at is not None and r.attempts == 1 for r in rows)
        runs = [e for e in s.exec(select(AuditEvent).where(
            AuditEvent.action == "match.clip_pass"))]
        assert sorted(json.loads(e.object_ids)[0] for e in runs) == sorted(map(str, ids))


def test_a_pair_stored_meanwhile_by_another_transaction_is_no_failure(live, monkeypatch):  # noqa: F811
    """Two passes (or a pass and another clip's frame) storing one pair at once: the later
    commit meets uq_match_pair; the pass runs again at once, skips it and is done."""
    settings, factory, index = live
    video_id, reference = zoom_video(settings, factory, index)
    sample(factory, index, settings, video_id)
    stages(factory, index, settings)
    real, raced = service._store, []  # noqa: SLF001

    def racing(session, query, candidate, *args):
        stored = real(session, query, candidate, *args)  # checked for news, not yet flushed
        if not raced:  # another transaction stores the same pair and commits first
            with unit_of_work(factory) as other:
                other.add(Match(query_image_id=query.id, candidate_image_id=candidate,
                                method="features", distance=40, inliers=24))
            raced.append((query.id, candidate))
        return stored

    monkeypatch.setattr(service, "_store", racing)
    with unit_of_work(factory) as s:
        taken = queue.claim(s, video_id, utcnow(), "test:1", on=queue.CLIPS)
    # as a match worker runs it, its second look included: without it, whether the zoom's
    # second frame passes the scene check depends on the encoder's exact pixels
    assert jobs.run_clip_pass(factory, index, SYSTEM, taken, settings=settings) is True
    with factory() as s:
        assert raced and raced[0][1] == reference
        row = s.get(ClipPass, video_id)
        assert row.done_at is not None and row.attempts == 1 and row.error == ""
        assert _events(s, "match.clip_pass_failed") == []
        pairs = s.exec(select(Match.query_image_id, Match.candidate_image_id).where(
            col(Match.candidate_image_id) == reference)).all()
        assert pairs == raced  # stored once, by the transaction that came first
        frames = set(s.exec(select(VideoFrame.image_id).where(
            VideoFrame.video_id == video_id)).all())
        assert raced[0][0] in frames


def test_a_pass_held_by_one_worker_is_not_taken_by_another(live):  # noqa: F811
    settings, factory, index = live
    with unit_of_work(factory) as s:
        video_id = store_video(s, settings)
    sample(factory, index, settings, video_id)
    stages(factory, index, settings)
    with unit_of_work(factory) as s:
        first = queue.claim(s, video_id, utcnow(), "w:1", on=queue.CLIPS)
    with unit_of_work(factory) as s:
        assert first is not None and queue.claim_next(s, utcnow(), "w:2",
                                                      on=queue.CLIPS) is None
    with factory() as s:
        assert clip_state(s, video_id, utcnow()).state == "running"
