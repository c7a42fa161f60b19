"""`cellwatch serve` drops what a slow or silent client holds: a connection that never sends a
whole request head, a body that stalls or trickles in; and it answers 503 past its connection
limit. Against a real server started as an operator starts it, with raw sockets. The socket
timeouts below only stop a broken server from hanging the test; they are not speed checks."""

import socket
import time

import httpx
import pytest

from app import migrations
from tests.support.rawhttp import read_all, read_response, request_head
from tests.support.serve import start_serve

LIMIT = 4
SETTINGS = {"SERVER_HEADER_TIMEOUT_SECONDS": "1", "SERVER_BODY_IDLE_SECONDS": "1",
            "SERVER_BODY_MIN_RATE": "1000", "SERVER_MAX_CONNECTIONS": str(LIMIT),
            "SERVER_MAX_HEADER_BYTES": "4096", "MATCH_WORKERS": "0", "AUDIT_LINK_SECONDS": "0"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("slow")
    migrations.upgrade(f"sqlite:///{folder}/cellwatch.db")
    process, port = start_serve(folder, folder / "serve.log", **SETTINGS)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(30)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=60)


def test_a_connection_that_sends_nothing_is_closed(server):
    with _connect(server) as sock:
        assert sock.recv(1024) == b""  # closed by the server, not by our timeout


def test_half_a_request_head_is_not_waited_for(server):
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        for _ in range(3):  # a byte now and then does not keep it open
            time.sleep(0.4)
            try:
                sock.sendall(b"a")
            except OSError:
                break
        assert read_all(sock) == b""


def _login_head(length: int) -> bytes:
    return request_head("POST", "/login", {"Content-Type": "application/x-www-form-urlencoded",
                                           "Content-Length": str(length)})


def test_a_body_that_stalls_is_answered_408_and_dropped(server):
    with _connect(server) as sock:
        sock.sendall(_login_head(1000) + b"username=a")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"too slowly" in answer


def test_a_body_that_trickles_in_is_answered_408_and_dropped(server):
    with _connect(server) as sock:
        sock.sendall(_login_head(1000))
        answer = b""
        for _ in range(100):  # 5 bytes a second, each well within the stall timeout
            try:
                sock.sendall(b"x")
            except OSError:
                break
            time.sleep(0.2)
            sock.settimeout(0.01)
            try:
                answer += sock.recv(65536)
            except TimeoutError:
                continue
            finally:
                sock.settimeout(60)
            if answer:
                break
        answer += read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_kept_alive_connection_outlives_the_head_deadline(server):
    with _connect(server) as sock:
        ask = request_head("GET", "/healthz", {})
        sock.sendall(ask)
        assert read_response(sock)[0] == 200
        time.sleep(2.5)  # longer than the head deadline: idle between requests is keep-alive
        sock.sendall(ask)
        assert read_response(sock)[0] == 200


def test_past_the_connection_limit_the_answer_is_503(server):
    held = []
    try:
        for _ in range(LIMIT - 1):  # kept-alive connections count until they close
            sock = _connect(server)
            sock.sendall(request_head("GET", "/healthz", {}))
            assert read_response(sock)[0] == 200
            held.append(sock)
        r = httpx.get(f"http://127.0.0.1:{server}/healthz", timeout=30)
        assert r.status_code == 503
        held.pop().close()
        deadline = time.monotonic() + 30
        while (r := httpx.get(f"http://127.0.0.1:{server}/healthz", timeout=30)).status_code \
                == 503 and time.monotonic() < deadline:
            time.sleep(0.1)  # the server notices the close
        assert r.status_code == 200
    finally:
        for sock in held:
            sock.close()


def test_a_request_head_growing_past_the_size_cap_is_refused(server):
    with _connect(server) as sock:  # 8 KB of head (uvicorn's own cap is 16) and no end to it
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 8_000)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400 ")  # over the 4 KB set: refused, and closed
