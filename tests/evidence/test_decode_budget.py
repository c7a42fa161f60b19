"""Decoding budgets: a picture or a submission that would take too much memory to decode is
refused before it is decoded (413, nothing stored), and a process decodes at most its budget
at once: others wait their turn, and past the wait a clear 503 (nothing stored)."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image as PILImage

from app.evidence import budget
from app.settings import Settings
from tests.conftest import page_csrf
from tests.evidence.conftest import assert_nothing_stored

MB = 2**20


@pytest.fixture
def settings(tmp_path, db_url):
    return Settings(data_dir=tmp_path / "data", database_url=db_url, audit_link_seconds=0,
                    match_workers=0, max_decode_bytes_per_file=4 * MB,
                    max_decode_bytes_per_request=6 * MB)


def _png(side: int, mode: str = "RGB", seed: int = 0) -> bytes:
    out = io.BytesIO()
    PILImage.new(mode, (side, side), (seed, 80, 160, 255)[:len(mode)]).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def analyst(as_role):
    client, _ = as_role("analyst")
    client.headers["X-CSRF-Token"] = page_csrf(client, "/intake")
    return client


def test_a_picture_too_large_to_decode_is_refused_before_decoding(analyst, session, settings):
    # 1,200 x 1,200 RGBA: 5.5 MB decoded, over the 4 MB per image
    r = analyst.post("/api/v1/images", files=[("files", ("big.png", _png(1200, "RGBA"),
                                                         "image/png"))])
    assert r.status_code == 413, r.text
    assert "would take 5 MB of memory to decode" in r.text and "4 MB per image" in r.text
    assert_nothing_stored(session, settings)


def test_a_submission_too_large_to_decode_is_refused_whole(analyst, session, settings):
    # two of 1,000 x 1,000 RGB: 2.9 MB each, 5.7 MB together; one of 4 MB is over 6 MB
    files = [("files", (f"p{n}.png", _png(1000, seed=n), "image/png")) for n in range(3)]
    r = analyst.post("/api/v1/images", files=files)
    assert r.status_code == 413, r.text
    assert "These 3 images would take 9 MB" in r.text and "smaller batches" in r.text
    assert_nothing_stored(session, settings)
    assert analyst.post("/api/v1/images", files=files[:2]).status_code == 201


def test_the_process_budget_makes_decodes_wait_their_turn():
    pot = budget.Budget(100)
    order: list[str] = []
    with pot.hold(80, wait_seconds=5):
        waiting = threading.Thread(target=lambda: _hold(pot, 50, order))
        waiting.start()
        time.sleep(0.2)
        order.append("first done")
    waiting.join()
    assert order == ["first done", "second ran"]
    with (pot.hold(100, wait_seconds=1), pytest.raises(budget.Busy) as refused,
          pot.hold(1, wait_seconds=0.05)):
        pass
    assert refused.value.status_code == 503 and refused.value.headers == {"Retry-After": "30"}
    with pot.hold(10**9, wait_seconds=1):  # larger than the whole budget: runs alone
        assert pot.free == 0


def _hold(pot: budget.Budget, size: int, order: list[str]) -> None:
    with pot.hold(size, wait_seconds=5):
        order.append("second ran")


@pytest.mark.parametrize(("mode", "expected"), [
    ("RGB", 3), ("RGBA", 4), ("L", 3), ("P", 3), ("I;16", 3), ("I", 4), ("CMYK", 4)])
def test_bytes_per_pixel(mode, expected):
    assert budget.bytes_per_pixel(mode) == expected


def test_work_mapped_on_the_decode_threads_runs_on_them_in_order_and_fails_whole(tmp_path):
    conf = Settings(data_dir=tmp_path, decode_threads=2)
    both = threading.Barrier(2, timeout=10)

    def work(k: int) -> tuple[int, str]:
        if k < 2:
            both.wait()  # the first two run at once: both threads are used
        return k * k, threading.current_thread().name

    got = budget.map_on_decode_threads(conf, work, range(5))
    assert [k for k, _ in got] == [0, 1, 4, 9, 16]
    assert all(name.startswith("decode") for _, name in got)

    def fails(k: int) -> int:
        if k == 1:
            raise ValueError("frame 1 is damaged")
        return k

    with pytest.raises(ValueError, match="frame 1 is damaged"):
        budget.map_on_decode_threads(conf, fails, range(3))
