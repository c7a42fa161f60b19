"""Per-user read budgets: counted in the database, 429 with Retry-After past them, the refusal
audited, the auditors told; an auditor sees read volumes per user."""

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.audit import budget
from app.audit.models import AuditEvent
from app.db import utcnow
from app.settings import Settings
from tests.accounts.conftest import prisoner
from tests.conftest import login, page_csrf
from tests.video import clips


@pytest.fixture
def settings(tmp_path, db_url):
    return Settings(data_dir=tmp_path / "data", database_url=db_url, audit_link_seconds=0,
                    match_workers=0, read_budget_per_hour=3, read_budget_per_day=5)


def _events(session, action):
    session.expire_all()
    return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_past_the_hourly_budget_reads_are_refused_and_the_auditors_told(
        client, session, make_user):
    row = prisoner(session, "A1234BC", "Smith")
    session.commit()
    reader, other, auditor = make_user("analyst"), make_user("analyst"), make_user("auditor")
    login(client, reader.username)
    for _ in range(3):
        assert client.get("/estate/prisoners/A1234BC").status_code == 200
    refused = client.get("/estate/prisoners/A1234BC")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"].isdigit() and int(refused.headers["Retry-After"]) > 0
    assert "the most allowed is 3" in refused.text
    assert len(_events(session, "estate.read")) == 3  # the refused read left no read event
    (event,) = _events(session, budget.EXCEEDED_ACTION)
    assert event.actor_name == reader.username and event.outcome == "refused"
    assert '"refused_action": "estate.read"' in event.details
    login(client, other.username)  # someone else's budget is their own
    assert client.get("/estate/prisoners/A1234BC").status_code == 200
    login(client, auditor.username)
    home = client.get("/").text
    assert "Read budgets reached" in home and reader.username in home
    volumes = client.get("/audit/reads").text
    assert f">{reader.username}</a></td><td>3</td><td>3</td>" in volumes
    assert f">{other.username}</a></td><td>1</td><td>1</td>" in volumes
    log = client.get("/audit", params={"actor": reader.username}).text
    assert log.count("<code>estate.read</code>") == 3 and f"prisoner [&#34;{row.id}" in log


def test_the_day_budget_spans_hours_and_the_counts_are_in_the_database(engine, session):
    limits = budget.Budget(per_hour=3, per_day=5)
    start = utcnow().replace(minute=30, second=0, microsecond=0)
    budget.charge(session, 7, 3, limits, start)
    session.commit()
    # another worker, its own session, sees the count
    with Session(bind=session.connection()) as elsewhere, \
            pytest.raises(budget.OverBudget) as hour:
        budget.charge(elsewhere, 7, 1, limits, start + timedelta(minutes=10))
    assert hour.value.which == "hour" and hour.value.retry_after == 20 * 60 + 1
    budget.charge(session, 7, 2, limits, start + timedelta(hours=1))
    with pytest.raises(budget.OverBudget) as day:
        budget.charge(session, 7, 1, limits, start + timedelta(hours=1, minutes=5))
    assert day.value.which == "day" and day.value.used == 5
    # the first clock hour's reads (it began 30 minutes before `start`) leave the window a
    # day after that hour began
    assert day.value.retry_after == int((timedelta(days=1) - timedelta(hours=1, minutes=35))
                                        .total_seconds()) + 1
    budget.charge(session, 8, 1, limits, start)  # another user, untouched


def test_a_videos_page_poster_and_preview_count_against_the_budget(client, session,
                                                                   make_user):
    login(client, make_user("analyst").username)
    r = client.post("/api/v1/images", files=[("files", ("a.mp4", clips.small_clip(seconds=1),
                                                        "video/mp4"))],
                    headers={"X-CSRF-Token": page_csrf(client)})
    video_id = r.json()["videos"][0]["video_id"]
    login(client, make_user("analyst").username)  # a fresh reader: budget 3 an hour
    for path in ("", "/poster", "/preview"):
        assert client.get(f"/videos/{video_id}{path}").status_code == 200
    assert client.get(f"/api/v1/videos/{video_id}").status_code == 429
