"""Freed heap goes back to the system (glibc only; elsewhere there is nothing to trim)."""

import ctypes.util
import time

import pytest

from app.memory import Trimmer, release_freed_memory

GLIBC = ctypes.util.find_library("c") == "libc.so.6"


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's; this C library has none")
def test_holes_left_by_freed_blocks_are_handed_back() -> None:
    blocks = [bytearray(64 * 1024) for _ in range(400)]  # under the mmap threshold: on the heap
    kept = blocks[1::2]  # every other block stays, so the freed ones are holes, not the top
    del blocks
    assert release_freed_memory() is True
    assert len(kept) == 200


def test_the_trimmer_thread_stops_when_asked() -> None:
    trimmer = Trimmer(every=0.01)
    trimmer.start()
    time.sleep(0.05)
    started = time.monotonic()
    trimmer.stop()
    assert not trimmer._thread.is_alive()
    assert time.monotonic() - started < 5


def test_a_running_app_keeps_its_start_up_objects_out_of_full_collections(
        settings, connection) -> None:
    import gc

    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from tests.support.apps import app_for_test, release

    gc.unfreeze()
    on = settings.model_copy(update={"gc_freeze_at_start": True})
    application = app_for_test(on, lambda: Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False))
    try:
        with TestClient(application) as client:
            assert client.get("/healthz").status_code == 200
            # what start-up built (the app, its routes, the match index) is walked no more
            assert gc.get_freeze_count() > 10_000
        assert gc.get_freeze_count() == 0  # handed back when the app stops
    finally:
        release(application)
