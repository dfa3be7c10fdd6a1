"""`indexer.index`: scan the roots, read and decode in workers, encode in batches, write, update the index."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from braceexpand import braceexpand
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError, StatementError

from . import tarshards
from .batch_size import given as given_batch_size
from .catalog import activate_model, get_or_add_root, open_catalog, session
from .encoder import Encoder
from .errors import Interrupted, LibraryWriteFailed, PixseekError
from .interrupt import rearm, stop_on_signals
from .library import library_path, open_index, writer_lock
from .loading import ModelRef, choose_device, choose_runtime, load_encoder, model_ref
from .plan import RootPlan, plan_root
from .reader import Outcome, ReadSettings, read_all
from .scan import ScanOptions, walk, walk_shards
from .tables import RUN_COUNTS, Embedding, File, Image, Model, Run, utcnow
from .writer import mark_missing, write_batch


class RootNotFound(PixseekError):
    def __init__(self, root: str):
        self.root = root
        super().__init__(f"{root}: not a folder or tar shard" if root else "no folder to index was given")


@dataclass(frozen=True)
class Source:
    """What to index under one root folder: all of it, or only the tar shards named (relpaths)."""

    root: Path
    shards: tuple[str, ...] = ()


SUMMARY_KEYS = ("indexed", "unchanged", "moved", "duplicates", "missing", "failed")


@dataclass(frozen=True)
class IndexSettings:
    """How an index run reads and encodes; the CLI fills it from its options."""

    runtime: str = "auto"
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | None = None  # None: from free GPU memory on the GPU path (indexer.batch_size), else 32
    workers: int = field(default_factory=lambda: max(1, (os.cpu_count() or 2) - 1))
    draft: bool = True
    scan: ScanOptions = ScanOptions()
    file_time_limit: float = 60.0  # seconds to read and decode one file before it is skipped; 0: none
    gpu_decode: str = "auto"  # JPEGs also decoded on the device (indexer.gpu_feed): auto (on cuda), on, off
    engine: str = "local"  # local: this process and its workers; ray: Ray Data (indexer.ray_engine)
    ray_address: str | None = None  # with engine="ray": a running cluster; None starts a local one
    gpus: tuple[str, ...] = ()  # two or more: one process per device, one writer (indexer.gpu_shards)


@dataclass
class IndexSummary:
    indexed: int = 0  # files whose content was embedded in this run
    unchanged: int = 0
    moved: int = 0  # renamed or moved: the vector was reused
    duplicates: int = 0  # new paths of content the library already held
    missing: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), this run
    stages: dict[str, float] = field(default_factory=dict)  # seconds the main process spent per stage
    decoded_on: dict[str, int] = field(default_factory=dict)  # GPU path: images decoded on "gpu" / "cpu"

    def as_dict(self) -> dict:
        return {
            **{k: getattr(self, k) for k in SUMMARY_KEYS},
            "seconds": round(self.seconds, 3),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
            "decoded_on": self.decoded_on,
            "failures": [{"path": p, "reason": r} for p, r in self.failures],
        }


@dataclass
class Progress:
    """What a progress display needs; `index` calls the callback with it after every step."""

    total: int = 0  # files to read this run
    done: int = 0
    images: int = 0  # images encoded


ProgressFn = Callable[[Progress], None]


class _Run:
    """State of one index run: the catalog, the lazily loaded encoder, the pending batch."""

    def __init__(self, library: Path, ref: ModelRef, settings: IndexSettings, progress: ProgressFn | None):
        self.library, self.ref, self.settings, self.progress = library, ref, settings, progress
        self.engine = open_catalog(library)
        with session(self.engine, write=True) as s:
            self.model_id = activate_model(s, ref.name, ref.weights_sha256, ref.config.embed_dim, None, ref.source).id
            s.commit()
        self.run_id = _start_run(self.engine, self.model_id)
        self.encoder: Encoder | None = None
        self.pending: list[Outcome] = []
        self.counts: Counter = Counter()
        self.failures: list[tuple[str, str]] = []
        self.marked_missing: list[int] = []
        self.state = Progress()
        self.stages: Counter = Counter()
        self.decoded_on: Counter = Counter()

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[stage] += time.perf_counter() - start

    def known_hashes(self) -> frozenset[str]:
        with session(self.engine) as s:
            rows = s.scalars(select(Image.content_hash).join(Embedding).where(Embedding.model_id == self.model_id))
            return frozenset(rows)

    def loaded_encoder(self) -> Encoder:
        if self.encoder is None:  # loaded only when some content is new: a re-run needs no model
            with self.timed("load_model"):
                self._load_encoder()
        return self.encoder

    def encode(self, outcomes: list[Outcome]) -> np.ndarray:
        encoder = self.loaded_encoder()
        with self.timed("encode"):
            return encoder.encode_pixels(np.stack([o.decoded.crop for o in outcomes]))

    def _load_encoder(self) -> None:
        s = self.settings
        self.encoder = load_encoder(
            str(self.ref.path),
            runtime=s.runtime,
            device=s.device,
            dtype=s.dtype,
            batch_size=given_batch_size(s.batch_size),
        )
        rearm()
        with session(self.engine, write=True) as db:
            db.get(Model, self.model_id).runtime = self.encoder.runtime
            db.commit()

    def write(self, root_ids: dict[str, int], items: list[tuple[Outcome, np.ndarray | None]]) -> None:
        with self.timed("write"), session(self.engine, write=True) as s:
            self.counts.update(write_batch(s, root_ids, self.model_id, items))
            s.commit()
        self.failures += [(str(o.file.path), o.error) for o, _ in items if o.error is not None]

    def flush(self, root_ids: dict[str, int]) -> None:
        decoded = [o for o in self.pending if o.decoded is not None]
        vectors = dict(zip(map(id, decoded), self.encode(decoded), strict=True)) if decoded else {}
        self.write(root_ids, [(o, vectors.get(id(o))) for o in self.pending])
        self.state.images += len(decoded)
        self.pending = []

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.state)


def _plan(run: _Run, sources: Sequence[Source]) -> tuple[dict[str, int], list[RootPlan]]:
    root_ids, plans = {}, []
    for source in sources:
        root, shards = source.root, source.shards
        found = walk_shards(root, list(shards), run.settings.scan) if shards else walk(root, run.settings.scan)
        with session(run.engine, write=True) as s:
            root_id = get_or_add_root(s, root).id
            s.commit()
            plan = plan_root(s, root_id, found, shards)
            mark_missing(s, plan.missing)
            s.commit()
        run.marked_missing += plan.missing
        root_ids[str(root)] = root_id
        plans.append(plan)
    return root_ids, plans


def _resolve_roots(roots: Sequence[str | Path]) -> list[Source]:
    """Folders to walk, and tar shards (brace patterns expanded: shard-{00000..00009}.tar) grouped by folder."""
    folders: list[Path] = []
    shards: dict[Path, list[str]] = {}
    for root in roots:
        for one in braceexpand(str(root)) if "{" in str(root) else [str(root)]:
            path = Path(one).expanduser().resolve()
            if path.is_dir():
                folders.append(path)
            elif path.is_file() and tarshards.is_shard(path.name):
                shards.setdefault(path.parent, []).append(path.name)
            else:
                raise RootNotFound(one)
    if not folders and not shards:
        raise RootNotFound("")
    named = [Source(p, tuple(dict.fromkeys(names))) for p, names in shards.items() if p not in folders]
    return [Source(p) for p in dict.fromkeys(folders)] + named


def index(
    roots: Sequence[str | Path],
    library: str | Path | None = None,
    model: str = "tiny-shapes",
    settings: IndexSettings | None = None,
    progress: ProgressFn | None = None,
) -> IndexSummary:
    """Bring the library up to date with the roots; the second run does only what changed."""
    started = time.perf_counter()
    settings, library = settings or IndexSettings(), library_path(library)
    sources = _resolve_roots(roots)
    with stop_on_signals(), writer_lock(library):
        run = _Run(library, model_ref(model), settings, progress)
        try:
            _index_roots(run, sources)
        except (OperationalError, OSError) as exc:  # disk full, I/O error, a lock held past the busy timeout
            _mark_ended(run.engine, run.run_id, "failed")
            raise LibraryWriteFailed(str(library), _write_error(exc)) from exc
        except (Interrupted, StatementError) as exc:
            # A signal that lands while SQLAlchemy prepares a statement reaches us wrapped in its error.
            stop = exc.orig if isinstance(exc, StatementError) else exc
            if not isinstance(stop, Interrupted):
                raise
            _mark_ended(run.engine, run.run_id, "interrupted")
            raise stop from None
    summary = IndexSummary(**{k: run.counts.get(k, 0) for k in SUMMARY_KEYS if k != "missing"})
    summary.missing = _still_missing(run)
    summary.seconds, summary.failures, summary.stages = time.perf_counter() - started, run.failures, dict(run.stages)
    summary.decoded_on = dict(run.decoded_on)
    _finish_run(run.engine, run.run_id, [s.root / n for s in sources for n in s.shards or ("",)], summary)
    return summary


def _index_roots(run: _Run, sources: list[Source]) -> None:
    """Scan, read, encode and write in batches, then bring the vector index up to date."""
    settings = run.settings
    with run.timed("scan"):
        root_ids, plans = _plan(run, sources)
    run.counts["unchanged"] += sum(p.unchanged for p in plans)
    todo = [f for p in plans for f in p.todo]
    run.state.total = len(todo)
    read = ReadSettings(run.ref.config.vision.image_size, settings.draft, time_limit=settings.file_time_limit)
    if settings.engine == "ray":
        from .ray_engine import RaySettings, ray_run

        gpus = 1.0 if settings.device.startswith("cuda") else 0.0
        ray_run(run, todo, root_ids, read, RaySettings(settings.ray_address, max(1, settings.workers), 1, gpus))
    elif len(settings.gpus) > 1:
        from .gpu_shards import shard_run

        shard_run(run, todo, root_ids, read, settings.gpus)
    elif uses_gpu_feed(settings):
        from .gpu_feed import feed_run

        feed_run(run, todo, root_ids, read, settings.workers)
    else:
        _encode_on_host(run, todo, root_ids, read)
    with run.timed("index"):
        open_index(run.engine, run.library, run.ref.key, run.model_id, run.ref.config.embed_dim, save=True)


def _encode_on_host(run: _Run, todo: list, root_ids: dict[str, int], read: ReadSettings) -> None:
    """Decode in the reader workers, encode batch by batch in this thread, write after each batch."""
    settings = run.settings
    batch = given_batch_size(settings.batch_size)
    for outcome in _waited(run, read_all(todo, run.known_hashes(), read, settings.workers)):
        run.pending.append(outcome)
        run.state.done += 1
        if sum(o.decoded is not None for o in run.pending) >= batch or len(run.pending) >= 256:
            run.flush(root_ids)
        run.report()
    if run.pending:
        run.flush(root_ids)
        run.report()


def uses_gpu_feed(settings: IndexSettings) -> bool:
    """Whether the run takes the GPU path: asked for, or 'auto' with the torch runtime on a CUDA device."""
    if settings.engine not in ("local", "ray"):
        raise PixseekError(f"unknown engine {settings.engine!r}; use local or ray")
    if settings.gpu_decode not in ("auto", "on", "off"):
        raise PixseekError(f"unknown gpu_decode {settings.gpu_decode!r}; use auto, on or off")
    if settings.gpu_decode != "auto":
        return settings.gpu_decode == "on"
    if settings.runtime == "paddle" or settings.device == "cpu":
        return False
    runtime = choose_runtime(settings.runtime, settings.device)
    return runtime == "torch" and choose_device(runtime, settings.device).startswith("cuda")


def _mark_ended(engine, run_id: int, status: str) -> None:
    # Best effort: a signal can land inside the database layer, or the disk is full, and leave this
    # connection unusable; the next run marks a run still 'running' as interrupted anyway.
    with suppress(SQLAlchemyError), session(engine, write=True) as s:
        s.execute(update(Run).where(Run.id == run_id).values(status=status, finished_at=utcnow()))
        s.commit()


def _write_error(exc: Exception) -> str:
    """The one-line reason of a failed write: SQLite's message, or the OS error and its file."""
    if isinstance(exc, OperationalError):
        return str(exc.orig)
    return f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc.strerror or exc)


def _start_run(engine, model_id: int) -> int:
    """Record a running index run; runs still 'running' were killed (this process holds the lock)."""
    with session(engine, write=True) as s:
        s.execute(update(Run).where(Run.status == "running").values(status="interrupted"))
        row = Run(roots=[], model_id=model_id, status="running")
        s.add(row)
        s.commit()
        return row.id


def _finish_run(engine, run_id: int, roots: Sequence[Path], summary: IndexSummary) -> None:
    with session(engine, write=True) as s:
        row = s.get(Run, run_id)
        row.roots, row.status, row.finished_at = [str(r) for r in roots], "done", utcnow()
        row.counts = {k: getattr(summary, k) for k in RUN_COUNTS}
        s.commit()


def _waited(run: _Run, outcomes: Iterator[Outcome]) -> Iterator[Outcome]:
    """The outcomes, timing how long the main process waits for the readers ("read")."""
    while True:
        with run.timed("read"):
            outcome = next(outcomes, None)
        if outcome is None:
            return
        yield outcome


def _still_missing(run: _Run) -> int:
    """Files marked missing by this run and not found again under another name."""
    with session(run.engine) as s:
        ids = run.marked_missing
        return sum(
            s.scalar(select(func.count(File.id)).where(File.id.in_(ids[i : i + 500]), File.status == "missing"))
            for i in range(0, len(ids), 500)
        )
