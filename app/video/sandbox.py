"""Running a decoding job in a child process (`python -m app.video.decode`), so that a hostile
file can neither stall nor crash the caller: the child limits its own memory, CPU time and
output (setrlimit) and is killed at the wall-time limit. The caller always gets the child's
result or a Refusal saying why there is none (timeout, memory, damaged, crashed).

A subprocess, not multiprocessing: a fresh interpreter that imports only the video code
(not the web app, half a second more), and no fork of a threaded server. One child is kept
ready for the next job (KEEP_SPARE), its imports done, waiting for the job on its input.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import app
from app.video.caps import Caps, Limits
from app.video.refusal import Refusal
from app.video.sniff import Sniffed

log = logging.getLogger("cellwatch.video")
ROOT = Path(app.__file__).resolve().parent.parent
# Each FFmpeg thread would otherwise get its own malloc arena (64 MB of address space each),
# and numpy's BLAS its own thread pool: both count against the child's address-space limit.
CHILD_ENV = {"MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
             "LANG": "C.UTF-8"}
# The child sees none of the server's settings (master key, database address): only these.
PASSED_ON = ("PATH", "PYTHONPATH", "TMPDIR")
# A spare child is started once a job is done: its interpreter and FFmpeg are loaded (about
# 0.2 s) while it waits, so the next job starts at once. It reads nothing but its job, and
# limits itself before it opens the job's file; it leaves when its parent goes (end of input).
KEEP_SPARE = True
_spare: subprocess.Popen[bytes] | None = None
_spare_lock = threading.Lock()


def run_job(task: str, folder: Path, source: Path, sniffed: Sniffed, caps: Caps,
            limits: Limits, filename: str, *, niceness: int = 0) -> dict:
    """Run one job on `source` with `folder` as the child's only output place
    (`niceness`: the child lowers its own CPU priority by this much first)."""
    job = {"task": task, "folder": str(folder), "source": str(source), "filename": filename,
           "sniffed": {"kind": sniffed.kind, "container": sniffed.container},
           "caps": caps.to_dict(), "limits": limits.to_dict(), "nice": niceness}
    wall = limits.probe_seconds if task == "probe" else limits.wall_seconds
    child = _take_child()
    try:
        child.communicate(json.dumps(job).encode(), timeout=wall)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        what = "read" if task == "probe" else "decode"
        raise Refusal(f"“{filename}” took longer than {wall:g} s to {what} and was stopped.",
                      reason="timeout") from None
    finally:
        _keep_spare()
    result_file = folder / "result.json"
    result = json.loads(result_file.read_text()) if result_file.exists() else None
    if result is None:
        raise _died(child.returncode, filename, limits)
    if "refused" in result:
        raise Refusal(result["refused"], reason=result["reason"], problems=result["problems"])
    if "failed" in result:
        raise _failed(result, filename, limits)
    return result


def _start_child() -> subprocess.Popen[bytes]:
    env = {**{k: os.environ[k] for k in PASSED_ON if k in os.environ}, **CHILD_ENV}
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-m", "app.video.decode", "--warm"], stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=env)


def _take_child() -> subprocess.Popen[bytes]:
    """The spare child if one waits (and is alive), else a new one."""
    global _spare
    with _spare_lock:
        child, _spare = _spare, None
    if child is not None and child.poll() is None:
        return child
    return _start_child()


def _keep_spare() -> None:
    """Start the next job's child now that this one is done: it loads the interpreter and
    FFmpeg while nothing waits for it."""
    global _spare
    if not KEEP_SPARE:
        return
    with _spare_lock:
        if _spare is None or _spare.poll() is not None:
            _spare = _start_child()


def _close_spare() -> None:
    """At exit: the spare reads the end of its input and leaves."""
    with _spare_lock:
        if _spare is not None and _spare.poll() is None:
            try:
                _spare.communicate(b"", timeout=10)
            except subprocess.TimeoutExpired:
                _spare.kill()


atexit.register(_close_spare)


def _died(code: int, filename: str, limits: Limits) -> Refusal:
    if code == -signal.SIGXCPU:
        return Refusal(f"“{filename}” used more than its CPU time allowance to decode and "
                       "was stopped.", reason="timeout")
    if code == -signal.SIGXFSZ:
        return Refusal(f"“{filename}” decodes to more than "
                       f"{limits.output_bytes // (1024 * 1024)} MB of frames; it was stopped.",
                       reason="memory")
    return Refusal(f"“{filename}” made the video decoder fail (exit {code}); it may be "
                   "damaged or built to attack decoders. Nothing was kept.", reason="crashed")


def _failed(result: dict, filename: str, limits: Limits) -> Refusal:
    if result["failed"] == "memory":
        log.warning("video decoder out of memory on %s: %s", filename, result.get("detail", ""))
        return Refusal(f"“{filename}” needs more than {limits.memory_bytes // (1024 * 1024)} "
                       "MB of memory to decode; it was stopped.", reason="memory")
    if result["failed"] == "damaged":
        return Refusal(f"“{filename}” is damaged or incomplete: its video could not be "
                       "decoded.", reason="damaged")
    if result["failed"] == "empty":
        return Refusal(f"“{filename}” gave no picture: it is damaged, or needs more than "
                       f"{limits.memory_bytes // (1024 * 1024)} MB of memory to decode.",
                       reason="damaged")
    log.warning("video decoder failed on %s: %s", filename, result.get("detail", ""))
    return Refusal(f"“{filename}” could not be decoded: the decoder stopped with an internal "
                   "error. Nothing was kept.", reason="crashed")
