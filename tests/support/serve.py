"""`cellwatch serve` started as an operator starts it, in a process of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serve(data_dir: Path, log: Path, **settings: str) -> tuple[subprocess.Popen, int]:
    """Start it with CELLWATCH_<NAME> settings; returns once /healthz answers."""
    port = free_port()
    env = {**os.environ, "CELLWATCH_DATA_DIR": str(data_dir), "CELLWATCH_PORT": str(port),
           **{f"CELLWATCH_{name.upper()}": value for name, value in settings.items()}}
    process = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()",
                                "serve"], env=env, stdout=subprocess.DEVNULL,
                               stderr=log.open("w"))
    deadline = time.monotonic() + 120  # a loaded shared machine starts slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cellwatch serve ended: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process, port
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("cellwatch serve did not answer /healthz")
