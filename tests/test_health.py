from alembic import command

from app import migrations


def test_healthz_needs_no_sign_in_and_shows_no_data(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_ready_when_migrations_are_current(client):
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert set(body["audit_chain"]) == {"unlinked", "oldest_seconds"}


def test_readyz_shows_how_far_audit_linking_is_behind(client, session):
    from app.audit.service import link_pending, record
    from tests.conftest import TEST_ACTOR

    link_pending(session)
    record(session, TEST_ACTOR, "test.waiting")
    session.commit()
    assert client.get("/readyz").json()["audit_chain"]["unlinked"] == 1
    link_pending(session)
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
