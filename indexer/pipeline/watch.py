"""`indexer.watch`: index the folders, then keep the library following them as files arrive, change, move and go.

Watching starts before the first pass, so nothing that changes during it is missed. Changed paths settle
first (indexer.sources.settle: a file still being written is read once its size and mtime held still), then
go through the same plan, read, encode and write as an index run, scoped to those paths: a renamed or moved
file is hashed and keeps its vector (no decode, no model call), a deleted one is kept as missing, and the
vector index is saved after each round, so searches see new images within seconds. SIGINT/SIGTERM end the
watch after the round being written; a second one stops at once.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import OperationalError

from indexer.errors import LibraryWriteFailed, PixseekError
from indexer.library import get_or_add_root, library_path, offline, ok_files, session, writer_lock
from indexer.sources import MEMBER_SEP, FolderWatcher, Settled, Settling, walk_paths

from .indexing import (
    chosen_model,
    encode_and_write,
    finish_run,
    index,
    mark_ended,
    offline_note,
    resolve_roots,
    still_missing,
    write_error,
)
from .interrupt import stop_event_on_signals
from .plan import RootPlan, plan_paths
from .run import SUMMARY_KEYS, IndexRun, IndexSettings, IndexSummary, ProgressFn
from .writer import mark_missing

TICK_S = 0.1  # how often settling paths are looked at again
INLINE_BELOW = 16  # a round with fewer files to read decodes them in this process (no worker pool to start)


class CannotWatch(PixseekError):
    def __init__(self, root: str):
        self.root = root
        super().__init__(f"{root}: --watch follows folders, not single tar shards; watch the folder that holds it")


@dataclass(frozen=True)
class WatchSettings:
    settle_s: float = 1.0  # a new or changed file is read once its size and mtime held this long
    poll: bool | None = None  # True: poll; False: kernel events; None: poll network mounts only
    poll_interval_s: float = 0.5


@dataclass
class WatchRound:
    """What one round of settled changes did to the library."""

    changed: int  # settled paths (files and folders) looked at
    summary: IndexSummary  # this round's counts
    finished: float  # time.time() when its writes were committed and the vector index saved


@dataclass
class WatchSummary:
    first: IndexSummary  # the first pass
    rounds: int = 0
    counts: Counter = field(default_factory=Counter)  # every round's counts added up
    warnings: list[str] = field(default_factory=list)


def watch(
    roots: Sequence[str | Path],
    library: str | Path | None = None,
    model: str | None = None,
    settings: IndexSettings | None = None,
    watching: WatchSettings | None = None,
    *,
    progress: ProgressFn | None = None,
    on_start: Callable[[IndexSummary], None] | None = None,
    on_round: Callable[[WatchRound], None] | None = None,
    stop: threading.Event | None = None,
) -> WatchSummary:
    """Index the roots (as `index`), then follow them until `stop` is set or SIGINT/SIGTERM; returns the totals.

    `on_start` gets the first pass's summary, once watching; `on_round` each later round's."""
    settings, watching, library = settings or IndexSettings(), watching or WatchSettings(), library_path(library)
    stop = stop or threading.Event()
    sources = resolve_roots(roots)
    if any(src.shards for src in sources):
        raise CannotWatch(str(next(src.root / src.shards[0] for src in sources if src.shards)))
    folders = [src.root for src in sources]
    with stop_event_on_signals(stop), FolderWatcher(folders, watching.poll, watching.poll_interval_s) as watcher:
        first = index(folders, library, model, settings, progress)
        summary = WatchSummary(first, warnings=watcher.warnings)
        if on_start is not None:
            on_start(first)
        with writer_lock(library):
            run = IndexRun(library, chosen_model(library, None, False), settings, None)
            try:
                _follow(run, folders, watcher, Settling(watching.settle_s), stop, summary, on_round)
            except (OperationalError, OSError) as exc:  # disk full, I/O error, a lock held past the busy timeout
                mark_ended(run.db, run.run_id, "failed")
                raise LibraryWriteFailed(str(library), write_error(exc)) from exc
            except BaseException:
                mark_ended(run.db, run.run_id, "interrupted")
                raise
            finally:
                run.db.dispose()
    return summary


def _follow(run, folders, watcher, settling, stop, summary: WatchSummary, on_round) -> None:
    """Rounds of settled changes until stopped; the run's row is finished with the totals."""
    root_ids = _root_ids(run, folders)
    while not stop.is_set():
        settling.add(_below_roots(watcher.changes(TICK_S), folders), time.monotonic())
        settled = settling.ready(time.monotonic())
        dirs = [p for p in settled.present if p.is_dir()]
        if dirs:  # a folder copied or moved in: its files settle one by one, as single files do
            settling.add(_files_in(run, folders, dirs), time.monotonic())
            settled.present = [p for p in settled.present if p not in dirs]
        if settled:
            started, failures, warnings = time.perf_counter(), len(run.failures), len(run.warnings)
            counts = _round(run, folders, root_ids, settled)
            one = IndexSummary(**{k: counts.get(k, 0) for k in SUMMARY_KEYS}, seconds=time.perf_counter() - started)
            one.failures, one.warnings = run.failures[failures:], run.warnings[warnings:]
            summary.rounds += 1
            summary.counts.update(counts)
            if on_round is not None:
                on_round(WatchRound(len(settled.present) + len(settled.gone), one, time.time()))
    totals = IndexSummary(**{k: summary.counts.get(k, 0) for k in SUMMARY_KEYS})
    finish_run(run.db, run.run_id, folders, totals)


def _root_ids(run: IndexRun, folders: Sequence[Path]) -> dict[str, int]:
    with session(run.db, write=True) as s:
        ids = {str(folder): get_or_add_root(s, folder).id for folder in folders}
        s.commit()
    return ids


def _below_roots(paths: list[Path], folders: Sequence[Path]) -> list[Path]:
    """Changed paths strictly below a root: an event on a root itself (it vanished, its drive was unplugged)
    is not a change of its files."""
    return [p for p in paths if p not in folders]


def _relpaths(folder: Path, paths: list[Path]) -> list[str]:
    """The POSIX relpaths of the paths strictly below folder."""
    return [p.relative_to(folder).as_posix() for p in paths if p != folder and p.is_relative_to(folder)]


def _files_in(run: IndexRun, folders: Sequence[Path], dirs: list[Path]) -> list[Path]:
    """The files `walk` would list below these folders (a tar shard once, not member by member)."""
    found = set()
    for folder in folders:
        for f in walk_paths(folder, _relpaths(folder, dirs), run.settings.scan):
            found.add(folder / f.relpath.split(MEMBER_SEP, 1)[0])
    return sorted(found)


def _round(run: IndexRun, folders: Sequence[Path], root_ids: dict[str, int], settled: Settled) -> Counter:
    """Plan, read, encode and write the settled paths under every root holding them; the round's counts."""
    before = Counter(run.counts)
    run.marked_missing = []
    plans: list[RootPlan] = []
    for folder in folders:
        present = _relpaths(folder, settled.present)
        scopes = present + _relpaths(folder, settled.gone)
        if not scopes:
            continue
        found = walk_paths(folder, present, run.settings.scan)
        with session(run.db, write=True) as s:
            held = ok_files(s, root_ids[str(folder)])
            if offline(folder, held):
                run.warnings.append(offline_note(folder, held))
                continue
            plan = plan_paths(s, root_ids[str(folder)], found, scopes, run.model_id)
            mark_missing(s, plan.missing)
            s.commit()
        run.marked_missing += plan.missing
        plans.append(plan)
    todo = sum(len(p.todo) for p in plans)
    saved = run.settings
    if todo < INLINE_BELOW:
        run.settings = dataclasses.replace(saved, workers=0)
    try:
        run.state = dataclasses.replace(run.state, total=0, done=0)
        encode_and_write(run, plans, root_ids)
    finally:
        run.settings = saved
    counts = Counter(run.counts)
    counts.subtract(before)
    counts["missing"] = still_missing(run)  # a rename's old path is marked missing, then found again
    return +counts
