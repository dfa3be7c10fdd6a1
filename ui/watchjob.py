"""Watching the library's folders from the UI: `python -m ui.watchjob LIBRARY ROOT...` in its own process.

The watch (`pixseek index --watch`'s) reports into <library>/ui-watch-job.json (state, what it added so far),
which the Library page reads; Stop sends it SIGTERM, and it ends after the round it is writing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from indexer import PixseekError
from indexer.pipeline import IndexSummary, WatchRound, watch

from .indexjob import alive, job_file, write_state
from .serve import app_environment

WATCH_FILE = "ui-watch-job.json"
START_WITHIN = 120  # seconds a started watch may take to import and finish its first pass's start


def read_watch(library: Path) -> dict | None:
    """The UI-started watch's state; "stopped" when its process is gone without saying so."""
    return job_file(library / WATCH_FILE, "watching", "stopped", _ours, START_WITHIN)


def watching(job: dict | None) -> bool:
    return job is not None and job.get("state") in ("starting", "watching")


def _ours(pid: int) -> bool:
    """A live process that is a watch job (not another that got the pid since)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return alive(pid)
    return b"ui.watchjob" in command


def start(library: Path, roots: list[str]) -> subprocess.Popen:
    """Start watching in its own process and session: it outlives the page's reruns and the app."""
    write_state(library / WATCH_FILE, {"state": "starting", "pid": 0, "roots": roots, "started": time.time()})
    return subprocess.Popen(
        [sys.executable, "-m", "ui.watchjob", str(library), *roots],
        env=app_environment(library),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(library: Path) -> bool:
    """Ask the UI-started watch to stop (SIGTERM); False when none is running."""
    job = read_watch(library)
    if not watching(job) or not job.get("pid") or not _ours(job["pid"]):
        return False
    os.kill(job["pid"], signal.SIGTERM)
    return True


def run(library: Path, roots: list[str]) -> int:
    state = {"state": "starting", "pid": os.getpid(), "roots": roots, "started": time.time(), "counts": {}}
    path, totals = library / WATCH_FILE, Counter()
    write_state(path, state)

    def started(first: IndexSummary) -> None:
        write_state(path, {**state, "state": "watching", "first": first.as_dict(), "since": time.time()})
        state.update(state="watching", since=time.time())

    def round_done(one: WatchRound) -> None:
        totals.update({k: v for k, v in one.summary.as_dict().items() if isinstance(v, int)})
        state.update(counts=dict(totals), last_change=one.finished)
        write_state(path, state)

    try:
        watch(roots, library, on_start=started, on_round=round_done)
    except PixseekError as exc:
        write_state(path, {**state, "state": "failed", "message": str(exc), "finished": time.time()})
        return 2
    write_state(path, {**state, "state": "stopped", "finished": time.time()})
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), sys.argv[2:]))
