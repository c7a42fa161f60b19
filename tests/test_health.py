import pytest
from alembic import command

from app import migrations
from tests.conftest import AUDIT_KEY


def test_healthz_needs_no_sign_in_and_shows_no_data(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_ready_when_migrations_are_current(client):
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert set(body["audit_chain"]) == {"unlinked", "oldest_seconds"}
    assert body["second_stages"] == {"waiting": 0, "running": 0, "oldest_seconds": 0.0,
                                     "failed": 0}
    assert body["video_samplings"] == body["second_stages"]


def test_readyz_shows_how_far_audit_linking_is_behind(client, session):
    from app.audit.service import link_pending, record
    from tests.conftest import TEST_ACTOR

    link_pending(session, key=AUDIT_KEY)
    record(session, TEST_ACTOR, "test.waiting")
    session.commit()
    assert client.get("/readyz").json()["audit_chain"]["unlinked"] == 1
    link_pending(session, key=AUDIT_KEY)
    session.commit()
    assert client.get("/readyz").json()["audit_chain"] == {"unlinked": 0, "oldest_seconds": 0.0}


def test_readyz_not_ready_with_pending_migrations(tmp_path):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    url = f"sqlite:///{tmp_path}/old.db"
    migrations.upgrade(url)
    command.downgrade(migrations.alembic_config(url), "base")
    app = create_app(Settings(data_dir=tmp_path, database_url=url))
    with TestClient(app) as client:
        r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["database"] == "migrations pending"


def test_readyz_shows_the_second_stages_waiting(client, session, settings):
    from app.evidence.images import ingest_image
    from app.matching import service
    from app.matching.engine import MatchEngine
    from tests.conftest import TEST_ACTOR
    from tests.matching import scenes

    image, _ = ingest_image(session, settings, TEST_ACTOR, data=scenes.jpeg(scenes.room(3)),
                            filename="x.jpg")
    service.first_stage(session, MatchEngine(), TEST_ACTOR, [image.id])
    session.commit()  # stored, first stage done; no worker has taken its second stage yet
    queued = client.get("/readyz").json()["second_stages"]
    assert queued["waiting"] == 1 and queued["failed"] == 0 and queued["oldest_seconds"] >= 0
    assert queued["running"] == 0
    from app.db import utcnow
    from app.matching import queue

    taken = queue.claim(session, image.id, utcnow(), "host:1")  # a worker takes it
    session.commit()
    assert client.get("/readyz").json()["second_stages"]["running"] == 1
    queue.attempt_failed(session, taken, "RuntimeError: x", utcnow(), queue.Policy(attempts=1))
    session.commit()  # ...and it fails for good
    queued = client.get("/readyz").json()["second_stages"]
    assert (queued["waiting"], queued["running"], queued["failed"]) == (0, 0, 1)


@pytest.mark.postgres
def test_readyz_answers_503_while_postgresql_is_down_and_200_once_it_is_back(tmp_path):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings
    from tests.support.postgres import restartable_cluster, two_role_database

    with restartable_cluster() as cluster:  # its own server: stopping it harms no other test
        _, url = two_role_database(cluster.url, "readyz")
        app = create_app(Settings(data_dir=tmp_path, database_url=url, audit_link_seconds=0,
                                  match_workers=0))
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/readyz").status_code == 200  # a pooled connection is open now
            cluster.stop()
            down = client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["database"] == "unreachable"
            assert "cannot reach its database" in down.json()["reason"]
            assert client.get("/healthz").status_code == 200  # the process itself is alive
            cluster.start()
            back = client.get("/readyz")
            assert back.status_code == 200 and back.json()["status"] == "ready"
