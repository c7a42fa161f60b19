"""Running a decoding job in a child process (`python -m app.video.decode`), so that a hostile
file can neither stall nor crash the caller: the child limits its own memory, CPU time and
output (setrlimit) and is killed at the wall-time limit. The caller always gets the child's
result or a Refusal saying why there is none (timeout, memory, damaged, crashed).

A subprocess, not multiprocessing: a fresh interpreter that imports only the video code
(not the web app, half a second more), and no fork of a threaded server.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
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


def run_job(task: str, folder: Path, source: Path, sniffed: Sniffed, caps: Caps,
            limits: Limits, filename: str, *, with_preview: bool = False) -> dict:
    """Run one job on `source` with `folder` as the child's only output place
    (`with_preview`: a "sample" job writes the preview too, from the same decode)."""
    job = {"task": task, "folder": str(folder), "source": str(source), "filename": filename,
           "sniffed": {"kind": sniffed.kind, "container": sniffed.container},
           "caps": caps.to_dict(), "limits": limits.to_dict(), "preview": with_preview}
    env = {**{k: os.environ[k] for k in PASSED_ON if k in os.environ}, **CHILD_ENV}
    wall = limits.probe_seconds if task == "probe" else limits.wall_seconds
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "app.video.decode"], input=json.dumps(job).encode(),
            capture_output=True, timeout=wall, cwd=ROOT, env=env, check=False)
    except subprocess.TimeoutExpired:
        what = "read" if task == "probe" else "decode"
        raise Refusal(f"“{filename}” took longer than {wall:g} s to {what} and was stopped.",
                      reason="timeout") from None
    result_file = folder / "result.json"
    result = json.loads(result_file.read_text()) if result_file.exists() else None
    if result is None:
        raise _died(done.returncode, filename, limits)
    if "refused" in result:
        raise Refusal(result["refused"], reason=result["reason"], problems=result["problems"])
    if "failed" in result:
        raise _failed(result, filename, limits)
    return result


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
