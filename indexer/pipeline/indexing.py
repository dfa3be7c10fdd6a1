"""`indexer.index`: scan the roots, read and decode in workers, encode in batches, write, update the index."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from braceexpand import braceexpand
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError, StatementError

from indexer.errors import Interrupted, LibraryWriteFailed, PixseekError
from indexer.library import (
    RUN_COUNTS,
    File,
    Root,
    Run,
    activate_model,
    active_model,
    get_or_add_root,
    library_path,
    offline,
    ok_files,
    open_catalog,
    open_index,
    session,
    utcnow,
    writer_lock,
)
from indexer.model import ModelConfig, ModelRef, choose_device, choose_runtime, model_ref
from indexer.sources import ReadSettings, is_shard, walk, walk_shards

from .gpu_feed import feed_run
from .gpu_workers import gpu_workers_run
from .interrupt import stop_on_signals
from .local import host_run
from .plan import RootPlan, plan_root
from .ray_engine import RaySettings, ray_run
from .run import SUMMARY_KEYS, IndexRun, IndexSettings, IndexSummary, ProgressFn
from .writer import mark_missing


class RootNotFound(PixseekError):
    def __init__(self, root: str):
        self.root = root
        super().__init__(f"{root}: not a folder or tar shard" if root else "no folder to index was given")


@dataclass(frozen=True)
class Source:
    """What to index under one root folder: all of it, or only the tar shards named (relpaths)."""

    root: Path
    shards: tuple[str, ...] = ()


def _plan(run: IndexRun, sources: Sequence[Source]) -> tuple[dict[str, int], list[RootPlan]]:
    root_ids, plans = {}, []
    for source in sources:
        root, shards = source.root, source.shards
        found = walk_shards(root, list(shards), run.settings.scan) if shards else walk(root, run.settings.scan)
        with session(run.db, write=True) as s:
            root_id = get_or_add_root(s, root).id
            s.commit()
            held = ok_files(s, root_id)
        if not shards and offline(root, held):
            run.warnings.append(offline_note(root, held))
            continue
        with session(run.db, write=True) as s:
            plan = plan_root(s, root_id, found, shards, run.model_id)
            mark_missing(s, plan.missing)
            s.commit()
        run.marked_missing += plan.missing
        root_ids[str(root)] = root_id
        plans.append(plan)
    return root_ids, plans


def offline_note(root: Path, files: int) -> str:
    return (
        f"{root} is offline (an empty folder where {files:,} indexed files were: a drive not mounted?); its files "
        f"are kept as they were. If it moved: pixseek roots move {root} NEW; to forget it: pixseek roots remove {root}"
    )


def resolve_roots(roots: Sequence[str | Path]) -> list[Source]:
    """Folders to walk, and tar shards (brace patterns expanded: shard-{00000..00009}.tar) grouped by folder."""
    folders: list[Path] = []
    shards: dict[Path, list[str]] = {}
    for root in roots:
        for one in braceexpand(str(root)) if "{" in str(root) else [str(root)]:
            path = Path(one).expanduser().resolve()
            if path.is_dir():
                folders.append(path)
            elif path.is_file() and is_shard(path.name):
                shards.setdefault(path.parent, []).append(path.name)
            else:
                raise RootNotFound(one)
    if not folders and not shards:
        raise RootNotFound("")
    named = [Source(p, tuple(dict.fromkeys(names))) for p, names in shards.items() if p not in folders]
    return [Source(p) for p in dict.fromkeys(folders)] + named


FIRST_MODEL = "tiny-shapes"  # a new library's model when none is named
DEMO_NOTE = (
    "tiny-shapes is pixseek's bundled demo model, trained on synthetic shapes only: it does not understand "
    "photos. For a photo library: pixseek models list, then pixseek index FOLDER --model vit-g-14 --switch-model"
)


class ModelMismatch(PixseekError):
    def __init__(self, library: Path, active: str, active_sha: str, wanted: str):
        super().__init__(
            f"{library} was indexed with {active} ({active_sha[:12]}); adding {wanted}'s vectors would mix two models. "
            f"Leave out --model to keep {active}, or switch: pixseek index FOLDER... --model {wanted} --switch-model "
            f"(every file is embedded again; searches use {active} until the new index is complete)"
        )


def chosen_model(library: Path, model: str | None, switch: bool) -> ModelRef:
    """The model a run indexes with: the library's own unless it has none yet; another one only to switch."""
    db = open_catalog(library)
    try:
        with session(db) as s:
            active = active_model(s)
            recorded = (active.source or active.name, active.name, active.weights_sha256) if active else None
    finally:
        db.dispose()
    if recorded is None:
        return model_ref(model or FIRST_MODEL)
    if model is None:
        return model_ref(recorded[0])
    ref = model_ref(model)
    if ref.weights_sha256 != recorded[2] and not switch:
        raise ModelMismatch(library, recorded[1], recorded[2], model)
    return ref


def _with_all_roots(library: Path, sources: list[Source]) -> list[Source]:
    """A switch embeds every file of the library again: its other roots are indexed too."""
    db = open_catalog(library)
    try:
        with session(db) as s:
            known = [Path(p) for p in s.scalars(select(Root.path))]
    finally:
        db.dispose()
    named = {src.root for src in sources}
    return sources + [Source(root) for root in known if root not in named and root.is_dir()]


def index(
    roots: Sequence[str | Path],
    library: str | Path | None = None,
    model: str | None = None,
    settings: IndexSettings | None = None,
    progress: ProgressFn | None = None,
    *,
    switch_model: bool = False,
) -> IndexSummary:
    """Bring the library up to date with the roots; the second run does only what changed.

    `model`: needed for a new library only (default tiny-shapes); a library keeps the model it was made
    with, and another one is refused unless `switch_model`, which embeds every file with it and makes it
    the library's model once the run completes."""
    started = time.perf_counter()
    settings, library = settings or IndexSettings(), library_path(library)
    sources = resolve_roots(roots)
    with stop_on_signals(), writer_lock(library):
        ref = chosen_model(library, model, switch_model)
        uses_gpu_feed(settings, ref.config)  # a setting it refuses stops the run before anything is written
        switching = switch_model and not _is_active(library, ref)
        sources = _with_all_roots(library, sources) if switching else sources
        run = IndexRun(library, ref, settings, progress, activate=not switching)
        if ref.source == FIRST_MODEL:
            run.warnings.append(DEMO_NOTE)
        try:
            _index_roots(run, sources)
        except (OperationalError, OSError) as exc:  # disk full, I/O error, a lock held past the busy timeout
            mark_ended(run.db, run.run_id, "failed")
            raise LibraryWriteFailed(str(library), write_error(exc)) from exc
        except (Interrupted, StatementError) as exc:
            # A signal that lands while SQLAlchemy prepares a statement reaches us wrapped in its error.
            stop = exc.orig if isinstance(exc, StatementError) else exc
            if not isinstance(stop, Interrupted):
                raise
            mark_ended(run.db, run.run_id, "interrupted")
            raise stop from None
    summary = IndexSummary(**{k: run.counts.get(k, 0) for k in SUMMARY_KEYS if k != "missing"})
    summary.missing = still_missing(run)
    summary.seconds, summary.failures, summary.stages = time.perf_counter() - started, run.failures, dict(run.stages)
    summary.decoded_on, summary.warnings = dict(run.decoded_on), run.warnings
    if switching:  # every file has its vector from the new model now: it serves the searches from here on
        with session(run.db, write=True) as s:
            activate_model(s, ref.name, ref.weights_sha256, ref.config.embed_dim, None, ref.source)
            s.commit()
    finish_run(run.db, run.run_id, [s.root / n for s in sources for n in s.shards or ("",)], summary)
    return summary


def _is_active(library: Path, ref: ModelRef) -> bool:
    db = open_catalog(library)
    try:
        with session(db) as s:
            active = active_model(s)
            return active is not None and active.weights_sha256 == ref.weights_sha256
    finally:
        db.dispose()


def _index_roots(run: IndexRun, sources: list[Source]) -> None:
    """Scan, read, encode and write in batches, then bring the vector index up to date."""
    with run.timed("scan"):
        root_ids, plans = _plan(run, sources)
    encode_and_write(run, plans, root_ids)


def encode_and_write(run: IndexRun, plans: Sequence[RootPlan], root_ids: dict[str, int]) -> None:
    """Read, encode and write the plans' files in batches with the settings' engine; save the vector index."""
    settings = run.settings
    run.counts["unchanged"] += sum(p.unchanged for p in plans)
    run.counts["unreadable"] += sum(p.unreadable for p in plans)
    todo = [f for p in plans for f in p.todo]
    run.state.total = len(todo)
    read = ReadSettings(run.ref.config.vision.image_size, settings.draft, time_limit=settings.file_time_limit)
    if settings.engine == "ray":
        gpus = 1.0 if settings.device.startswith("cuda") else 0.0
        ray_run(run, todo, root_ids, read, RaySettings(settings.ray_address, max(1, settings.workers), 1, gpus))
    elif len(settings.gpus) > 1:
        gpu_workers_run(run, todo, root_ids, read, settings.gpus)
    elif uses_gpu_feed(settings, run.ref.config):
        feed_run(run, todo, root_ids, read, settings.workers)
    else:
        host_run(run, todo, root_ids, read)
    with run.timed("index"):
        open_index(run.db, run.library, run.key, run.model_id, run.ref.config.embed_dim, save=True)


def uses_gpu_feed(settings: IndexSettings, config: ModelConfig | None = None) -> bool:
    """Whether the run takes the GPU path: asked for, or 'auto' with the torch runtime on a CUDA device.
    The path hands its crops to the torch runtime's tower as tensors: asked for with another runtime, it is
    refused with the way out. `config`: the run's model (the 'auto' runtime depends on its size)."""
    if settings.engine not in ("local", "ray"):
        raise PixseekError(f"unknown engine {settings.engine!r}; use local or ray")
    if settings.gpu_decode not in ("auto", "on", "off"):
        raise PixseekError(f"unknown gpu_decode {settings.gpu_decode!r}; use auto, on or off")
    if settings.gpu_decode == "off":
        return False
    if settings.gpu_decode == "auto" and (settings.runtime == "paddle" or settings.device == "cpu"):
        return False
    runtime = choose_runtime(settings.runtime, settings.device, config)
    if settings.gpu_decode == "on":
        if runtime != "torch":
            raise PixseekError(
                f"gpu_decode 'on' feeds the torch runtime's model; this run would use {runtime}: add --runtime torch"
            )
        return True
    return runtime == "torch" and choose_device(runtime, settings.device).startswith("cuda")


def mark_ended(engine, run_id: int, status: str) -> None:
    # Best effort: a signal can land inside the database layer, or the disk is full, and leave this
    # connection unusable; the next run marks a run still 'running' as interrupted anyway.
    with suppress(SQLAlchemyError), session(engine, write=True) as s:
        s.execute(update(Run).where(Run.id == run_id).values(status=status, finished_at=utcnow()))
        s.commit()


def write_error(exc: Exception) -> str:
    """The one-line reason of a failed write: SQLite's message, or the OS error and its file."""
    if isinstance(exc, OperationalError):
        return str(exc.orig)
    return f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc.strerror or exc)


def finish_run(engine, run_id: int, roots: Sequence[Path], summary: IndexSummary) -> None:
    with session(engine, write=True) as s:
        row = s.get(Run, run_id)
        row.roots, row.status, row.finished_at = [str(r) for r in roots], "done", utcnow()
        row.counts = {k: getattr(summary, k) for k in RUN_COUNTS}
        s.commit()


def still_missing(run: IndexRun) -> int:
    """Files marked missing by this run and not found again under another name."""
    with session(run.db) as s:
        ids = run.marked_missing
        return sum(
            s.scalar(select(func.count(File.id)).where(File.id.in_(ids[i : i + 500]), File.status == "missing"))
            for i in range(0, len(ids), 500)
        )
