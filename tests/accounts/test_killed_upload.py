"""An upload whose web worker is killed (SIGKILL) in the write window, its files written and
its transaction not committed: no record is left without its file, the next `jobs run`
removes every file it left, and its Idempotency-Key is free again (the retry is processed
afresh, never "still being processed" for ever). A refused upload sent with a key leaves no
key behind either: the retry gets the same refusal. Real `cellwatch serve` processes, on a
SQLite file and on PostgreSQL."""

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from sqlmodel import func, select

from app import migrations
from app.accounts.models import Account, IdempotencyKey
from app.auth import apikeys
from app.auth.models import User
from app.auth.passwords import hash_password
from app.db import make_engine, make_session_factory, unit_of_work
from app.evidence import storage
from app.evidence.models import Image
from app.settings import Settings
from tests.conftest import TEST_ACTOR
from tests.evidence.conftest import stored_files
from tests.matching import scenes
from tests.support.serve import start_serve

PAUSE = 5  # seconds at each point of the write window: the test kills the worker in one
QUIET = {"match_workers": "0", "audit_link_seconds": "0"}


@pytest.fixture(params=["sqlite", "postgres"])
def live(request, tmp_path):
    if request.param == "postgres":
        from tests.support.postgres import create_database

        url = create_database(request.getfixturevalue("pg_server"),
                              f"killed_up_{tmp_path.name[-12:].lower().replace('-', '_')}")
    else:
        url = f"sqlite:///{tmp_path}/killed.db"
    migrations.upgrade(url)
    engine = make_engine(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    settings.data_dir.mkdir()
    factory = make_session_factory(engine)
    with unit_of_work(factory) as s:
        user = User(username="analyst1", role="analyst", must_change_password=False,
                    password_hash=hash_password("a long enough password"))
        s.add(user)
        s.flush()
        _, key = apikeys.create(s, settings, TEST_ACTOR, user, name="intake", days=5)
    yield settings, factory, key
    engine.dispose()


def _send(port, api_key, idempotency_key, photo, account="@kept_in_cell"):
    return httpx.post(f"http://127.0.0.1:{port}/api/v1/accounts", timeout=120,
                      headers={"Authorization": f"Bearer {api_key}",
                               "Idempotency-Key": idempotency_key},
                      data={"account": account, "platform": "x"},
                      files=[("files", ("p.jpg", photo, "image/jpeg"))])


def _count(factory, model):
    with factory() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _serve(settings, log, **extra):
    return start_serve(settings.data_dir, log, database_url=settings.database_url,
                       **QUIET, **extra)


def test_a_worker_killed_mid_upload_leaves_nothing_the_sweep_keeps(live, tmp_path):
    settings, factory, api_key = live
    photo, damaged = scenes.jpeg(scenes.room(71)), b"\xff\xd8\xff\xe0 not really a JPEG"
    server, port = _serve(settings, tmp_path / "serve1.log", test_write_pause=str(PAUSE))
    try:
        refusals = [_send(port, api_key, "refused-key-1", damaged) for _ in range(2)]
        assert [r.status_code for r in refusals] == [422, 422]
        assert refusals[0].json() == refusals[1].json()
        outcome: list[object] = []

        def upload_then_die() -> None:
            try:
                outcome.append(_send(port, api_key, "killed-key-1", photo))
            except httpx.TransportError as exc:
                outcome.append(exc)

        upload = threading.Thread(target=upload_then_die, daemon=True)
        upload.start()
        # both sealed files written as temp files, neither renamed into place yet
        deadline = time.monotonic() + 120
        while [p.name.startswith(".tmp-") for p in stored_files(settings)] != [True, True]:
            assert time.monotonic() < deadline, "the upload never reached its write window"
            time.sleep(0.05)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(30)
        upload.join(30)
        assert isinstance(outcome[0], httpx.TransportError)  # no answer: the worker died
    finally:
        if server.poll() is None:
            server.kill()
    left = stored_files(settings)
    assert len(left) == 2  # two sealed temp files, with no row naming them
    assert _count(factory, Image) == _count(factory, Account) == 0
    assert _count(factory, IdempotencyKey) == 0  # neither key was kept without its answer

    env = {**os.environ, "CELLWATCH_DATABASE_URL": settings.database_url,
           "CELLWATCH_DATA_DIR": str(settings.data_dir), "CELLWATCH_MATCH_WORKERS": "0"}
    jobs = subprocess.run([sys.executable, "-c", "from app.cli import main; main()", "jobs",
                           "run"], env=env, capture_output=True, text=True, timeout=300)
    assert jobs.returncode == 0, jobs.stderr
    assert "images: 2 orphan files removed" in jobs.stdout
    assert stored_files(settings) == []

    server, port = _serve(settings, tmp_path / "serve2.log")
    try:
        again = _send(port, api_key, "killed-key-1", photo)
        assert again.status_code == 201 and "idempotent-replay" not in again.headers
        replay = _send(port, api_key, "killed-key-1", photo)
        assert replay.status_code == 201 and replay.headers["idempotent-replay"] == "true"
        assert replay.json() == again.json()
        refused = _send(port, api_key, "refused-key-1", damaged)
        assert refused.status_code == 422 and refused.json() == refusals[0].json()
    finally:
        server.terminate()
        server.wait(30)
    with factory() as s:  # every record has its files
        images = s.exec(select(Image)).all()
        assert len(images) == 1
        assert all(p.exists() for p in storage.paths_of(settings, images[0].storage_key))
    assert len(stored_files(settings)) == 2
