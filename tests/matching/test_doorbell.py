"""The match workers' doorbell: an upload answered by the web process rings it, and an idle
worker takes the upload's second stage at once, not at its next poll."""

import os
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.audit.service import SYSTEM
from app.auth import apikeys
from app.auth.models import User
from app.auth.passwords import hash_password
from app.db import make_engine
from app.main import create_app
from app.matching import doorbell
from app.matching import worker as match_worker
from app.matching.models import MatchRun
from app.settings import Settings
from tests.conftest import PASSWORD
from tests.matching import scenes
from tests.matching.test_worker_killed import _store, _wait_for, live  # noqa: F401


@pytest.fixture
def idle(monkeypatch) -> threading.Event:
    """Set once a match worker's thread waits, its queue empty; its next poll an hour away,
    so that only the doorbell can bring it in time."""
    monkeypatch.setattr(match_worker, "IDLE_SECONDS", 3600.0)
    waiting = threading.Event()
    real_wait = match_worker.Wake.wait

    def noted(wake, seen, timeout):
        waiting.set()
        return real_wait(wake, seen, timeout)

    monkeypatch.setattr(match_worker.Wake, "wait", noted)
    return waiting


def test_a_ring_reaches_every_open_bell_and_nothing_else(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    assert doorbell.ring(settings) == 0  # no worker has started here: nothing to ring
    first, second = doorbell.Bell(settings), doorbell.Bell(settings)
    try:
        folder = doorbell.folder(settings)
        dead = folder / "4242-dead"  # a pipe its worker no longer holds open
        os.mkfifo(dead, 0o600)
        stray = folder / "notes.txt"  # not a pipe: never written to, never removed
        stray.write_text("kept")
        elsewhere = folder.parent / "other-host"  # a data folder shared with another host:
        elsewhere.mkdir()  # its workers' pipes are not this host's to ring or to remove
        os.mkfifo(elsewhere / "77-theirs", 0o600)
        assert not first.wait(0) and not second.wait(0)
        assert doorbell.ring(settings) == 2
        assert doorbell.ring(settings) == 2  # rung twice before it was heard: heard once
        assert first.wait(0) and second.wait(0)
        assert not first.wait(0) and not second.wait(0)  # every ring so far was heard
        assert not dead.exists()
        assert stray.read_text() == "kept"
        assert (elsewhere / "77-theirs").exists()
    finally:
        first.close()
        second.close()
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]  # closed: no pipe left
    assert doorbell.ring(settings) == 0


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
def test_an_idle_worker_takes_an_upload_when_the_answer_rings_not_at_its_next_poll(
        live, idle):  # noqa: F811
    settings, factory, _ = live
    settings = settings.model_copy(update={"match_workers": 1, "audit_link_seconds": 0})
    with factory() as s:
        user = User(username="ringer", role="analyst", password_hash=hash_password(PASSWORD),
                    must_change_password=False)
        s.add(user)
        s.flush()
        _, key = apikeys.create(s, settings, SYSTEM, user, name="tests", days=1)
        s.commit()
    stop = threading.Event()
    worker = threading.Thread(target=match_worker.run, args=(settings, stop), daemon=True)
    worker.start()
    app = create_app(settings)
    try:
        _wait_for(idle.is_set, 120, "the worker idle, its queue empty")
        with TestClient(app) as client:
            r = client.post("/api/v1/images", headers={"Authorization": f"Bearer {key}"},
                            files={"files": ("x.jpg", scenes.jpeg(scenes.room(61)),
                                             "image/jpeg")})
            assert r.status_code == 201, r.text
            image_id = r.json()["images"][0]["image_id"]

            def stage_done() -> bool:
                with Session(app.state.engine) as s:
                    return s.get(MatchRun, image_id).second_stage_at is not None
            _wait_for(stage_done, 60, "the upload's second stage, taken when the bell rang")
            done = client.get(f"/api/v1/images/{image_id}/candidates",
                              headers={"Authorization": f"Bearer {key}"}).json()
            assert done["second_stage_done"] is True
    finally:
        stop.set()
        worker.join(60)
        app.state.match_engine.close()
        app.state.engine.dispose()
    assert not worker.is_alive()
    assert list(doorbell.folder(settings).iterdir()) == []  # the stopped worker's pipe is gone


@pytest.mark.parametrize("live", ["postgres"], indirect=True)
def test_on_postgresql_a_ring_from_another_host_reaches_the_worker(
        live, idle, tmp_path):  # noqa: F811
    settings, factory, index = live
    stop = threading.Event()
    worker = threading.Thread(target=match_worker.run, args=(settings, stop), daemon=True)
    worker.start()
    # a web process on another host: no pipe of this worker's in its own data folder
    elsewhere = settings.model_copy(update={"data_dir": tmp_path / "other-host"})
    db = make_engine(settings.database_url)
    try:
        _wait_for(idle.is_set, 120, "the worker idle, its queue empty")
        image_id = _store(settings, factory, index, scenes.jpeg(scenes.room(62)))
        assert doorbell.ring(elsewhere, db) == 0  # no pipe rung: only the NOTIFY reaches it

        def stage_done() -> bool:
            with factory() as s:
                return s.get(MatchRun, image_id).second_stage_at is not None
        _wait_for(stage_done, 60, "the second stage, taken when the NOTIFY came")
    finally:
        stop.set()
        worker.join(60)
        db.dispose()
    assert not worker.is_alive()


@pytest.mark.parametrize("live", ["postgres"], indirect=True)
def test_a_lost_listen_connection_is_opened_again_and_hears_the_next_ring(
        live, monkeypatch):  # noqa: F811
    settings, _, _ = live
    db = make_engine(settings.database_url)
    bell = doorbell.Bell(settings)
    try:
        assert not bell.wait(0.2)
        doorbell.ring(settings.model_copy(update={"data_dir": settings.data_dir / "x"}), db)
        assert bell.wait(10)  # the NOTIFY alone
        with db.connect() as conn:  # the database ends the worker's listening session
            ended = conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                f"current_database() AND query = 'LISTEN {doorbell.CHANNEL}'").scalars().all()
            conn.commit()
        assert ended == [True]
        deadline = time.monotonic() + 30
        while bell.wait(0.5):  # hears the end of the connection (in one read or two)
            assert time.monotonic() < deadline, "the ended connection is never let go"
        assert not bell.wait(0.2)  # let go: polled meanwhile, nothing heard
        monkeypatch.setattr(doorbell, "_LISTEN_RETRY_SECONDS", 0.0)
        assert not bell.wait(0.2)  # opened again, listening
        doorbell.ring(settings.model_copy(update={"data_dir": settings.data_dir / "x"}), db)
        assert bell.wait(10)
    finally:
        bell.close()
        db.dispose()


def _no_pipes_here(tmp_path) -> Settings:
    """A data folder where no pipe can be made: a file stands where the host's folder goes."""
    settings = Settings(data_dir=tmp_path / "data")
    blocked = doorbell.folder(settings)
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a folder")
    return settings


def test_without_a_pipe_the_bell_still_waits_and_closes(tmp_path):
    settings = _no_pipes_here(tmp_path)
    bell = doorbell.Bell(settings)
    try:
        assert bell.path is None
        assert doorbell.ring(settings) == 0
        assert not bell.wait(0.01)  # nothing to hear on SQLite: the poll alone
    finally:
        bell.close()
    assert doorbell.folder(settings).read_text() == "not a folder"


def test_without_a_pipe_a_worker_on_postgresql_still_hears_rings(tmp_path, postgres_url):
    settings = _no_pipes_here(tmp_path).model_copy(update={"database_url": postgres_url})
    bell = doorbell.Bell(settings)
    engine = make_engine(postgres_url)
    try:
        assert bell.path is None
        assert not bell.wait(0)  # LISTENing from here on
        doorbell.ring(settings, engine)
        assert bell.wait(10)
    finally:
        bell.close()
        engine.dispose()
