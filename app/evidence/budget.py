"""How much decoding a process does at once, so that large pictures cannot exhaust memory.

A picture's decoded size is known from its header before it is decoded: width x height x
bytes per pixel (at least 3: every decode makes an RGB copy). Three limits, from settings:
- per file: a picture whose decoded size is over `max_decode_bytes_per_file` is refused;
- per request: a submission whose pictures add up to more than
  `max_decode_bytes_per_request` is refused before any of them is decoded;
- per process: decodes hold their working memory (WORKING_FACTOR x their size) from a shared
  budget (`decode_budget_bytes`) while they run, and wait for it (up to
  `decode_wait_seconds`, then 503 "busy, try again"). A picture larger than the whole budget
  waits until it can run alone.
Decoding itself runs on a few dedicated threads per process (`decode_threads`): the memory
allocator keeps memory per thread, so pictures decoded on any of the server's many request
threads would each leave their own high-water mark (8 uploads at once took the web process
to 1.35 GB with decodes one at a time, but on 8 threads; see bench/decode_memory.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import TypeVar

from PIL import Image

from app.errors import AppError, PayloadTooLarge
from app.settings import Settings


class Busy(AppError):
    status_code = 503
    title = "Busy"


def bytes_per_pixel(mode: str) -> int:
    """Decoded bytes per pixel of a Pillow mode, at least the RGB copy's 3."""
    try:
        bands = Image.getmodebands(mode)
    except (KeyError, ValueError):
        bands = 4
    wide = 4 if mode in ("I", "F") else 2 if mode.startswith("I;16") else 1
    return max(3, bands * wide)


def decoded_size(width: int, height: int, mode: str) -> int:
    return width * height * bytes_per_pixel(mode)


# Decoding a picture and deriving from it (RGB copy, grey working copy, resized copies) peaks
# at about 3 times its decoded size: a 7,000 x 7,000 PNG (147 MB decoded) took the web
# process 460 MB higher (bench/decode_memory.py --files 1). The process budget counts that.
WORKING_FACTOR = 3


def working_memory(size: int) -> int:
    return size * WORKING_FACTOR


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


def check_file(settings: Settings, filename: str, size: int) -> None:
    if size > settings.max_decode_bytes_per_file:
        raise PayloadTooLarge(f"“{filename}” would take {_mb(size)} of memory to decode; the "
                              f"limit is {_mb(settings.max_decode_bytes_per_file)} per image.")


def check_request(settings: Settings, sizes: list[int]) -> None:
    if sum(sizes) > settings.max_decode_bytes_per_request:
        raise PayloadTooLarge(
            f"These {len(sizes)} images would take {_mb(sum(sizes))} of memory to decode; "
            f"the limit is {_mb(settings.max_decode_bytes_per_request)} per submission. "
            "Send them in smaller batches.")


class Budget:
    def __init__(self, total: int) -> None:
        self.total, self.free = total, total
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, size: int, wait_seconds: float) -> Iterator[None]:
        need = min(size, self.total)
        with self._changed:
            if not self._changed.wait_for(lambda: self.free >= need, timeout=wait_seconds):
                raise Busy("The server is decoding other large images; nothing was stored. "
                           "Try again in a minute.", headers={"Retry-After": "30"})
            self.free -= need
        try:
            yield
        finally:
            with self._changed:
                self.free += need
                self._changed.notify_all()


_budgets: dict[int, Budget] = {}
_threads: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()
T = TypeVar("T")
A = TypeVar("A")


def process_budget(settings: Settings) -> Budget:
    with _lock:
        return _budgets.setdefault(settings.decode_budget_bytes,
                                   Budget(settings.decode_budget_bytes))


def _pool(settings: Settings) -> ThreadPoolExecutor:
    with _lock:
        pool = _threads.get(settings.decode_threads)
        if pool is None:
            pool = _threads[settings.decode_threads] = ThreadPoolExecutor(
                settings.decode_threads, thread_name_prefix="decode")
    return pool


def on_decode_thread(settings: Settings, work: Callable[[], T]) -> T:
    """Run `work` on one of the process's decode threads and wait for it."""
    return _pool(settings).submit(work).result()


def map_on_decode_threads(settings: Settings, work: Callable[[A], T],
                          items: Iterable[A]) -> list[T]:
    """`work` of each item on the process's decode threads at once (Pillow, zlib and OpenCV
    let go of the GIL: a match worker's frames use every decode thread), results in order;
    the first failure is raised once all have ended."""
    futures = [_pool(settings).submit(work, item) for item in items]
    wait(futures)
    return [f.result() for f in futures]
