"""The matching queue page: supervisors see depth, claims and failures, and retry (audited)."""

import json

from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import utcnow
from app.evidence.images import ingest_image
from app.matching import doorbell, queue, service
from app.matching.engine import MatchEngine
from app.matching.models import MatchRun
from tests.conftest import TEST_ACTOR, page_csrf
from tests.matching import scenes


def _queued(session, settings, n):
    image, _ = ingest_image(session, settings, TEST_ACTOR, data=scenes.jpeg(scenes.room(n)),
                            filename="x.jpg")
    service.first_stage(session, MatchEngine(), TEST_ACTOR, [image.id])
    session.commit()
    return image.id


def test_supervisors_see_the_queue_and_run_a_failed_stage_again(as_role, session, settings,
                                                               request):
    failing = _queued(session, settings, 95)
    held = _queued(session, settings, 96)
    policy = queue.Policy(attempts=1)
    taken = queue.claim(session, failing, utcnow(), "host-a:7", policy)
    queue.attempt_failed(session, taken, "RuntimeError: features unreadable", utcnow(), policy)
    queue.claim(session, held, utcnow(), "host-b:8")
    session.commit()

    client, _ = as_role("supervisor")
    page = client.get("/matching/queue")
    assert page.status_code == 200
    assert "1 waiting (1 running now)" in page.text and "1 failed for good" in page.text
    assert "host-b:8" in page.text
    assert "Videos waiting to be sampled: 0 (0 running now); 0 failed for good" in page.text
    assert "RuntimeError: features unreadable" in page.text

    csrf = page_csrf(client, "/matching/queue")
    bell = doorbell.Bell(settings)  # an idle match worker's, on this host
    request.addfinalizer(bell.close)
    bad = client.post("/matching/queue/retry", data={"image_id": str(held), "csrf_token": csrf})
    assert bad.status_code == 422
    assert f"No failed second stage for image {held}; nothing was changed." in bad.text
    assert not bell.wait(0)  # refused: no worker rung
    done = client.post("/matching/queue/retry", data={"image_id": str(failing),
                                                      "csrf_token": csrf},
                       follow_redirects=False)
    assert done.status_code == 303
    assert bell.wait(0)  # rung once the retry committed
    after = client.get("/matching/queue").text
    assert "1 failed second stage queued again." in after
    assert "2 waiting" in after and "0 failed for good" in after
    run = session.get(MatchRun, failing)
    session.refresh(run)
    assert (run.failed_at, run.attempts) == (None, 0)
    [event] = session.exec(select(AuditEvent).where(
        AuditEvent.action == "match.second_stage_retry")).all()
    assert json.loads(event.details)["previous"][0]["reason"] == \
        "RuntimeError: features unreadable"


def test_analysts_auditors_and_admins_have_no_queue_page(as_role):
    for role in ("analyst", "auditor", "admin"):
        client, _ = as_role(role)
        assert client.get("/matching/queue").status_code == 403
        assert "/matching/queue" not in client.get("/").text


def test_the_queue_page_counts_videos_waiting_to_be_sampled(as_role, session, settings):
    from app.evidence import videos
    from tests.video import clips

    prepared = videos.prepare(settings, data=clips.small_clip(seconds=1), filename="c.mp4")
    videos.store(session, settings, TEST_ACTOR, prepared)
    session.commit()  # taken in; no match worker has sampled it yet
    client, _ = as_role("supervisor")
    page = client.get("/matching/queue").text
    assert "Videos waiting to be sampled: 1 (0 running now), the oldest for" in page
