"""`cellwatch serve` as an operator runs it: web server and match worker start and stop together."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app import migrations
from tests.test_request_errors import _free_port


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    except httpx.TransportError:
        return False


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _serve(tmp_path: Path, *, stderr: int = subprocess.DEVNULL
           ) -> tuple[subprocess.Popen[str], int]:
    """`cellwatch serve` with one match worker on a new SQLite file, as an operator runs it."""
    migrations.upgrade(f"sqlite:///{tmp_path}/cellwatch.db")
    port = _free_port()
    env = {**os.environ, "CELLWATCH_DATA_DIR": str(tmp_path), "CELLWATCH_PORT": str(port),
           "CELLWATCH_MATCH_WORKERS": "1"}
    return subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", "serve"],
                            env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True), port


def _workers(server: int) -> list[int]:
    """The server's match workers still running (not multiprocessing's resource tracker)."""
    return [pid for pid in _children(server) if _alive(pid)
            and "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_serve_starts_a_match_worker_that_never_outlives_it(tmp_path, how):
    server, port = _serve(tmp_path)
    try:
        # generous waits, not speed checks: a loaded shared machine starts slowly
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        def workers_now() -> list[int]:
            return _workers(server.pid)

        deadline = time.monotonic() + 60
        while not workers_now() and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = workers_now()
        assert len(workers) == 1
        deadline = time.monotonic() + 60
        while _nice(workers[0]) == 0 and time.monotonic() < deadline:  # still starting up
            time.sleep(0.2)
        assert _nice(workers[0]) > 0  # it gives way to the web server
        server.send_signal(how)
        server.wait(60)
        deadline = time.monotonic() + 60
        while _alive(workers[0]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(workers[0])
    finally:
        if server.poll() is None:
            server.kill()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_serve_starts_a_match_worker_again_when_it_dies(tmp_path, how):
    server, port = _serve(tmp_path, stderr=subprocess.PIPE)

    def workers_now() -> list[int]:
        return _workers(server.pid)

    try:
        deadline = time.monotonic() + 120  # generous: a loaded shared machine starts slowly
        while not _healthy(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        while len(workers_now()) != 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        [first] = workers_now()
        os.kill(first, signal.SIGKILL)  # the OOM killer's way
        deadline = time.monotonic() + 120
        while workers_now() in ([], [first]) and time.monotonic() < deadline:
            time.sleep(0.2)
        [second] = workers_now()
        assert second != first
        assert _healthy(port)
        server.send_signal(how)  # the new worker never outlives its server either
        _, err = server.communicate(timeout=60)
        assert "ERROR:cellwatch.serve:match worker 0 (pid" in err  # what an operator greps
        assert "ended with exit code -9" in err and "started again" in err
        deadline = time.monotonic() + 60
        while _alive(second) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(second)
    finally:
        if server.poll() is None:
            server.kill()
