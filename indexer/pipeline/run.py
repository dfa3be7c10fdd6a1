"""One index run's state and options: settings, summary, progress, and the Run every engine writes through."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select, update

from indexer.library import (
    Embedding,
    Image,
    Model,
    Run,
    activate_model,
    model_key,
    open_catalog,
    session,
)
from indexer.model import Encoder, ModelRef, load_encoder, vision_gflop
from indexer.sources import Outcome, ScanOptions

from .batch_size import given as given_batch_size
from .interrupt import rearm
from .writer import write_batch

SUMMARY_KEYS = ("indexed", "unchanged", "moved", "duplicates", "missing", "failed", "unreadable")


@dataclass(frozen=True)
class IndexSettings:
    """How an index run reads and encodes; the CLI fills it from its options."""

    runtime: str = "auto"
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | None = None  # None: from free GPU memory on the GPU path (indexer.pipeline.batch_size), else 32
    workers: int = field(default_factory=lambda: max(1, (os.cpu_count() or 2) - 1))
    draft: bool = True
    scan: ScanOptions = ScanOptions()
    file_time_limit: float = 60.0  # seconds to read and decode one file before it is skipped; 0: none
    gpu_decode: str = "auto"  # JPEGs also decoded on the device (indexer.pipeline.gpu_feed): auto (on cuda), on, off
    engine: str = "local"  # local: this process and its workers; ray: Ray Data (indexer.pipeline.ray_engine)
    ray_address: str | None = None  # with engine="ray": a running cluster; None starts a local one
    gpus: tuple[str, ...] = ()  # two or more: one process per device, one writer (indexer.pipeline.gpu_workers)


@dataclass
class IndexSummary:
    indexed: int = 0  # files whose content was embedded in this run
    unchanged: int = 0
    moved: int = 0  # renamed or moved: the vector was reused
    duplicates: int = 0  # new paths of content the library already held
    missing: int = 0
    failed: int = 0  # files that could not be read or decoded in this run
    unreadable: int = 0  # files that failed before and are unchanged: not tried again
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), this run
    stages: dict[str, float] = field(default_factory=dict)  # seconds the main process spent per stage
    decoded_on: dict[str, int] = field(default_factory=dict)  # GPU path: images decoded on "gpu" / "cpu"
    warnings: list[str] = field(default_factory=list)  # what the user should know about this run

    def as_dict(self) -> dict:
        return {
            **{k: getattr(self, k) for k in SUMMARY_KEYS},
            "seconds": round(self.seconds, 3),
            "stages": {k: round(v, 3) for k, v in self.stages.items()},
            "decoded_on": self.decoded_on,
            "warnings": self.warnings,
            "failures": [{"path": p, "reason": r} for p, r in self.failures],
        }


@dataclass
class Progress:
    """What a progress display needs; `index` calls the callback with it after every step."""

    total: int = 0  # files to read this run
    done: int = 0
    images: int = 0  # images encoded
    stage: str = "scanning"  # then "loading model" (the first run of a model also converts its weights), "indexing"
    model: str = ""
    device: str = ""  # where the model runs: "cpu", "cuda:0"
    vision_gflop: float = 0.0  # the model's cost per image
    remaining_s: float | None = None  # the time left at the rate measured since the model was loaded
    load_seconds: float | None = None  # how long loading the model took, once it is loaded


ProgressFn = Callable[[Progress], None]


class IndexRun:
    """State of one index run: the catalog, the lazily loaded encoder, the pending batch."""

    def __init__(
        self, library: Path, ref: ModelRef, settings: IndexSettings, progress: ProgressFn | None, activate: bool = True
    ):
        """`activate=False`: the model is recorded but the library's active one stays (a switch in progress)."""
        self.library, self.ref, self.settings, self.progress = library, ref, settings, progress
        self.key = model_key(ref.name, ref.weights_sha256)  # the folder of this model's index under vectors/
        self.db = open_catalog(library)
        with session(self.db, write=True) as s:
            model = activate_model(
                s, ref.name, ref.weights_sha256, ref.config.embed_dim, None, ref.source, activate=activate
            )
            self.model_id, self.precision = model.id, model.precision
            s.commit()
        if settings.dtype == "auto" and self.precision:  # a library keeps the precision it was indexed in
            self.settings = dataclasses.replace(settings, dtype=self.precision)
        self.warnings: list[str] = []
        self.run_id = _start_run(self.db, self.model_id)
        self.encoder: Encoder | None = None
        self._loading: threading.Thread | None = None  # a prefetch in progress (prefetch_model)
        self._load_error: BaseException | None = None
        self.pending: list[Outcome] = []
        self.counts: Counter = Counter()
        self.failures: list[tuple[str, str]] = []
        self.marked_missing: list[int] = []
        self.state = Progress(model=ref.name, vision_gflop=vision_gflop(ref.config))
        self._measured_from: tuple[float, int] | None = None  # (time, files done) when the model was ready
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
        with session(self.db) as s:
            rows = s.scalars(select(Image.content_hash).join(Embedding).where(Embedding.model_id == self.model_id))
            return frozenset(rows)

    def prefetch_model(self) -> None:
        """Start loading the model in a thread now, so that importing torch, mapping the weights and copying
        them to the GPU overlap the first reads and decodes (the GPU path: seconds before the first batch)."""
        if self.encoder is None and self._loading is None:
            self._loading = threading.Thread(target=self._load_quietly, name="pixseek-model-load", daemon=True)
            self._loading.start()

    def model_loading(self) -> bool:
        """Whether a prefetch (prefetch_model) is still loading the model."""
        return self._loading is not None and self._loading.is_alive()

    def _load_quietly(self) -> None:
        try:
            self._load_vision()
        except BaseException as exc:  # noqa: BLE001 - raised in the main thread, by loaded_encoder
            self._load_error = exc

    def _load_vision(self) -> None:
        self._load_encoder()
        self.encoder.tower("vision")  # mapped (or converted, the first time) while the stage says so

    def loaded_encoder(self) -> Encoder:
        if self.encoder is None or self._loading is not None:  # only when some content is new: a re-run needs none
            self.state.stage = "loading model"
            self.report()
            started = time.perf_counter()
            with self.timed("load_model"):  # the wait: the whole load, or what a prefetch has left of it
                if self._loading is None:
                    self._load_vision()
                else:
                    self._loading.join()
                    self._loading = None
                    rearm()  # the thread could not: signal handlers are the main thread's
                    if self._load_error is not None:
                        raise self._load_error
            self.state.load_seconds = time.perf_counter() - started
            self.state.stage, self.state.device = "indexing", self.encoder.device
            self._measured_from = (time.perf_counter(), self.state.done)
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
        # An FP8 tower's vectors passed its gate against bfloat16 (runtimes.fp8): the library's precision is
        # recorded as bfloat16, so a later run without --dtype (on a CPU, say) does not try FP8.
        dtype = "bfloat16" if self.encoder.dtype == "float8" else self.encoder.dtype
        if self.encoder.dtype == "float8":  # built now, so its gate (runtimes.fp8) decides before any file is read
            self.encoder.tower("vision")
            self.warnings.append(
                f"fp8: the vision tower's vectors are within cosine {self.encoder.fp8_min_cosine:.4f} of bfloat16's "
                "on 256 varied photos (the gate asks 0.998)"
            )
        if self.precision and dtype != self.precision:
            self.warnings.append(
                f"this library's vectors were made with {self.precision} weights; this run adds {dtype} ones "
                f"(within cosine 0.999 of them); leave out --dtype to keep {self.precision}"
            )
        with session(self.db, write=True) as tx:
            model = tx.get(Model, self.model_id)
            model.runtime, model.precision = self.encoder.runtime, model.precision or dtype
            tx.commit()

    def write(self, root_ids: dict[str, int], items: list[tuple[Outcome, np.ndarray | None]]) -> None:
        with self.timed("write"), session(self.db, write=True) as s:
            self.counts.update(write_batch(s, root_ids, self.model_id, items))
            s.commit()
        self.failures += [(str(o.file.path), o.error) for o, _ in items if o.error is not None]

    def flush(self, root_ids: dict[str, int]) -> None:
        decoded = [o for o in self.pending if o.decoded is not None]
        vectors = dict(zip(map(id, decoded), self.encode(decoded), strict=True)) if decoded else {}
        self.write(root_ids, [(o, vectors.get(id(o))) for o in self.pending])
        self.state.images += len(decoded)
        self.pending = []
        if decoded and self._measured_from is not None:
            since, done_then = self._measured_from
            rate = (self.state.done - done_then) / max(time.perf_counter() - since, 1e-6)
            self.state.remaining_s = (self.state.total - self.state.done) / rate if rate > 0 else None

    def report(self) -> None:
        if self.progress is not None:
            self.progress(self.state)


def _start_run(engine, model_id: int) -> int:
    """Record a running index run; runs still 'running' were killed (this process holds the lock)."""
    with session(engine, write=True) as s:
        s.execute(update(Run).where(Run.status == "running").values(status="interrupted"))
        row = Run(roots=[], model_id=model_id, status="running")
        s.add(row)
        s.commit()
        return row.id
