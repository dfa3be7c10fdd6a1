"""Searches from other processes while `pixseek index` runs, and a second index run on the same library."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from itertools import pairwise
from pathlib import Path

from indexer.pipeline.indexing import index
from indexer.pipeline.run import IndexSettings
from search.searcher import Searcher

from .library_state import (
    add_images,
    agreement,
    duplicated,
    index_args,
    popen_pixseek,
    wait_for_commit,
)

BASE, ADDED, K = 30, 120, 10


def check_hits(result, k: int) -> str | None:
    """What is inconsistent about one search result, or None."""
    hits = result.hits
    if len(hits) != k:
        return f"{len(hits)} hits, not {k}"
    if len({h.image_id for h in hits}) != len(hits):
        return "an image came back twice"
    if any(a.score < b.score for a, b in pairwise(hits)):
        return "scores are not in descending order"
    gone = [h.path for h in hits if not Path(h.path).is_file()]
    return f"hits point at no file: {gone}" if gone else None


def cli(*args: str) -> subprocess.Popen:
    return popen_pixseek(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_searches_during_an_index_run_never_fail_and_a_second_run_is_refused(tmp_path, micro_model, tally):
    """The writer is paused (SIGSTOP) mid-run while a second index run and CLI searches start, so they meet it
    holding the lock however slowly they start on a busy machine; in-process searches go on until it ends."""
    folder, library = tmp_path / "photos", tmp_path / "lib"
    add_images(folder, 0, BASE)
    index([folder], library, str(micro_model), IndexSettings(workers=0))
    searcher = Searcher(library)
    assert check_hits(searcher.search("a red circle", k=K), K) is None  # the model is loaded before the race
    add_images(folder, BASE, ADDED)
    writer = popen_pixseek(*index_args(folder, library, micro_model, "--workers", "1"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for_commit(writer, library, BASE)
    os.killpg(writer.pid, signal.SIGSTOP)
    second = cli(*index_args(folder, library, micro_model))
    searches = [cli("search", "a red circle", "-l", str(library), "-k", str(K), "--json") for _ in range(2)]
    problems = _search_while(lambda: second.poll() is None, searcher, library)
    os.killpg(writer.pid, signal.SIGCONT)
    problems += _search_while(lambda: writer.poll() is None, searcher, library)
    problems += [_cli_problem(p) for p in searches]
    tally["searches"] += len(problems)
    tally["searches_failed"] += sum(p is not None for p in problems)
    assert [p for p in problems if p] == [] and len(problems) >= 6
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2 and "Traceback" not in err
    assert err.strip() == f"error: {library}: another `pixseek index` is running on this library; wait for it to finish"
    assert writer.wait(timeout=300) == 0
    a = agreement(library, micro_model)
    assert sorted(a.index_ids) == sorted(a.wanted) and len(a.wanted) == BASE + ADDED and duplicated(a) == 0


def _search_while(going, searcher: Searcher, library: Path) -> list[str | None]:
    """Search while going() (at least once): what was wrong with each result (None: nothing)."""
    problems: list[str | None] = []
    while going() or not problems:
        for s in (searcher, Searcher(library)):  # one kept open across the run, one opened fresh
            try:
                problems.append(check_hits(s.search("a red circle", k=K), K))
            except Exception as exc:  # noqa: BLE001  (any failure is the finding, whatever its type)
                problems.append(f"{type(exc).__name__}: {exc}")
    return problems


def _cli_problem(proc: subprocess.Popen) -> str | None:
    out, err = proc.communicate(timeout=180)
    if proc.returncode != 0 or "Traceback" in err:
        return f"pixseek search exited {proc.returncode}: {err[-500:]}"
    hits = json.loads(out)
    paths = [h["path"] for h in hits]
    return None if len(paths) == K == len(set(paths)) else f"pixseek search gave {paths}"
