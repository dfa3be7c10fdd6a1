"""The real `pixseek index` killed and stopped at seeded random moments: nothing lost or doubled, no file touched."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from .library_state import (
    add_images,
    agreement,
    duplicated,
    file_rows,
    index_args,
    popen_pixseek,
    rows,
    run_pixseek,
    run_statuses,
    tree_hashes,
    wait_for_commit,
)

KILLS = 20
IMAGES = 100  # for the SIGTERM / Ctrl-C runs: enough to be stopped mid-run after the first batch
NEW_PER_ROUND = 6  # images added before each run, so every run has work to be killed in


def lost(folder: Path, library: Path, model: Path) -> int:
    """Images on disk without an ok row, plus vectors the catalog wants that the saved index lacks."""
    catalog = file_rows(library)
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    missing_rows = sum(1 for name in on_disk if name not in catalog or catalog[name].status != "ok")
    a = agreement(library, model)
    return missing_rows + len(a.wanted - set(a.index_ids))


def kill_during_run(proc: subprocess.Popen, library: Path, delay: float) -> bool:
    """SIGKILL the process group `delay` s after its run began (its catalog row appeared); False when the
    run had already finished. Counting from the run's start, not the process's, keeps the moments inside
    the run however slow start-up is on a busy machine."""
    runs, deadline = rows(library, "runs"), time.monotonic() + 120
    while rows(library, "runs") == runs and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return True


def run_span(tmp_path: Path, model: Path) -> float:
    """Seconds from a run's start (its catalog row) to its end, for a round's worth of new images: the kill
    moments are drawn inside it, however fast this machine and runtime index."""
    folder, library = tmp_path / "calibration", tmp_path / "calibration-lib"
    add_images(folder, 0, NEW_PER_ROUND)
    proc = popen_pixseek(*index_args(folder, library, model), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while rows(library, "runs") == 0 and proc.poll() is None:
        time.sleep(0.01)
    start = time.monotonic()
    assert proc.wait(timeout=300) == 0
    return max(0.1, time.monotonic() - start)


def test_sigkill_at_20_seeded_moments_then_a_rerun_indexes_every_image_exactly_once(tmp_path, micro_model, tally):
    folder, library = tmp_path / "photos", tmp_path / "lib"
    rng = np.random.default_rng(20)
    span = run_span(tmp_path, micro_model)
    kills, added, hashes = 0, 0, {}
    for _ in range(3 * KILLS):
        if kills == KILLS:
            break
        add_images(folder, added, NEW_PER_ROUND)
        added += NEW_PER_ROUND
        hashes = tree_hashes(folder)
        proc = popen_pixseek(*index_args(folder, library, micro_model, "--workers", str(1 + kills % 2)),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        # Seeded moments across a run (model load, three batches, the index save), as measured above.
        kills += kill_during_run(proc, library, float(rng.uniform(0, span)))
    tally["kills"] += kills
    done = run_pixseek(*index_args(folder, library, micro_model), timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    a = agreement(library, micro_model)
    tally["kills_lost"] += lost(folder, library, micro_model)
    tally["kills_duplicated"] += duplicated(a)
    assert kills == KILLS
    assert sorted(a.index_ids) == sorted(a.wanted) and len(a.wanted) == added == a.embeddings == a.file_rows
    assert duplicated(a) == 0 and lost(folder, library, micro_model) == 0
    assert tree_hashes(folder) == hashes  # the indexer never writes to the photos
    assert a.run_statuses[-1] == "done" and "running" not in a.run_statuses and "interrupted" in a.run_statuses


@pytest.mark.parametrize(
    ("signum", "whole_group", "code", "said"),
    [(signal.SIGTERM, False, 143, "signal 15"), (signal.SIGINT, True, 130, "Ctrl-C")],
    ids=["sigterm", "ctrl-c"],
)
def test_sigterm_and_ctrl_c_stop_the_run_within_5_s_cleanly(tmp_path, micro_model, signum, whole_group, code, said):
    """`kill PID` reaches the main process only; Ctrl-C reaches the whole process group, workers included."""
    folder, library = tmp_path / "photos", tmp_path / "lib"
    add_images(folder, 0, IMAGES)
    hashes = tree_hashes(folder)
    args = index_args(folder, library, micro_model, "--workers", "1")
    proc = popen_pixseek(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_commit(proc, library)
    (os.killpg if whole_group else os.kill)(proc.pid, signum)
    try:
        _, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"the run was still going 5 s after {said}")
    assert proc.returncode == code, err[-3000:]
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith(f"error: stopped by {said}; "), err
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # no decode worker left behind
    assert run_statuses(library) == ["interrupted"]
    catalog = file_rows(library)
    assert 0 < sum(r.status == "ok" for r in catalog.values()) < IMAGES and all(r.image_id for r in catalog.values())
    done = run_pixseek(*args, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    a = agreement(library, micro_model)
    assert sorted(a.index_ids) == sorted(a.wanted) and len(a.wanted) == IMAGES and duplicated(a) == 0
    assert a.run_statuses == ["interrupted", "done"]
    assert tree_hashes(folder) == hashes


def test_a_signal_wrapped_by_sqlalchemy_still_stops_the_run_as_interrupted(tmp_path, micro_model, monkeypatch):
    """A signal that lands while SQLAlchemy prepares a statement comes out as its StatementError: still a stop."""
    from sqlalchemy.exc import StatementError

    from indexer.errors import Interrupted
    from indexer.pipeline import indexing as pipeline

    def stopped_inside_sqlalchemy(run, sources):
        raise StatementError("stopped", "SELECT 1", None, Interrupted(signal.SIGTERM))

    folder, library = tmp_path / "photos", tmp_path / "lib"
    add_images(folder, 0, 2)
    monkeypatch.setattr(pipeline, "_index_roots", stopped_inside_sqlalchemy)
    with pytest.raises(Interrupted) as stop:
        pipeline.index([folder], library, str(micro_model))
    assert stop.value.signum == signal.SIGTERM and run_statuses(library) == ["interrupted"]
