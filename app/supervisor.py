"""`cellwatch serve`'s match workers, kept running.

A match worker that exits while its server runs (a bug that stops it, the kernel's OOM killer,
a stray kill) is started again, so that second stages and videos do not wait for someone to
restart the whole server. Its claims are taken again when their leases lapse
(app/matching/queue.py), by it or by any other worker. A worker that keeps failing is started
again after a pause that doubles each time (up to LONGEST_PAUSE), so that a worker failing at
start-up does not spin; one that ran for STEADY_SECONDS before it ended starts at once again.

The workers are stopped with SIGTERM, each on its own: no multiprocessing Event is shared
with them, because its set() waits for every process waiting on it to wake, and one killed
while waiting (the OOM killer) would leave every later set() stuck.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

log = logging.getLogger("cellwatch.serve")

POLL_SECONDS = 0.5
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 60.0
STEADY_SECONDS = 300.0


@dataclass
class _Slot:
    process: BaseProcess
    started: float
    failures: int = 0  # exits in a row, each before STEADY_SECONDS
    restart_at: float | None = None  # set while it waits to be started again
    restarts: int = 0


@dataclass
class Supervisor:
    """Starts `count` processes made by `make(n)` and keeps them running until `close`.
    `pauses`: (first, longest) pause before starting a failed one again."""

    make: Callable[[int], BaseProcess]
    count: int
    pauses: tuple[float, float] = (FIRST_PAUSE, LONGEST_PAUSE)
    steady_seconds: float = STEADY_SECONDS
    slots: list[_Slot] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _closing: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        for n in range(self.count):
            self.slots.append(_Slot(self._start(n), time.monotonic()))
        if self.count:
            self._thread = threading.Thread(target=self._watch, name="match-supervisor",
                                            daemon=True)
            self._thread.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the processes (SIGTERM: each finishes or hands back its job), killing those
        still running after `timeout`."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for slot in self.slots:
            if slot.process.is_alive():
                slot.process.terminate()
        deadline = time.monotonic() + timeout
        for slot in self.slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(5)

    def _start(self, n: int) -> BaseProcess:
        process = self.make(n)
        process.start()
        return process

    def _watch(self) -> None:
        while not self._closing.wait(POLL_SECONDS):
            now = time.monotonic()
            for n, slot in enumerate(self.slots):
                if slot.restart_at is None and not slot.process.is_alive():
                    self._failed(n, slot, now)
                if slot.restart_at is not None and now >= slot.restart_at \
                        and not self._closing.is_set():
                    self._restart(n, slot, now)

    def _pause(self, failures: int) -> float:
        first, longest = self.pauses
        return min(longest, first * 2 ** (failures - 1))

    def _failed(self, n: int, slot: _Slot, now: float) -> None:
        ran = now - slot.started
        steady = ran >= self.steady_seconds
        slot.failures = 1 if steady else slot.failures + 1
        pause = 0.0 if steady else self._pause(slot.failures)
        slot.restart_at = now + pause
        log.error("match worker %d (pid %s) ended with exit code %s after %.0f s; starting it "
                  "again in %.0f s", n, slot.process.pid, slot.process.exitcode, ran, pause)

    def _restart(self, n: int, slot: _Slot, now: float) -> None:
        try:
            process = self._start(n)
        except OSError as exc:  # out of memory or of processes, for now: try again later
            slot.failures += 1
            slot.restart_at = now + self._pause(slot.failures)
            log.error("match worker %d could not be started (%s); trying again in %.0f s", n,
                      exc, slot.restart_at - now)
            return
        slot.process.close()
        slot.process, slot.started, slot.restart_at = process, now, None
        slot.restarts += 1
        log.warning("match worker %d started again (pid %s)", n, process.pid)
