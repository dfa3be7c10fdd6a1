"""Watch latency: seconds from an image file being closed in a watched folder to a search returning it.

    python bench/watch.py                 # tiny-shapes, 30 single files then a burst of 20, settle 1 s
    python bench/watch.py --singles 10 --burst 50 --settle 0.5

`pixseek index DIR --watch --json` runs as a child (inotify, its default settings); this process writes
each file, notes the time it closed it, and searches the library (text query, k larger than the library)
every 50 ms until the file's path is among the hits. Target (issue 24): p50 <= 3 s with tiny-shapes on 2
cores. The child is stopped with SIGINT at the end; its exit status is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, emit, machine

from indexer.sources import synthetic
from search import Searcher


def searchable(searcher: Searcher, paths: set[str], timeout: float = 60.0) -> dict[str, float]:
    """time.time() at which each path was first returned by a search."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(paths) and time.monotonic() < deadline:
        hits = {h.path for h in searcher.search("a red circle", k=100_000).hits}
        now = time.time()
        seen.update({p: now for p in paths & hits if p not in seen})
        time.sleep(0.05)
    return seen


def stats(latencies: list[float]) -> dict:
    a = np.asarray(latencies)
    pct = {f"p{q}_s": round(float(np.percentile(a, q)), 3) for q in (50, 95)}
    return {"n": len(a), **pct, "max_s": round(float(a.max()), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--singles", type=int, default=30)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--settle", type=float, default=1.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pixseek-watch-"))
    folder, library, pool = work / "photos", work / "lib", work / "pool"
    folder.mkdir()
    pool.mkdir()
    for i in range(20):
        synthetic.write(synthetic.sample(i, 4), folder, i)
    for i in range(args.singles + args.burst):
        synthetic.write(synthetic.sample(1000 + i, 4), pool, i)
    command = [sys.executable, "-m", "ui.cli", "index", str(folder), "-l", str(library), "--watch", "--json"]
    command += ["--settle", str(args.settle)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        searcher = Searcher(library)
        sources = sorted(pool.iterdir())
        singles = []
        for src in sources[: args.singles]:
            target = folder / f"new-{src.name}"
            shutil.copy(src, target)  # closed when copy returns
            closed = time.time()
            singles.append(searchable(searcher, {str(target)})[str(target)] - closed)
        targets = {str(folder / f"new-{src.name}"): src for src in sources[args.singles :]}
        for target, src in targets.items():
            shutil.copy(src, target)
        closed = time.time()
        burst = [t - closed for t in searchable(searcher, set(targets)).values()]
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    emit(
        "watch",
        {
            "machine": machine(None),
            "model": "tiny-shapes",
            "settle_s": args.settle,
            "first_pass_indexed": first["first"]["indexed"],
            "single_files": stats(singles),
            "burst": {**stats(burst), "files": args.burst},
            "target_p50_s": 3.0,
            "exit_status_after_sigint": code,
        },
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
