"""The body cap: 413 before the body is read (declared) or the moment it passes (streamed)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.evidence.limits import BodyTooLarge, UploadSizeLimit, body_limit, video_body_limit
from tests.conftest import page_csrf
from tests.evidence.conftest import assert_nothing_stored

MB = 1024 * 1024


def _run(middleware, scope, chunks):
    """Drive the ASGI app by hand; returns (status, messages sent, chunks the app pulled)."""
    pulled, sent = [], []

    async def receive():
        if len(pulled) < len(chunks):
            pulled.append(chunks[len(pulled)])
            return {"type": "http.request", "body": pulled[-1],
                    "more_body": len(pulled) < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    # a thread of its own: other tests (Playwright) may leave a loop running in this one
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, middleware(scope, receive, send)).result()
    return sent[0]["status"], sent, len(pulled)


async def _reads_everything(scope, receive, send):
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _must_not_run(scope, receive, send):
    raise AssertionError("the app ran although the declared length was over the cap")


def _scope(headers):
    return {"type": "http", "method": "POST", "path": "/api/v1/images", "headers": headers,
            "query_string": b"", "state": {}}


def test_declared_length_over_the_cap_is_refused_unread():
    mw = UploadSizeLimit(_must_not_run, max_body_bytes=10 * MB)
    status, sent, pulled = _run(mw, _scope([(b"content-length", str(50 * MB).encode())]),
                                [b"x" * 1024])
    assert status == 413 and pulled == 0
    assert b"at most 10 MB" in sent[1]["body"]


def test_streamed_body_is_cut_off_when_it_passes_the_cap():
    mw = UploadSizeLimit(_reads_everything, max_body_bytes=3 * MB)
    chunks = [b"x" * MB] * 30  # no content-length: chunked
    status, _, pulled = _run(mw, _scope([]), chunks)
    assert status == 413 and pulled == 4  # stopped at the first chunk over 3 MB


def test_bodies_under_the_cap_pass():
    mw = UploadSizeLimit(_reads_everything, max_body_bytes=3 * MB)
    status, _, pulled = _run(mw, _scope([]), [b"x" * MB] * 2)
    assert status == 200 and pulled == 2


def test_the_cap_is_the_upload_limit_plus_framing(settings):
    assert settings.max_upload_bytes < body_limit(settings) < settings.max_upload_bytes + MB


@pytest.fixture
def analyst(as_role):
    client, _ = as_role("analyst")
    client.headers["X-CSRF-Token"] = page_csrf(client, "/intake")
    return client


# The intake routes take a video beside photos: their body may be as large as one video
# (CELLWATCH_VIDEO_MAX_BYTES, 200 MB); every other route keeps the photo cap (20 MB).
LIBRARY = "/api/v1/cells/1/photos"  # refused before routing: the cell need not exist


@pytest.mark.parametrize(("path", "declared"), [("/api/v1/images", 201 * MB),
                                                ("/intake", 201 * MB), (LIBRARY, 21 * MB)])
def test_app_refuses_a_declared_oversize_body_with_a_small_real_one(analyst, session, settings,
                                                                    path, declared):
    r = analyst.post(path, content=b"--x--\r\n",
                     headers={"content-type": "multipart/form-data; boundary=x",
                              "content-length": str(declared), "accept": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["message"]
    assert_nothing_stored(session, settings)


def test_a_photo_over_20_mb_is_refused_on_the_intake_routes_too(analyst, session, settings):
    big = b"\xff\xd8\xff" + b"\x00" * (21 * MB)
    r = analyst.post("/intake", files=[("files", ("big.jpg", big, "image/jpeg"))])
    assert r.status_code == 413 and "big.jpg" in r.text
    assert "the limit is 20.0 MB per image" in r.text and "Nothing was stored" in r.text
    assert_nothing_stored(session, settings)


def test_app_refuses_a_real_body_over_20_mb_elsewhere(analyst, session, settings):
    big = b"\xff\xd8\xff" + b"\x00" * (21 * MB)
    r = analyst.post(LIBRARY, files=[("files", ("big.jpg", big, "image/jpeg"))])
    assert r.status_code == 413 and "at most 20 MB" in r.json()["message"]
    assert_nothing_stored(session, settings)


def test_app_cuts_off_a_streamed_body(analyst, session, settings):
    def chunks():
        yield b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.jpg\"\r\n\r\n"
        for _ in range(25):
            yield b"\x00" * MB

    r = analyst.post(LIBRARY, content=chunks(),
                     headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 413
    assert_nothing_stored(session, settings)


def test_the_intake_cap_is_one_video_plus_framing(settings):
    app = UploadSizeLimit(_must_not_run, max_body_bytes=body_limit(settings),
                          video_body_bytes=video_body_limit(settings))
    post = {"type": "http", "method": "POST", "headers": []}
    assert app._limit({**post, "path": "/api/v1/accounts"}) == video_body_limit(settings)
    assert app._limit({**post, "path": "/accounts/new"}) > 200 * MB
    assert app._limit({**post, "path": "/api/v1/cells/3/photos"}) == body_limit(settings)
    assert app._limit({**post, "method": "PUT", "path": "/intake"}) == body_limit(settings)


def test_too_large_is_an_http_exception_fastapi_reraises():
    from starlette.exceptions import HTTPException

    assert issubclass(BodyTooLarge, HTTPException)
