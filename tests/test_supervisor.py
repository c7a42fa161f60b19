"""The supervisor that keeps `cellwatch serve`'s match workers running (app/supervisor.py)."""

import multiprocessing
import signal
import threading
import time
from pathlib import Path

from app.supervisor import Supervisor

CONTEXT = multiprocessing.get_context("spawn")  # as serve starts its match workers


def _fails_at_once() -> None:
    raise SystemExit(3)


def _runs_until_stopped() -> None:
    """As a match worker does: SIGTERM tells it to stop, and it ends cleanly."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait(60)


def _ignores_sigterm(ready: str) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    Path(ready).write_text("ready")
    time.sleep(60)


def _wait_for(check, seconds: float = 60.0) -> bool:  # noqa: ANN001
    # a generous wait, not a speed check: a loaded shared machine starts processes slowly
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_a_worker_that_ends_is_started_again_after_pauses_that_grow(caplog):
    started: list[float] = []

    def make(n: int):  # noqa: ANN202
        started.append(time.monotonic())
        return CONTEXT.Process(target=_fails_at_once, daemon=True, name=f"failing-{n}")

    supervisor = Supervisor(make, 1, pauses=(0.2, 0.8))
    supervisor.start()
    try:
        assert _wait_for(lambda: supervisor.slots[0].restarts >= 4)
    finally:
        supervisor.close(10)
    gaps = [b - a for a, b in zip(started, started[1:], strict=False)]
    # each gap is the process's own run plus the pause: 0.2, 0.4, then 0.8 at most
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8
    assert supervisor.slots[0].failures >= 4
    said = [r.getMessage() for r in caplog.records if r.name == "cellwatch.serve"]
    assert any("ended with exit code 3" in m for m in said)
    assert any("started again" in m for m in said)


def test_a_worker_that_keeps_running_is_left_alone_and_stopped_at_close():
    supervisor = Supervisor(lambda n: CONTEXT.Process(target=_runs_until_stopped, daemon=True),
                            2)
    supervisor.start()
    processes = [slot.process for slot in supervisor.slots]
    try:
        assert _wait_for(lambda: all(p.is_alive() for p in processes))
        time.sleep(1.5)  # three of the supervisor's looks
        assert [slot.restarts for slot in supervisor.slots] == [0, 0]
    finally:
        supervisor.close(10)
    assert not any(p.is_alive() for p in processes)
    assert [p.exitcode for p in processes] == [0, 0]  # each stopped cleanly on SIGTERM


def test_a_worker_that_does_not_stop_is_killed_at_close(tmp_path):
    ready = tmp_path / "ready"
    supervisor = Supervisor(lambda n: CONTEXT.Process(target=_ignores_sigterm,
                                                      args=(str(ready),), daemon=True), 1)
    supervisor.start()
    process = supervisor.slots[0].process
    assert _wait_for(ready.exists)  # its SIGTERM handler is set
    supervisor.close(timeout=1.0)
    assert not process.is_alive() and process.exitcode == -signal.SIGKILL


def test_no_worker_is_started_again_once_the_server_stops():
    supervisor = Supervisor(lambda n: CONTEXT.Process(target=_fails_at_once, daemon=True), 1,
                            pauses=(0.5, 0.5))
    supervisor.start()
    assert _wait_for(lambda: supervisor.slots[0].restart_at is not None)
    supervisor.close(10)
    time.sleep(1.0)
    assert supervisor.slots[0].restarts == 0
    assert not supervisor.slots[0].process.is_alive()


def test_a_worker_that_cannot_be_started_again_is_tried_again_later(caplog):
    made = {"n": 0}

    def make(n: int):  # noqa: ANN202
        made["n"] += 1
        if made["n"] == 2:  # the first restart: the host is out of processes for now
            raise OSError("Resource temporarily unavailable")
        return CONTEXT.Process(target=_fails_at_once if made["n"] == 1 else _runs_until_stopped,
                               daemon=True)

    supervisor = Supervisor(make, 1, pauses=(0.1, 0.2))
    supervisor.start()
    try:
        assert _wait_for(lambda: supervisor.slots[0].restarts == 1)
        assert supervisor.slots[0].process.is_alive()
    finally:
        supervisor.close(10)
    assert made["n"] == 3
    assert any("could not be started (Resource temporarily unavailable)" in r.getMessage()
               for r in caplog.records)
