"""A small daemon thread doing one piece of upkeep every so many seconds (freed memory handed
back, SQLite's planner statistics gathered)."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Calls `work` every `every` seconds on a daemon thread, from start() until stop()."""

    def __init__(self, name: str, every: float, work: Callable[[], object]) -> None:
        self.every, self.work = every, work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.work()
