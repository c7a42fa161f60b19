"""Two threads for the parts of one second stage that can run side by side.

A match worker's second stage is mostly faiss's descriptor search, OpenCV's matching and
homographies and SIFT, all of which let go of Python's lock while they work: on the 2 cores a
worker is sized for, splitting them over two threads shortens one stage (its answer comes
sooner) without OpenMP's threads, which spin while they wait and starved the web workers
beside them (app/matching/ann.py). Never nested: a task given to the pool gives it nothing.
Not for Python-heavy work: verifying the short list's pairs side by side (ORB matching, then
numpy and Python per pair) made a stage slower, the two threads taking Python's lock in turn.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

# one core for this process: everything runs in the caller's thread
THREADS = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
              else os.cpu_count() or 1)
T = TypeVar("T")
R = TypeVar("R")

_made: tuple[int, ThreadPoolExecutor] | None = None
_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """This process's pool (made on first use: a process started by fork makes its own)."""
    global _made
    with _lock:
        if _made is None or _made[0] != os.getpid():
            _made = (os.getpid(), ThreadPoolExecutor(THREADS, thread_name_prefix="stage"))
        return _made[1]


def map_all(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """[fn(item) for item in items], the items shared among the pool's threads, in order."""
    items = list(items)
    if len(items) < 2 or THREADS < 2:
        return [fn(item) for item in items]
    return list(_pool().map(fn, items))


def start(fn: Callable[[], R]) -> Future[R]:
    """fn() begun on the pool (on one core: run here); its result is the future's."""
    if THREADS < 2:
        done: Future[R] = Future()
        try:
            done.set_result(fn())
        except Exception as exc:  # noqa: BLE001 - given back by result(), as the pool does
            done.set_exception(exc)
        return done
    return _pool().submit(fn)
