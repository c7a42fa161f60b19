"""Many uploads at once on SQLite, against a real server: every one is answered by its first
attempt. (With the request thread pool smaller than the requests waiting for SQLite's one
write lock, the holder of the lock could not get a thread to serialise its answer before its
commit: every writer waited out the busy timeout and requests were run again.)"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from sqlmodel import Session

from app import migrations
from app.audit.service import SYSTEM
from app.auth import apikeys
from app.auth.models import User
from app.db import make_engine
from app.main import create_app
from app.settings import Settings
from tests.conftest import PASSWORD
from tests.evidence import samples
from tests.test_request_errors import _free_port

UPLOADS = 60  # more than the 40 threads a process had before


class _Retries(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "lost a race" in record.getMessage():
            self.seen.append(record.getMessage())


@pytest.fixture
def server(tmp_path):
    url = f"sqlite:///{tmp_path / 'burst.db'}"
    migrations.upgrade(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, match_workers=1)
    engine = make_engine(url)
    with Session(engine) as s:
        user = User(username="ana", role="analyst", password_hash=PASSWORD,
                    must_change_password=False)
        s.add(user)
        s.flush()
        key = apikeys.create(s, settings, SYSTEM, user, name="burst", days=1)[1]
        s.commit()
    engine.dispose()
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                        log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", key
    srv.should_exit = True
    thread.join(10)


def test_a_burst_of_uploads_on_sqlite_is_answered_without_running_requests_again(server):
    base, key = server
    retries = _Retries()
    logging.getLogger("cellwatch").addHandler(retries)
    gate = threading.Barrier(UPLOADS)

    def upload(n: int) -> int:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                          timeout=120) as client:
            client.get("/healthz")
            gate.wait()
            return client.post("/api/v1/images", files=[(
                "files", (f"{n}.jpg", samples.jpeg(seed=5000 + n), "image/jpeg"))]).status_code

    try:
        with ThreadPoolExecutor(UPLOADS) as pool:
            statuses = list(pool.map(upload, range(UPLOADS)))
    finally:
        logging.getLogger("cellwatch").removeHandler(retries)
    assert statuses == [201] * UPLOADS
    assert retries.seen == []
