"""The reader's worker pool: results come back without a thread of the main process spinning on them, and
closing it returns even where multiprocessing's terminate would wait for ever."""

from __future__ import annotations

import multiprocessing
import threading
import time

import numpy as np
from PIL import Image

from indexer.sources import ReadSettings, read_all, reader, walk

FILES = 1500


def cpu_ticks(thread: threading.Thread) -> int:
    """User plus system clock ticks this thread of this process has run (Linux /proc)."""
    with open(f"/proc/self/task/{thread.native_id}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_reading_a_folder_keeps_the_pools_worker_handler_asleep(tmp_path):
    # With multiprocessing's own Pool the worker-handler thread loops while any result sits unread in the
    # pipe: here it ran for 5-7 s of CPU over 5,000 results on 2 cores (the whole read took 6-8 s against 0.5 s
    # without it). It has work only when a worker exits or the pool closes.
    rng = np.random.default_rng(0)
    for i in range(FILES):
        pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"{i:04d}.jpg", quality=80)
    files = list(walk(tmp_path))
    handler_ticks, decoded = None, 0
    for outcome in read_all(files, frozenset(), ReadSettings(size=224), workers=2):
        decoded += outcome.decoded is not None
        if decoded == len(files):  # the last result, with the pool still up: how long has its handler run?
            (handler,) = [t for t in threading.enumerate() if t.name.endswith("(_handle_workers)")]
            handler_ticks = cpu_ticks(handler)
    assert decoded == len(files)
    assert handler_ticks is not None and handler_ticks <= 10  # at most 0.1 s of CPU for 1,500 results


def test_closing_the_pool_returns_when_a_dead_worker_left_the_results_lock_taken(monkeypatch):
    # A worker ended while it sent a result leaves the results queue's write lock taken; the pool's task thread
    # then blocks on it for ever, and Pool.terminate joins that thread (a run hung so in the suite once).
    monkeypatch.setattr(reader, "TERMINATE_WAIT", 0.5)
    monkeypatch.setattr(reader, "KILLED_WAIT", 1.0)
    before = {child.pid for child in multiprocessing.active_children()}
    pool = reader._Pool(2, context=multiprocessing.get_context("fork"))
    assert pool.map(abs, [-1, -2]) == [1, 2]
    pool._outqueue._wlock.acquire()  # what the dead worker left behind
    closing = threading.Thread(target=reader._close, args=(pool, before), daemon=True)
    started = time.monotonic()
    closing.start()
    closing.join(timeout=20)
    assert not closing.is_alive() and time.monotonic() - started < 5
    assert not [child for child in multiprocessing.active_children() if child.pid not in before]
