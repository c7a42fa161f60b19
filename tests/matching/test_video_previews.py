"""A video's preview is a queued job of its own, made after its frames are matched: the match
workers take it last (no clip's matching waits for it), the page shows the poster until it is
stored, a lapsed claim is taken again and a stale one stores nothing, and a preview that keeps
failing is recorded with its reason and made again by a supervisor. On committed databases (a
SQLite file and PostgreSQL) where the queue is exercised."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.audit.models import AuditEvent
from app.audit.service import SYSTEM
from app.db import unit_of_work, utcnow
from app.errors import NotFound
from app.evidence import storage, videos
from app.evidence.models import Video
from app.matching import previews, queue
from app.matching.models import ClipPass, MatchRun, VideoPreview
from app.matching.worker import drain
from tests.conftest import page_csrf
from tests.matching.test_clip_queue import sample
from tests.matching.test_queue import live  # noqa: F401  (a fixture: both databases)
from tests.matching.test_video_retry import WHY
from tests.matching.test_video_retry import _store as store_video

ONE_ATTEMPT = queue.Policy(attempts=1)


def _events(factory, action: str) -> list[AuditEvent]:
    with factory() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def _open_matching(factory, video_id: int) -> int:
    """Second stages still to run, and the clip pass if it is not done."""
    with factory() as s:
        stages = s.exec(select(func.count()).select_from(MatchRun).where(
            MatchRun.second_stage_at.is_(None), MatchRun.failed_at.is_(None))).one()
        clip = s.get(ClipPass, video_id)
        return stages + (clip is not None and clip.done_at is None)


def test_the_preview_is_made_after_every_frame_and_the_clip_pass(live):  # noqa: F811
    settings, factory, index = live
    with unit_of_work(factory) as s:
        video_id = store_video(s, settings, 3)
    sample(factory, index, settings, video_id)
    with factory() as s:
        video = s.get(Video, video_id)
        row = s.get(VideoPreview, video_id)
        assert video.state == "sampled" and row is not None and row.done_at is None
        shown = previews.preview_states(s, [video_id], utcnow())[video_id]
        assert shown.state == "waiting" and shown.waiting
    assert videos.read_derivative(settings, video, "poster")[:3] == b"\xff\xd8\xff"
    with pytest.raises(NotFound, match=f"Video {video_id} has no preview yet"):
        videos.read_derivative(settings, video, "preview")

    # one job at a time, as a worker takes them: the preview only once nothing else is open
    while True:
        open_before = _open_matching(factory, video_id)
        assert drain(factory, index, settings=settings, limit=1) == 1
        with factory() as s:
            if s.get(VideoPreview, video_id).done_at is not None:
                assert open_before == 0
                break
    assert _open_matching(factory, video_id) == 0
    assert videos.read_derivative(settings, video, "preview")[4:8] == b"ftyp"
    [event] = _events(factory, "evidence.video.previewed")
    assert event.object_ids == f'["{video_id}"]' and json.loads(event.details)["bytes"] > 0
    with factory() as s:
        row = s.get(VideoPreview, video_id)
        assert (row.attempts, row.claimed_at, row.error) == (1, None, "")
    with unit_of_work(factory) as s:  # nothing left to claim
        assert queue.claim_next(s, utcnow(), on=queue.PREVIEWS) is None


def test_a_lapsed_claim_is_taken_again_and_the_stale_one_stores_nothing(live):  # noqa: F811
    settings, factory, index = live
    with unit_of_work(factory) as s:
        video_id = store_video(s, settings)
    sample(factory, index, settings, video_id)
    long_ago = utcnow() - queue.LEASE - timedelta(seconds=1)
    with unit_of_work(factory) as s:  # a worker took it, then died
        stale = queue.claim(s, video_id, long_ago, "host-a:1", on=queue.PREVIEWS)
    assert stale is not None
    with unit_of_work(factory) as s:  # its lease lapsed: another worker takes it
        fresh = queue.claim(s, video_id, utcnow(), "host-b:2", on=queue.PREVIEWS)
    assert fresh is not None and fresh.attempt == stale.attempt + 1

    # the first worker comes back to life and finishes: its claim is no longer the newest
    assert previews.run_preview(factory, SYSTEM, stale, settings=settings) is False
    with factory() as s:
        assert s.get(VideoPreview, video_id).done_at is None
    assert _events(factory, "evidence.video.previewed") == []
    assert previews.run_preview(factory, SYSTEM, fresh, settings=settings) is True
    assert len(_events(factory, "evidence.video.previewed")) == 1
    with factory() as s:
        video = s.get(Video, video_id)
    assert videos.read_derivative(settings, video, "preview")[4:8] == b"ftyp"


def test_an_erased_video_gets_no_preview(live):  # noqa: F811
    settings, factory, index = live
    with unit_of_work(factory) as s:
        video_id = store_video(s, settings)
    sample(factory, index, settings, video_id)
    with unit_of_work(factory) as s:
        videos.erase_videos(s, settings, SYSTEM, video_ids=[video_id], now=utcnow(),
                            reason="court order")
    drain(factory, index, settings=settings)
    with factory() as s:
        assert s.get(VideoPreview, video_id).done_at is None
        video = s.get(Video, video_id)
    assert _events(factory, "evidence.video.previewed") == []
    assert not any(p.exists() for p in storage.paths_of(settings, video.storage_key,
                                                        storage.VIDEO_KINDS))


def _original_gone(settings, factory, video_id: int) -> tuple[object, bytes]:
    """The sealed original goes missing after the sampling (a disk fault): returns where it
    was and its bytes, to put back once 'the cause is fixed'."""
    with factory() as s:
        video = s.get(Video, video_id)
    [path] = storage.paths_of(settings, video.storage_key, ("original",))
    kept = path.read_bytes()
    path.unlink()
    return path, kept


def test_a_preview_that_keeps_failing_is_shown_and_made_again_by_a_supervisor(
        as_role, session, settings):
    second = store_video(session, settings, 3)
    session.commit()
    client, _ = as_role("supervisor")
    state = client.app.state
    factory, index = state.session_factory, state.match_engine
    sample(factory, index, settings, second)
    path, kept = _original_gone(settings, factory, second)
    drain(factory, index, settings=settings, policy=ONE_ATTEMPT)

    page = client.get(f"/videos/{second}").text
    assert '<span class="badge badge-sampled">sampled</span>' in page
    assert '<span class="badge badge-failed">failed</span>' in page  # the preview's row
    assert "Making the preview failed: The stored copy of video" in page
    assert f'src="/videos/{second}/poster"' in page and "<video" not in page
    assert "No preview: making it failed" in page and "Make the preview again" in page
    shown = client.get(f"/api/v1/videos/{second}").json()
    assert (shown["preview"], shown["preview_url"]) == ("failed", None)
    assert "is missing" in shown["preview_error"]
    assert client.get("/readyz").json()["video_previews"]["failed"] == 1
    [failed] = _events(factory, "evidence.video.preview_failed")
    assert json.loads(failed.details)["final"] is True

    path.write_bytes(kept)  # the cause fixed
    csrf = page_csrf(client, f"/videos/{second}")
    done = client.post(f"/videos/{second}/retry", data={"reason": WHY, "csrf_token": csrf},
                       follow_redirects=False)
    assert done.status_code == 303
    # no match workers in tests: the web process made it after its answer
    after = client.get(f"/videos/{second}").text
    assert f"Video {second}&#39;s preview was queued again" in after
    assert f'<source src="/videos/{second}/preview" type="video/mp4">' in after
    assert "Making the preview failed" not in after
    [retried] = _events(factory, "evidence.video.preview_retried")
    assert retried.purpose == WHY
    served = client.get(f"/videos/{second}/preview")
    assert served.status_code == 200 and served.content[4:8] == b"ftyp"
    again = client.post(f"/videos/{second}/retry", data={"reason": WHY, "csrf_token": csrf})
    assert again.status_code == 409 and "has not failed: it is sampled" in again.text


def test_videos_sampled_before_the_migration_keep_their_preview(live):  # noqa: F811
    from alembic import command

    from app import migrations

    settings, factory, index = live
    with unit_of_work(factory) as s:
        sampled, unsampled = store_video(s, settings), store_video(s, settings, 1.5)
    sample(factory, index, settings, sampled)
    # its preview made, as the sampling made it then
    previews.preview_job(factory, SYSTEM, [sampled], settings=settings)
    config = migrations.alembic_config(settings.database_url)
    command.downgrade(config, "0022")  # the database as it was before this change
    migrations.upgrade(settings.database_url)
    with factory() as s:
        rows = {r.video_id: r for r in s.exec(select(VideoPreview)).all()}
        assert sorted(rows) == [sampled]  # the one not sampled gets its row when it is
        assert rows[sampled].done_at is not None and rows[sampled].attempts == 0
    drain(factory, index, settings=settings)
    with factory() as s:
        assert s.get(VideoPreview, unsampled).done_at is not None
        video = s.get(Video, unsampled)
    assert videos.read_derivative(settings, video, "preview")[4:8] == b"ftyp"
    assert len(_events(factory, "evidence.video.previewed")) == 2  # one each, none twice
