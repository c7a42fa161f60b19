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
