"""Migration 0022 on a database that holds videos from before it: a sampled video whose frames'
stages are all done had its pass then and is marked done (not run again); one with a frame
waiting or failed for good is queued and runs; a video not sampled yet has no pass until it is.
On a SQLite file and on PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlmodel import select

from app import migrations
from app.audit.models import AuditEvent
from app.db import unit_of_work, utcnow
from app.evidence.models import VideoFrame
from app.matching.models import ClipPass, MatchRun
from app.matching.worker import drain
from tests.matching.test_clip_queue import sample, stages
from tests.matching.test_queue import live  # noqa: F401  (a fixture: both databases)
from tests.matching.test_video_retry import _store as store_video


def test_videos_from_before_the_migration_get_their_pass_once(live):  # noqa: F811
    settings, factory, index = live
    with unit_of_work(factory) as s:
        done, waiting, failed, unsampled = (store_video(s, settings, n) for n in (1, 2, 3, 1.5))
    for video_id in (done, failed):
        sample(factory, index, settings, video_id)
    stages(factory, index, settings)
    frames = sample(factory, index, settings, waiting)  # its frames' stages still queued
    with unit_of_work(factory) as s:  # a frame of `failed` whose stage had failed for good
        frame = s.exec(select(VideoFrame.image_id).where(VideoFrame.video_id == failed)).first()
        run = s.get(MatchRun, frame)
        run.second_stage_at, run.failed_at, run.error = None, utcnow(), "ValueError: unreadable"
        s.add(run)

    config = migrations.alembic_config(settings.database_url)
    command.downgrade(config, "0021")  # the database as it was before this change
    migrations.upgrade(settings.database_url)
    with factory() as s:
        rows = {r.video_id: r for r in s.exec(select(ClipPass)).all()}
        assert sorted(rows) == sorted([done, waiting, failed])  # not the unsampled one
        assert rows[done].done_at is not None and rows[done].attempts == 0
        assert rows[waiting].done_at is None and rows[failed].done_at is None

    drain(factory, index, settings=settings)
    with factory() as s:
        assert all(r.done_at is not None for r in s.exec(select(ClipPass)).all())
        ran = [e.object_ids for e in s.exec(select(AuditEvent).where(
            AuditEvent.action == "match.clip_pass")).all()]
        assert sorted(ran) == sorted(f'["{v}"]' for v in (waiting, failed, unsampled))
    assert frames
