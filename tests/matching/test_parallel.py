"""The second stage's two threads (app/matching/parallel.py)."""

import os
import select
import signal
import threading

from app.matching import parallel


def test_results_come_back_in_order_from_both_threads(monkeypatch):
    monkeypatch.setattr(parallel, "THREADS", 2)  # as on any host of two cores or more
    seen: set[str] = set()
    gate = threading.Barrier(2, timeout=10)

    def work(n: int) -> int:
        if n < 2:  # the first two wait for each other: they run side by side
            gate.wait()
        seen.add(threading.current_thread().name)
        return n * n

    assert parallel.map_all(work, range(10)) == [n * n for n in range(10)]
    assert len(seen) == 2


def test_one_item_runs_here_and_a_started_task_gives_its_result_or_its_error(monkeypatch):
    monkeypatch.setattr(parallel, "THREADS", 2)
    assert parallel.map_all(lambda _: threading.current_thread().name, [1]) == [
        threading.current_thread().name]
    assert parallel.start(lambda: 6 * 7).result(timeout=10) == 42
    failed = parallel.start(lambda: 1 / 0)
    try:
        failed.result(timeout=10)
    except ZeroDivisionError:
        pass
    else:
        raise AssertionError("the task's error was lost")


def test_a_forked_process_makes_its_own_pool(monkeypatch):
    monkeypatch.setattr(parallel, "THREADS", 2)
    parallel.map_all(abs, [1, 2])  # this process's pool exists
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's threads are not here
        ok = parallel.map_all(abs, [-1, -2, -3]) == [1, 2, 3]
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    answered, _, _ = select.select([read], [], [], 30)
    if not answered:  # stuck on the parent's pool, whose threads it does not have
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert answered and os.read(read, 1) == b"1"


def test_on_one_core_everything_runs_in_the_callers_thread(monkeypatch):
    monkeypatch.setattr(parallel, "THREADS", 1)
    here = threading.current_thread().name
    assert parallel.map_all(lambda _: threading.current_thread().name, range(4)) == [here] * 4
    assert parallel.start(lambda: threading.current_thread().name).result() == here
    failed = parallel.start(lambda: 1 / 0)
    assert isinstance(failed.exception(), ZeroDivisionError)
