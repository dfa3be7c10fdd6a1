"""Serving the Streamlit app (ui/app.py) on a library, in a child `streamlit run` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from indexer import PixseekError

APP = Path(__file__).with_name("app.py")
UPLOAD_LIMIT_MB = 20  # Streamlit refuses larger uploads; ui/upload.py checks the same limit again
LIBRARY_ENV = "PIXSEEK_LIBRARY"  # how the app learns its library (indexer.library.default_library reads it)


def streamlit_command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.headless=true",
        f"--server.maxUploadSize={UPLOAD_LIMIT_MB}",
        "--browser.gatherUsageStats=false",
        "--client.toolbarMode=minimal",
    ]


def app_environment(library: Path) -> dict[str, str]:
    """The environment of the app process: the library, and this checkout importable (the app imports `ui`)."""
    package_root = str(APP.parent.parent)
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, LIBRARY_ENV: str(library), "PYTHONPATH": path}


class PortInUse(PixseekError):
    def __init__(self, host: str, port: int):
        super().__init__(f"{host}:{port} is already in use (another server?); choose another with --port")


def check_port(host: str, port: int) -> None:
    """PortInUse unless a server could listen on host:port now (checked before anything is printed)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUse(host, port) from None


def start(library: Path, host: str = "127.0.0.1", port: int = 8501, **popen) -> subprocess.Popen:
    """The app serving `library` at http://host:port, as a child process."""
    return subprocess.Popen(streamlit_command(host, port), env=app_environment(library), **popen)


def serve(library: Path, host: str = "127.0.0.1", port: int = 8501) -> int:
    """Serve until the app exits or Ctrl-C; the app's exit status."""
    child = start(library, host, port)
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())  # stopping `pixseek ui` stops the app
    try:
        return child.wait()
    except KeyboardInterrupt:  # the terminal sent SIGINT to the child too; let it shut down
        return child.wait()
