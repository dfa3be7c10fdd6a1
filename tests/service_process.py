"""`pixseek serve` as a child process on a free port of 127.0.0.1, for the tests that drive it over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(library: Path, *extra: str):
    """`pixseek serve` on a free port until the block ends; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "ui.cli", "serve", "-l", str(library), "--port", str(port), *extra]
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert child.poll() is None, child.stderr.read()
            time.sleep(0.2)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=30)
