"""A clip pass that failed for good is shown where failed stages and samplings are: the Queue
page, `cellwatch matching queue`, /readyz and the video's page (with its reason); a supervisor
runs it again from the video's page, the API or the command line (with a reason, audited)."""

from __future__ import annotations

import json

from sqlmodel import select
from typer.testing import CliRunner

from app.audit.models import AuditEvent
from app.cli import cli
from app.db import make_engine, make_session_factory, unit_of_work
from app.matching import frame_sets, queue
from app.matching.models import ClipPass
from app.matching.worker import drain
from app.settings import get_settings
from tests.conftest import page_csrf
from tests.matching.test_video_retry import WHY
from tests.matching.test_video_retry import _store as store_video

ONE_ATTEMPT = queue.Policy(attempts=1)
BROKEN = "RuntimeError: the descriptor index is unreadable"


def _broken(*args, **kwargs):
    raise RuntimeError("the descriptor index is unreadable")


def _failed_pass(monkeypatch, factory, index, settings) -> None:
    """Sampled, every frame's stage done, and the clip pass failed on its only attempt."""
    with monkeypatch.context() as patched:
        patched.setattr(frame_sets, "clip_pass", _broken)
        drain(factory, index, settings=settings, policy=ONE_ATTEMPT)


def test_a_failed_pass_is_shown_and_a_supervisor_runs_it_again_from_the_video_page(
        as_role, session, settings, monkeypatch):
    video_id = store_video(session, settings)
    session.commit()
    analyst, _ = as_role("analyst")
    state = analyst.app.state
    _failed_pass(monkeypatch, state.session_factory, state.match_engine, settings)

    page = analyst.get(f"/videos/{video_id}").text
    assert '<span class="badge badge-sampled">sampled</span>' in page
    assert f"Clip pass failed after 1 attempt: {BROKEN}" in page
    assert "Run the clip pass again" not in page  # an analyst may not
    ready = analyst.get("/readyz").json()["clip_passes"]
    assert (ready["waiting"], ready["running"], ready["failed"]) == (0, 0, 1)

    client, _ = as_role("supervisor")
    listed = client.get("/matching/queue").text
    assert "Clip passes waiting (their frames' own stages settled): 0 (0 running now); " \
           "1 failed for good" in listed
    table = listed.split('<table id="failed-passes">')[1].split("</table>")[0]
    assert f'<a href="/videos/{video_id}">video {video_id}</a>' in table and BROKEN in table
    page = client.get(f"/videos/{video_id}").text
    assert "Run the clip pass again" in page and "Sample this video again" not in page

    csrf = page_csrf(client, f"/videos/{video_id}")
    short = client.post(f"/videos/{video_id}/retry", data={"reason": "x", "csrf_token": csrf})
    assert short.status_code == 422 and "Give the reason" in short.text
    session.expire_all()
    assert session.get(ClipPass, video_id).failed_at is not None  # refused: nothing changed

    done = client.post(f"/videos/{video_id}/retry", data={"reason": WHY, "csrf_token": csrf},
                       follow_redirects=False)
    assert done.status_code == 303
    # no match workers in tests: the web process ran the pass after its answer
    after = client.get(f"/videos/{video_id}").text
    assert f"Video {video_id}&#39;s clip pass was queued again" in after
    assert '<tr id="clip-pass"><th>Clip pass</th><td><span class="badge badge-done">done' in after
    assert "Clip pass failed" not in after
    assert "No clip pass has failed." in client.get("/matching/queue").text
    session.expire_all()
    row = session.get(ClipPass, video_id)
    assert row.done_at is not None and (row.attempts, row.error) == (1, "")
    [event] = session.exec(select(AuditEvent).where(
        AuditEvent.action == "match.clip_pass_retried")).all()
    assert event.purpose == WHY and json.loads(event.details)["previous_reason"] == BROKEN
    again = client.post(f"/videos/{video_id}/retry", data={"reason": WHY, "csrf_token": csrf})
    assert again.status_code == 409 and "has not failed: it is sampled" in again.text


def test_the_api_runs_a_failed_pass_again_and_shows_its_state(as_role, session, settings,
                                                               monkeypatch):
    video_id = store_video(session, settings)
    session.commit()
    client, _ = as_role("supervisor")
    state = client.app.state
    _failed_pass(monkeypatch, state.session_factory, state.match_engine, settings)
    shown = client.get(f"/api/v1/videos/{video_id}").json()["clip_pass"]
    assert (shown["state"], shown["attempts"], shown["error"]) == ("failed", 1, BROKEN)

    headers = {"X-CSRF-Token": page_csrf(client)}
    done = client.post(f"/api/v1/videos/{video_id}/retry", json={"reason": WHY},
                       headers=headers)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["retried"], body["sampling"], body["clip_pass"], body["previous_error"]) == \
        ("clip_pass", "sampled", "waiting", BROKEN)
    assert client.get(f"/api/v1/videos/{video_id}").json()["clip_pass"]["state"] == "done"


def test_the_cli_lists_a_failed_pass_and_runs_it_again(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(cli, ["migrate"]).exit_code == 0
        settings = get_settings()
        engine = make_engine(settings.effective_database_url)
        factory = make_session_factory(engine)
        from app.matching.engine import MatchEngine

        index = MatchEngine(db=make_engine(settings.effective_database_url))
        with unit_of_work(factory) as s:
            video_id = store_video(s, settings)
        _failed_pass(monkeypatch, factory, index, settings)

        shown = runner.invoke(cli, ["matching", "queue"])
        assert "clip passes waiting (frames settled): 0 (0 running)" in shown.output
        assert f"video {video_id}: clip pass failed" in shown.output
        assert f"after 1 attempt: {BROKEN}" in shown.output

        done = runner.invoke(cli, ["matching", "retry-video", str(video_id), "--reason", WHY])
        assert done.exit_code == 0, done.output
        assert f"video {video_id}'s clip pass queued again (it had failed after 1 attempt" \
            in done.output
        with factory() as s:
            assert s.get(ClipPass, video_id).failed_at is None
        assert drain(factory, index, settings=settings) == 1  # a worker runs it
        with factory() as s:
            assert s.get(ClipPass, video_id).done_at is not None
        index.close()
        engine.dispose()
    finally:
        get_settings.cache_clear()
