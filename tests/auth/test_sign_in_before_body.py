"""Sign-in is checked before a request body is read: a stranger's 20 MB upload is answered
401 from its headers alone, while a signed-in caller's body is read (the server asks for it
with "100 Continue"). Raw sockets against a real uvicorn: the client sends the headers, then
waits for the answer before sending any of the body."""

import json
import socket

import pytest

from app.auth import apikeys
from tests.conftest import TEST_ACTOR, login
from tests.support.rawhttp import (
    CountingApp,
    read_all,
    read_head,
    read_response,
    request_head,
    served,
)

TWENTY_MB = 20 * 1024 * 1024
MULTIPART = "multipart/form-data; boundary=xyz"


@pytest.fixture
def counted(app):
    counting = CountingApp(app)
    with served(counting) as port:
        yield counting, port


def _ask(port: int, method: str, path: str, **headers: str) -> tuple[bytes, socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(request_head(method, path, headers))
    return read_head(sock), sock


def _status(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


def test_a_strangers_upload_is_refused_before_its_body_is_read(counted):
    counting, port = counted
    head, sock = _ask(port, "POST", "/api/v1/images", **{"Content-Type": MULTIPART,
                                                          "Content-Length": str(TWENTY_MB)})
    with sock:
        assert _status(head) == 401 and b"connection: close" in head.lower()
        answer = head + read_all(sock)  # the server closes: it never waits for the 20 MB
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["message"] == "Sign in to continue."
    assert counting.body_bytes == 0


def test_a_page_post_without_a_session_is_refused_before_its_body(counted):
    counting, port = counted
    head, sock = _ask(port, "POST", "/accounts/new", **{
        "Content-Type": MULTIPART, "Content-Length": str(TWENTY_MB), "Accept": "text/html",
        "Cookie": "cw_session=not-a-session"})
    with sock:
        assert _status(head) == 401
        assert "Sign in to continue." in (head + read_all(sock)).decode()
    assert counting.body_bytes == 0


def test_a_signed_in_callers_body_is_read(counted, make_user, session, settings, client):
    counting, port = counted
    user = make_user("analyst")
    _, key = apikeys.create(session, settings, TEST_ACTOR, user, name="scanner", days=5)
    session.commit()
    head, sock = _ask(port, "POST", "/api/v1/images", **{
        "Content-Type": MULTIPART, "Content-Length": "1000", "Expect": "100-continue",
        "Authorization": f"Bearer {key}"})
    sock.close()
    assert head.startswith(b"HTTP/1.1 100 ")  # the app went on to read the body
    login(client, make_user("analyst").username)
    cookie = client.cookies["cw_session"]
    head, sock = _ask(port, "POST", "/accounts/new", **{
        "Content-Type": MULTIPART, "Content-Length": "1000", "Expect": "100-continue",
        "Cookie": f"cw_session={cookie}"})
    sock.close()
    assert head.startswith(b"HTTP/1.1 100 ")


def test_a_revoked_key_is_refused_before_the_body(counted, make_user, session, settings):
    counting, port = counted
    user = make_user("analyst")
    row, key = apikeys.create(session, settings, TEST_ACTOR, user, name="old", days=5)
    apikeys.revoke(session, TEST_ACTOR, user, row.id)
    session.commit()
    head, sock = _ask(port, "POST", "/api/v1/images", **{
        "Content-Type": MULTIPART, "Content-Length": str(TWENTY_MB),
        "Authorization": f"Bearer {key}"})
    sock.close()
    assert _status(head) == 401 and counting.body_bytes == 0


def test_the_sign_in_form_takes_only_a_small_body(counted, client, make_user):
    counting, port = counted
    head, sock = _ask(port, "POST", "/login", **{
        "Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(TWENTY_MB)})
    with sock:
        assert _status(head) == 413
        assert "at most 64 KB" in (head + read_all(sock)).decode()
    assert counting.body_bytes == 0
    login(client, make_user("analyst").username)  # an ordinary sign-in still goes through


def test_a_chunked_body_to_the_sign_in_form_is_cut_off_at_the_cap(client):
    def chunks():
        for _ in range(100):
            yield b"username=" + b"a" * 10_000

    r = client.post("/login", content=chunks(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and "at most 64 KB" in r.text


def test_a_cross_site_post_with_a_live_session_is_refused_before_its_body(counted, client,
                                                                         make_user):
    counting, port = counted
    login(client, make_user("analyst").username)
    head, sock = _ask(port, "POST", "/accounts/new", **{
        "Content-Type": MULTIPART, "Content-Length": str(TWENTY_MB), "Accept": "text/html",
        "Sec-Fetch-Site": "cross-site", "Cookie": f"cw_session={client.cookies['cw_session']}"})
    with sock:
        assert _status(head) == 403
        assert "came from another site" in (head + read_all(sock)).decode()
    assert counting.body_bytes == 0


def test_a_key_revoked_just_after_the_gate_saw_it_is_still_refused_by_the_route(
        counted, make_user, session, settings):
    """The gate lets a key it found valid a moment ago through without a second lookup; the
    route still resolves it, so a key revoked meanwhile gets 401 and stores nothing."""
    counting, port = counted
    user = make_user("analyst")
    row, key = apikeys.create(session, settings, TEST_ACTOR, user, name="soon-gone", days=5)
    session.commit()
    head, sock = _ask(port, "POST", "/api/v1/images", **{
        "Content-Type": MULTIPART, "Content-Length": "1000", "Expect": "100-continue",
        "Authorization": f"Bearer {key}"})
    sock.close()
    assert head.startswith(b"HTTP/1.1 100 ")
    apikeys.revoke(session, TEST_ACTOR, user, row.id)
    session.commit()
    body = b"--xyz\r\nContent-Disposition: form-data; name=\"post_url\"\r\n\r\nx\r\n--xyz--\r\n"
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    with sock:
        sock.sendall(request_head("POST", "/api/v1/images", {
            "Content-Type": MULTIPART, "Content-Length": str(len(body)),
            "Authorization": f"Bearer {key}"}) + body)
        status, _ = read_response(sock)
    assert status == 401
    assert counting.body_bytes == len(body)  # read at the gate's word, then refused


def test_the_gates_memory_is_by_credential_short_and_bounded():
    from app.auth.gate import RecentlyValid

    recent = RecentlyValid(seconds=60, size=2)
    recent.remember("cwk_a")
    assert recent.fresh("cwk_a") and not recent.fresh("cwk_b")
    recent.remember("cwk_b")
    recent.remember("cwk_c")  # the oldest goes
    assert not recent.fresh("cwk_a") and recent.fresh("cwk_c")
    assert not RecentlyValid(seconds=0).fresh("cwk_a")
    expired = RecentlyValid(seconds=-1)
    expired.remember("cwk_a")
    assert not expired.fresh("cwk_a")
