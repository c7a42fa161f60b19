"""What a client sees when a request's transaction loses a race or the code fails."""

import http.client
import socket
import threading
import time
from typing import Annotated

import psycopg.errors
import uvicorn
from fastapi import Depends, Form
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from app.audit.service import record
from app.auth.deps import PUBLIC
from app.db import SessionDep
from app.main import create_app
from app.settings import Settings
from tests.conftest import TEST_ACTOR


def _deadlock() -> OperationalError:
    return OperationalError("UPDATE …", {}, psycopg.errors.DeadlockDetected("deadlock detected"))


def test_a_lost_race_is_run_again_with_the_same_body(app, client):
    calls: list[str] = []

    # public: the client is not signed in, and only a public route reads a stranger's body
    @app.post("/api/v1/test-flaky", dependencies=[Depends(PUBLIC)])
    def flaky(db: SessionDep, note: Annotated[str, Form()]) -> dict[str, object]:
        calls.append(note)
        record(db, TEST_ACTOR, "test.flaky", details={"attempt": len(calls)})
        if len(calls) < 3:
            raise _deadlock()
        return {"attempts": len(calls)}

    r = client.post("/api/v1/test-flaky", data={"note": "hello"})
    assert r.status_code == 200 and r.json() == {"attempts": 3}
    assert calls == ["hello", "hello", "hello"]


def test_a_race_lost_every_time_is_a_503_with_retry_after(app, client):
    @app.post("/api/v1/test-always-loses")
    def always(db: SessionDep) -> dict[str, object]:
        raise _deadlock()

    r = client.post("/api/v1/test-always-loses")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "2"
    assert "not stored" in r.json()["message"]


def test_an_error_after_the_commit_says_the_change_was_saved(app, client):
    class Broken(JSONResponse):
        async def __call__(self, scope, receive, send):
            raise RuntimeError("cannot send")

    @app.post("/api/v1/test-saved-then-broken")
    def saved(db: SessionDep) -> JSONResponse:
        record(db, TEST_ACTOR, "test.saved")
        return Broken({"ok": True})

    r = client.post("/api/v1/test-saved-then-broken")
    assert r.status_code == 500
    assert "Your change was saved" in r.json()["message"]


def test_an_error_before_the_commit_says_nothing_was_changed(app, client):
    @app.post("/api/v1/test-fails")
    def fails(db: SessionDep) -> None:
        raise RuntimeError("bug")

    r = client.post("/api/v1/test-fails")
    assert r.status_code == 500 and "nothing was changed" in r.json()["message"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_connection_stays_usable_after_an_unhandled_error(tmp_path, sqlite_url):
    """A real server, one keep-alive connection: a 500, then the next request on it works."""
    application = create_app(Settings(data_dir=tmp_path, database_url=sqlite_url,
                                      audit_link_seconds=0))

    @application.get("/test-boom")
    def boom() -> None:
        raise RuntimeError("bug")

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port,
                                           log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/test-boom", headers={"Accept": "application/json"})
        first = conn.getresponse()
        first.read()
        assert first.status == 500
        assert first.getheader("connection", "").lower() != "close"
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        assert second.status == 200 and b"ok" in second.read()
        conn.close()
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_database_that_went_away_is_a_503_that_says_so(app, client):
    @app.get("/api/v1/test-db-away")
    def away() -> None:
        raise OperationalError("SELECT 1", {},
                               psycopg.OperationalError("connection failed: server closed"))

    r = client.get("/api/v1/test-db-away")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert "cannot reach its database" in r.json()["message"]


def test_a_wrong_method_names_every_method_the_address_takes(as_role):
    """GET and POST on one address are two routes: Allow must name both."""
    client, _ = as_role("supervisor")
    r = client.request("OPTIONS", "/api/v1/estate/establishments")
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}
    assert "does not take that method" in r.json()["message"]


def test_no_free_database_connection_is_a_503_not_a_500(tmp_path, sqlite_url):
    """Every connection of the pool held past its timeout: the request is told to try again."""
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text

    from app.db import make_session_factory

    application = create_app(Settings(data_dir=tmp_path, database_url=sqlite_url,
                                      audit_link_seconds=0))
    tiny = create_engine(sqlite_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    application.state.session_factory = make_session_factory(tiny)

    @application.get("/api/v1/test-pool")
    def pooled(db: SessionDep) -> dict[str, int]:
        return {"one": db.exec(text("SELECT 1")).one()[0]}  # type: ignore[call-overload]

    with TestClient(application, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/test-pool").json() == {"one": 1}
        with tiny.connect():  # the pool's one connection, held
            r = client.get("/api/v1/test-pool")
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert "not stored" in r.json()["message"]
    tiny.dispose()
