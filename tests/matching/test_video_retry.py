"""A video whose sampling failed for good is queued again by a supervisor (service, page, API,
CLI): only a failed one (409 otherwise, nothing changed), with a reason, audited; the match
workers then sample it afresh and its page shows the new state."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.audit.service import SYSTEM
from app.cli import cli
from app.db import make_engine, make_session_factory, unit_of_work, utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.evidence import videos
from app.evidence.models import Video, VideoFrame
from app.matching import queue
from app.matching.video_retry import retry_video
from app.matching.worker import drain
from app.settings import get_settings
from tests.conftest import page_csrf
from tests.matching.test_queue import live  # noqa: F401  (a fixture: both databases)
from tests.video import clips

WHY = "The worker host was restarted mid-run"
ONE_ATTEMPT = queue.Policy(attempts=1)


def _store(session, settings, seconds: float = 2) -> int:
    prepared = videos.prepare(settings, data=clips.small_clip(seconds=seconds),
                              filename="clip.mp4")
    video, _ = videos.store(session, settings, SYSTEM, prepared)
    videos.link_post(session, SYSTEM, video, filename="clip.mp4", url="", posted_at=None)
    return video.id


def _fail(session, video_id: int) -> None:
    """Its only attempt's worker died: the lease lapsed and the video is failed for good."""
    long_ago = utcnow() - queue.LEASE - timedelta(seconds=1)
    assert queue.claim(session, video_id, long_ago, "host-a:1", ONE_ATTEMPT,
                       on=queue.SAMPLINGS) is not None
    assert queue.record_lapsed(session, SYSTEM, utcnow(), ONE_ATTEMPT,
                               on=queue.SAMPLINGS) == [video_id]


def test_a_failed_video_is_queued_again_and_sampled_by_the_workers(live):  # noqa: F811
    settings, factory, index = live
    with unit_of_work(factory) as s:
        video_id = _store(s, settings)
    with unit_of_work(factory) as s, pytest.raises(Conflict, match="has not failed: it is "
                                                                   "waiting"):
        retry_video(s, SYSTEM, video_id, WHY)
    with unit_of_work(factory) as s:
        _fail(s, video_id)
    with factory() as s:
        assert s.get(Video, video_id).state == "failed"
        assert queue.backlog(s, utcnow(), ONE_ATTEMPT, queue.SAMPLINGS).failed == 1
    with unit_of_work(factory) as s, pytest.raises(Unprocessable, match="Give the reason"):
        retry_video(s, SYSTEM, video_id, "  ")
    with unit_of_work(factory) as s, pytest.raises(NotFound):
        retry_video(s, SYSTEM, video_id + 100, WHY)
    with factory() as s:
        assert s.get(Video, video_id).state == "failed"  # refusals changed nothing

    with unit_of_work(factory) as s:
        before = retry_video(s, SYSTEM, video_id, WHY)
    assert before.attempts == 1 and "lease" in before.error
    with factory() as s:
        video = s.get(Video, video_id)
        assert (video.state, video.attempts, video.error, video.failed_at) == \
            ("waiting", 0, "", None)
        [event] = s.exec(select(AuditEvent).where(
            AuditEvent.action == "evidence.video.sampling_retried")).all()
        assert event.object_ids == json.dumps([str(video_id)]) and event.purpose == WHY
        assert json.loads(event.details)["previous_attempts"] == 1

    assert drain(factory, index, settings=settings, policy=ONE_ATTEMPT) >= 1
    with factory() as s:
        video = s.get(Video, video_id)
        assert video.state == "sampled" and video.attempts == 1
        assert len(s.exec(select(VideoFrame).where(VideoFrame.video_id == video_id)).all()) \
            == video.frames >= 2
    with unit_of_work(factory) as s, pytest.raises(Conflict, match="it is sampled"):
        retry_video(s, SYSTEM, video_id, WHY)


def test_an_erased_video_is_not_queued_again(live):  # noqa: F811
    settings, factory, _ = live
    with unit_of_work(factory) as s:
        video_id = _store(s, settings)
        _fail(s, video_id)
    with unit_of_work(factory) as s:
        videos.erase_videos(s, settings, SYSTEM, video_ids=[video_id], now=utcnow(),
                            reason="Erased: retention")
    with unit_of_work(factory) as s, pytest.raises(Conflict, match="was erased"):
        retry_video(s, SYSTEM, video_id, WHY)


def test_a_supervisor_samples_a_failed_video_again_from_its_page(as_role, session, settings):
    video_id = _store(session, settings)
    _fail(session, video_id)
    session.commit()

    analyst, _ = as_role("analyst")
    page = analyst.get(f"/videos/{video_id}")
    assert "Sampling failed:" in page.text and "Sample again" not in page.text
    csrf = page_csrf(analyst, f"/videos/{video_id}")
    assert analyst.post(f"/videos/{video_id}/retry",
                        data={"reason": WHY, "csrf_token": csrf}).status_code == 403

    client, _ = as_role("supervisor")
    listed = client.get("/matching/queue").text  # where a supervisor finds it
    assert "1 failed for good (listed below" in listed
    assert f'<a href="/videos/{video_id}">video {video_id}</a>' in listed
    assert "<title>Matching queue · Cellwatch</title>" in listed  # the list is in the page
    assert listed.count(f'<a href="/videos/{video_id}">') == 1  # ...once, not in its title
    page = client.get(f"/videos/{video_id}")
    assert "Sample this video again" in page.text
    csrf = page_csrf(client, f"/videos/{video_id}")
    short = client.post(f"/videos/{video_id}/retry", data={"reason": "x", "csrf_token": csrf})
    assert short.status_code == 422 and "Give the reason" in short.text
    session.expire_all()
    assert session.get(Video, video_id).state == "failed"

    done = client.post(f"/videos/{video_id}/retry", data={"reason": WHY, "csrf_token": csrf},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/videos/{video_id}"
    # no match workers in tests: the web process sampled it after its answer
    after = client.get(f"/videos/{video_id}").text
    assert f"Video {video_id} was queued again" in after
    assert '<span class="badge badge-sampled">sampled</span>' in after
    assert "Sampling failed:" not in after and "Sample this video again" not in after
    assert "No video's sampling has failed." in client.get("/matching/queue").text

    again = client.post(f"/videos/{video_id}/retry", data={"reason": WHY, "csrf_token": csrf})
    assert again.status_code == 409
    assert f"Video {video_id} has not failed: it is sampled" in again.text


def test_the_api_queues_a_failed_video_again_and_refuses_one_that_has_not_failed(
        as_role, session, settings):
    failed, waiting = _store(session, settings, 2), _store(session, settings, 1)
    _fail(session, failed)
    session.commit()
    analyst, _ = as_role("analyst")
    headers = {"X-CSRF-Token": page_csrf(analyst)}
    assert analyst.post(f"/api/v1/videos/{failed}/retry", json={"reason": WHY},
                        headers=headers).status_code == 403

    client, _ = as_role("supervisor")
    headers = {"X-CSRF-Token": page_csrf(client)}
    refused = client.post(f"/api/v1/videos/{waiting}/retry", json={"reason": WHY},
                          headers=headers)
    assert refused.status_code == 409
    assert refused.json()["message"].startswith(f"Video {waiting} has not failed")
    assert client.post(f"/api/v1/videos/{failed}/retry", json={},
                       headers=headers).status_code == 422
    assert client.post("/api/v1/videos/999999/retry", json={"reason": WHY},
                       headers=headers).status_code == 404

    done = client.post(f"/api/v1/videos/{failed}/retry", json={"reason": WHY}, headers=headers)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["video_id"], body["sampling"], body["previous_attempts"], body["reason"]) == \
        (failed, "waiting", 1, WHY)
    assert "lapsed" in body["previous_error"]
    assert client.get(f"/api/v1/videos/{failed}").json()["sampling"] == "sampled"


def test_the_cli_queues_a_failed_video_again(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(cli, ["migrate"]).exit_code == 0
        settings = get_settings()
        engine = make_engine(settings.effective_database_url)
        factory = make_session_factory(engine)
        with unit_of_work(factory) as s:
            failed, waiting = _store(s, settings, 2), _store(s, settings, 1)
            _fail(s, failed)

        shown = runner.invoke(cli, ["matching", "queue"])
        assert "failed for good: 1" in shown.output
        assert f"video {failed}: sampling failed" in shown.output
        assert "after 1 attempt: the worker running it stopped" in shown.output
        assert f"video {waiting}" not in shown.output
        refused = runner.invoke(cli, ["matching", "retry-video", str(waiting), "--reason", WHY])
        assert refused.exit_code == 1
        assert f"Video {waiting} has not failed: it is waiting" in refused.output
        no_reason = runner.invoke(cli, ["matching", "retry-video", str(failed)])
        assert no_reason.exit_code == 2 and "--reason" in no_reason.output
        with factory() as s:
            assert s.get(Video, failed).state == "failed"

        done = runner.invoke(cli, ["matching", "retry-video", str(failed), "--reason", WHY])
        assert done.exit_code == 0, done.output
        assert f"video {failed} queued again (it had failed after 1 attempt" in done.output
        with factory() as s:
            assert s.get(Video, failed).state == "waiting"
            [event] = s.exec(select(AuditEvent).where(
                AuditEvent.action == "evidence.video.sampling_retried")).all()
            assert event.purpose == WHY
        engine.dispose()
    finally:
        get_settings.cache_clear()


def test_nobody_signed_in_cannot_queue_a_video_again(client, session, settings):
    video_id = _store(session, settings)
    _fail(session, video_id)
    session.commit()
    refused = client.post(f"/videos/{video_id}/retry", data={"reason": WHY},
                          follow_redirects=False)
    assert refused.status_code in (302, 303, 401, 403)
    session.expire_all()
    assert session.get(Video, video_id).state == "failed"
