"""An index run the UI starts in the background: `python -m ui.indexjob LIBRARY MODEL ROOT...`.

The run reports into <library>/ui-index-job.json (state, counts so far), which the Library page polls;
the page never waits on the run, and a run outlives the page that started it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from indexer import PixseekError
from indexer.pipeline import Progress, index

from .serve import app_environment

JOB_FILE = "ui-index-job.json"
EVERY = 0.5  # seconds between progress writes
START_WITHIN = 120  # seconds a started run may take to import and report (loading Paddle is slow)


def write_state(path: Path, state: dict) -> None:
    """Replace a job's state file whole: the page never reads half a file."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def _write(library: Path, state: dict) -> None:
    write_state(library / JOB_FILE, state)


def job_file(path: Path, running: str, gone: str, alive_check, start_within: float = START_WITHIN) -> dict | None:
    """A UI-started job's state file; its "state" set to `gone` when the job never started within
    `start_within` s or its process (`alive_check(pid)`) is no longer there while it says `running`."""
    try:
        job = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    stale = job.get("state") == "starting" and time.time() - job.get("started", 0) > start_within
    if stale or (job.get("state") == running and not alive_check(job.get("pid", 0))):
        job["state"] = gone
    return job


def read_job(library: Path) -> dict | None:
    """The last UI-started run's state, with "state" "interrupted" when its process is gone mid-run."""
    return job_file(library / JOB_FILE, "running", "interrupted", alive)


def busy(job: dict | None) -> bool:
    return job is not None and job.get("state") in ("starting", "running")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


def start(library: Path, model: str, roots: list[str]) -> subprocess.Popen:
    """Start a run in its own process (and session: it survives the app's reruns and restarts)."""
    command = [sys.executable, "-m", "ui.indexjob", str(library), model, *roots]
    _write(library, {"state": "starting", "pid": 0, "roots": roots, "started": time.time()})
    return subprocess.Popen(
        command,
        env=app_environment(library),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def run(library: Path, model: str, roots: list[str]) -> int:
    state = {"state": "running", "pid": os.getpid(), "roots": roots, "started": time.time(), "total": 0, "done": 0}
    _write(library, state)
    last = [0.0]

    def progress(p: Progress) -> None:
        state.update(total=p.total, done=p.done, images=p.images)
        if time.monotonic() - last[0] >= EVERY:
            last[0] = time.monotonic()
            _write(library, state)

    try:
        summary = index(roots, library, model, progress=progress)
    except PixseekError as exc:
        _write(library, {**state, "state": "failed", "message": str(exc), "finished": time.time()})
        return 2
    _write(library, {**state, "state": "done", "summary": summary.as_dict(), "finished": time.time()})
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), sys.argv[2], sys.argv[3:]))
