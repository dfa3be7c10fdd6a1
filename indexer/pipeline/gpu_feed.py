"""The GPU path of the indexer: JPEGs decoded on the GPU and on CPU workers at once, encode overlapped
with the next batch, results written by a separate thread.

Reader workers (indexer.sources.reader) read and hash every file; a JPEG whose hash falls under the shared
`share` goes to the GPU as a JpegJob (its header read; its bytes read again here, in the decoder's loader
threads), everything else is decoded by the worker as on the CPU path. `Feed.add` hands jobs to the device
decoder threads (indexer.sources.decode_threads) as they arrive and gathers their crops and the CPU crops
into batches; `launch` copies the CPU crops through
pinned memory and queues the vision tower, asynchronously; a `Finisher` thread (pipeline.finisher) waits for each
batch's vectors, finishes the GPU-decoded images' metadata (perceptual hash) and hands
`(Outcome, vector)` pairs to a sink (the catalog writer, or a queue to it). `share` follows the load:
lowered while the device decoder is behind, raised while the main thread waits on the CPU workers and
the device decoder has little to do. With device "cpu" the same code runs on torchvision's CPU
decoder (tests).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from indexer.errors import ImageError
from indexer.model import choose_device, choose_runtime
from indexer.sources import (
    DECODE_CHUNK,
    GPU_MIN_PIXELS,
    PHASH_SIZE,
    Chunk,
    DecodeThreads,
    JpegJob,
    Outcome,
    decode_bytes,
    decoder_shape,
    hardware_jpeg,
    read_all,
    read_found,
    with_bytes,
)

from .batch_size import AUTO_CAP, for_encoder
from .finisher import Batch, Finisher, Sink
from .read_ahead import ReadAhead
from .run import IndexRun

SHARE_STEP = 0.02  # change of the share per steering window
STEER_EVERY = 64  # reader results per steering window
WAIT_FRACTION = 0.05  # share of a window spent waiting (on workers, or for the device decoder) that counts
IDLE_DECODER_JOBS = 2 * DECODE_CHUNK  # jobs in flight under which the device decoder has room for more
# Share of large JPEGs sent to the GPU before the load is known: the measured decode bounds on an H100
# host (GPU path 193/s, 15 CPU workers 99/s for 12 MP JPEGs) balance at 193 / (193 + 99) = 0.66.
INITIAL_SHARE = 0.66
# The same with the hardware JPEG engines (nvImageCodec): 700-780 12 MP JPEGs/s against the CPU workers' ~96.
HW_INITIAL_SHARE = 0.9
# Images per batch while the hardware JPEG decoder feeds the run, where the batch size is automatic: smaller
# batches keep its chunks flowing into the encoder. On one H100, 2,000 12 MP JPEGs indexed at 374 images/s in
# batches of 64 against 295 in batches of 256 (327 against 283 with CUDA's 8 hardware queues); the encoder itself
# loses 2% at 64 (timm ViT-g/14, 853 against 870). JPEGs decoded by the CPU workers keep the full batch.
HW_BATCH = 64
PENDING_LIMIT = 256  # flush at this many outcomes even when few need the model (re-runs, failures)
# Decoded images gathered while the model still loads, before the main thread waits for it (224 px: 300 MB): a 12 MP
# run under py-spy had the main thread wait 5 s in the first launch with no JPEG submitted, the decoder idle.
LOAD_BACKLOG = 2048
READ_AHEAD_BATCHES = 2  # files handed to the readers beyond those consumed, in batches


class Feed:
    """Gathers reader results into batches and launches them on the encoder's device."""

    def __init__(
        self,
        load_encoder: Callable[[], object],
        batch_size: int | None,
        share,
        sink: Sink,
        device: str,
        size: int,
        loading: Callable[[], bool] = lambda: False,
    ):
        import torch

        self.torch, self.load_encoder, self.batch_size, self.share = torch, load_encoder, batch_size, share
        self.loading = loading  # whether the model is still loading in its own thread (load_encoder would wait)
        self.auto_batch = batch_size is None
        self.hardware = False  # whether the device decoder runs on the hardware JPEG engines
        self.encoder = None  # loaded when the first batch is launched: a re-run needs none
        # The device decoder needs only the device and the crop size: it starts at the first JPEG, while the model
        # still loads.
        self.device, self.size = device, size
        self.decoder: DecodeThreads | None = None
        self.stages: Counter = Counter()
        self.finisher = Finisher(sink, Counter())
        self.finisher.start()
        self.plain: list[Outcome] = []
        self.cpu: list[Outcome] = []
        self.chunks: list[Chunk] = []  # decoded on the device, not yet in a batch
        self.turn, self.seen, self.waited, self.blocked = 0, 0, 0.0, 0.0
        self.window_started = time.perf_counter()
        self.counts: Counter = Counter()

    def _load(self) -> None:
        self.encoder = self.load_encoder()
        self.device, self.size = self.encoder.device, self.encoder.config.vision.image_size
        self.batch_size = self.batch_size or for_encoder(self.encoder)  # None: what fits the device
        self._on_device()
        self.pinned = [[self._host_buffer(), None] for _ in range(3)]  # [buffer, event of its last copy]
        # Host-to-device copies run on a stream of their own, beside the previous batch's encode: on the encode's
        # stream the model waited for each batch's crops (2% of the time on 500x375 JPEGs, one H100).
        self.copy_stream = self.torch.cuda.Stream(self.device) if self.cuda else None

    def _start_decoder(self) -> None:
        self._on_device()
        self.decoder = DecodeThreads(self.size, self.device, *decoder_shape(self.device), load=with_bytes)
        self.hardware = hardware_jpeg(self.device)

    @property
    def limit(self) -> int:
        """Images in the next batch at most: the batch size, or HW_BATCH where it is automatic and the hardware
        JPEG decoder feeds the run."""
        size = self.batch_size or AUTO_CAP
        return min(size, HW_BATCH) if self.auto_batch and self.hardware else size

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    def _on_device(self) -> None:
        if self.cuda:  # events and copies go to the current device: make it the encoder's (--gpus shards)
            self.torch.cuda.set_device(self.device)

    def _host_buffer(self):
        torch = self.torch
        buffer = torch.empty((self.batch_size, self.size, self.size, 3), dtype=torch.uint8)
        return buffer.pin_memory() if self.cuda else buffer

    def consume(self, results: Iterable[Outcome | JpegJob], on_item: Callable[[], None]) -> None:
        """Add every reader result, timing the waits on the workers; launches full batches as they fill."""
        results = iter(results)
        while True:
            started = time.perf_counter()
            item = next(results, None)
            waited = time.perf_counter() - started
            self.stages["read"] += waited
            self.waited += waited
            if item is None:
                break
            self.add(item)
            on_item()
        self.drain()

    def add(self, item: Outcome | JpegJob) -> None:
        is_job = isinstance(item, JpegJob)
        if is_job:
            if self.decoder is None:
                self._start_decoder()
            self.decoder.submit(item)
        elif item.decoded is not None:
            self.cpu.append(item)
        else:
            self.plain.append(item)
        self._collect()
        self.seen += 1
        if self.seen >= STEER_EVERY:
            self._steer()
        if self.ready >= self.limit or len(self.plain) >= PENDING_LIMIT:
            if not self._gathering():
                self.launch()
            elif len(self.plain) >= PENDING_LIMIT:  # outcomes that need no model (known content, failures) go on
                plain, self.plain = self.plain, []
                self._hand(self._plain(plain))

    def _gathering(self) -> bool:
        """Whether decoded images wait for the model still loading (see LOAD_BACKLOG) instead of being launched."""
        return self.encoder is None and self.ready < LOAD_BACKLOG and self.loading()

    @property
    def ready(self) -> int:
        """Images decoded (on either side) and not yet in a batch."""
        return len(self.cpu) + sum(len(c.jobs) for c in self.chunks)

    def _collect(self, wait: bool = False) -> None:
        """Take the device decoder's finished chunks; what it refused is decoded here, as a worker would."""
        if self.decoder is None:
            return
        for chunk in self.decoder.take(wait):
            for outcome in map(self._on_cpu, chunk.refused):
                (self.cpu if outcome.decoded is not None else self.plain).append(outcome)
            if chunk.jobs:
                self.chunks.append(chunk)

    def drain(self) -> None:
        """Launch everything still pending once the readers are done."""
        self._collect(wait=True)
        while self.plain or self.ready:
            self.launch()

    def launch(self) -> None:
        """Queue one batch (at most `limit` images) on the device and hand it to the finisher."""
        if self.encoder is None and (self.cpu or self.chunks):  # the first batch waits for the model
            self._load()
        plain, self.plain = self.plain, []
        limit = self.limit
        cpu, self.cpu = self.cpu[:limit], self.cpu[limit:]
        chunks = self._take_chunks(limit - len(cpu))
        if not (plain or cpu or chunks):
            return
        with self.torch.inference_mode():
            batch = self._encode(plain, cpu, chunks) if cpu or chunks else self._plain(plain)
        self._hand(batch)

    def _hand(self, batch: Batch) -> None:
        started = time.perf_counter()
        self.finisher.put(batch)  # blocks while the device is two batches behind
        self.stages["wait_device"] += time.perf_counter() - started

    def _take_chunks(self, n: int) -> list[Chunk]:
        """Decoded chunks holding n images at most (the last one split)."""
        out: list[Chunk] = []
        while self.chunks and n > 0:
            chunk = self.chunks.pop(0)
            if len(chunk.jobs) > n:
                chunk, rest = chunk.split(n)
                self.chunks.insert(0, rest)
            out.append(chunk)
            n -= len(chunk.jobs)
        return out

    def _steer(self) -> None:
        """Fewer JPEGs to the device while it is behind (submit blocked), more while the main thread
        starves for CPU-decoded images and the device decoder has little left to do."""
        elapsed = max(time.perf_counter() - self.window_started, 1e-9)
        blocked = self.decoder.blocked - self.blocked if self.decoder is not None else 0.0
        # Idle: under two nvJPEG chunks in flight. Not scaled with the hardware decoder's larger chunks: on an
        # H200 that sent more 12 MP JPEGs to a device side already behind (1,000 files: 107 images/s, 200 without).
        idle = self.decoder is None or self.decoder.in_flight < IDLE_DECODER_JOBS
        step = 0.0
        if blocked > WAIT_FRACTION * elapsed:
            step = -SHARE_STEP
        elif self.waited > WAIT_FRACTION * elapsed and idle:
            step = SHARE_STEP
        if self.share is not None:
            self.share.value = min(1.0, max(0.0, self.share.value + step))
        self.seen, self.waited, self.window_started = 0, 0.0, time.perf_counter()
        self.blocked += blocked

    def _plain(self, plain: list[Outcome]) -> Batch:
        empty = self.torch.zeros((0, 1))
        return Batch(plain, [], [], empty, empty)

    def _encode(self, plain: list[Outcome], cpu: list[Outcome], chunks: list[Chunk]) -> Batch:
        torch, events = self.torch, {}
        for chunk in chunks:
            chunk.on_stream(torch.cuda.current_stream() if self.cuda else None)
        jobs = [j for c in chunks for j in c.jobs]
        self.counts.update(gpu=len(jobs), cpu=len(cpu))
        for chunk in chunks:  # which device decoder: the hardware engines (nvimgcodec) or nvjpeg's CUDA one
            self.counts[f"gpu_{chunk.decoder}"] += len(chunk.jobs)
        with self._event(events, "copy"):
            parts = [c.crops for c in chunks] + ([self._to_device(cpu)] if cpu else [])
            pixels = torch.cat(parts) if len(parts) > 1 else parts[0]
        with self._event(events, "encode"):
            vectors = self.encoder.vision_tensor(pixels)
        size = PHASH_SIZE
        thumbs = torch.cat([c.thumbs for c in chunks]) if chunks else torch.zeros((0, size, size))
        return Batch(plain, cpu, jobs, vectors, thumbs, events)

    def _to_device(self, outcomes: Sequence[Outcome]):
        """uint8 crops through a pinned buffer (reused once its previous copy has finished)."""
        slot = self.pinned[self.turn % len(self.pinned)]
        self.turn += 1
        if slot[1] is not None:
            slot[1].synchronize()
        host = slot[0][: len(outcomes)]  # a batch never holds more crops than batch_size
        np.stack([o.decoded.crop for o in outcomes], out=host.numpy())
        if not self.cuda:
            return host  # encoded before the buffer comes round again (the CPU encodes synchronously)
        torch = self.torch
        with torch.cuda.stream(self.copy_stream):
            on_device = host.to(self.device, non_blocking=True)
            slot[1] = torch.cuda.Event()
            slot[1].record()
        encode = torch.cuda.current_stream()
        encode.wait_event(slot[1])
        on_device.record_stream(encode)  # its memory came from the copy stream's pool: freed after the encode
        return on_device

    def _on_cpu(self, job: JpegJob) -> Outcome:
        """A JPEG the device decoder refused, decoded here as a worker would; one whose file changed after its
        worker hashed it (no bytes) is read and hashed afresh."""
        file, digest, data = job.file, job.content_hash, job.data
        try:
            if data is None:
                data, file = read_found(job.file)
                digest = hashlib.sha256(data).hexdigest()
            image = decode_bytes(data, str(file.path), self.size, digest=digest)
        except ImageError as exc:
            return Outcome(file, digest if data is not None else None, None, exc.reason)
        return Outcome(file, digest, image, None)

    def _event(self, events: dict, stage: str):
        return _Timed(self, events, stage)

    def close(self) -> Counter:
        """Wait for the last batch; returns the stage seconds (main thread, device, finisher, decoders)."""
        if self.decoder is not None:
            self.decoder.close()
            decoder = self.decoder
            self.stages.update(gpu_decode=decoder.busy, gpu_crop=decoder.crop_busy, gpu_decode_blocked=decoder.blocked)
        self.finisher.close()
        return self.stages + self.finisher.stages


def feed_files(
    files: Sequence,
    known: frozenset,
    read,
    workers: int,
    load_encoder,
    batch_size: int | None,
    sink: Sink,
    on_item: Callable[[Feed], None] = lambda feed: None,
    started: Callable[[], None] = lambda: None,
    *,
    device: str,
    loading: Callable[[], bool] = lambda: False,
) -> tuple[Counter, Counter]:
    """Read `files` in `workers` processes and encode them through a Feed on `device`; returns (stage seconds,
    images decoded on 'gpu' / 'cpu'). `sink` receives each finished batch, `on_item` runs per result,
    `started` once the reader processes exist (reader.read_all); while `loading()` says the model is still
    loading in its own thread, decoded images gather (up to LOAD_BACKLOG of them) before the first launch waits."""
    import dataclasses
    import multiprocessing

    first = HW_INITIAL_SHARE if hardware_jpeg(device) else INITIAL_SHARE
    share = multiprocessing.get_context("fork").Value("d", first, lock=False)
    read = dataclasses.replace(read, gpu_share=share, gpu_min_pixels=GPU_MIN_PIXELS)
    feed = Feed(load_encoder, batch_size, share, sink, device, read.size, loading)
    ahead = ReadAhead(files, READ_AHEAD_BATCHES * (batch_size or AUTO_CAP))
    results = read_all(ahead, known, read, workers, started)

    def consumed() -> None:
        ahead.consumed()
        on_item(feed)

    try:
        feed.consume(results, consumed)
    finally:
        ahead.stop()
        results.close()
        stages = feed.close()
    return stages, feed.counts


def feed_run(run: IndexRun, todo: Sequence, root_ids: dict[str, int], read, workers: int) -> None:
    """The GPU path of one index run (`run`: pipeline.IndexRun): read, decode on both sides, encode, write."""

    def progress(feed: Feed) -> None:
        run.state.done += 1
        run.state.images = feed.counts["gpu"] + feed.counts["cpu"]
        run.report()

    batch, sink = run.settings.batch_size, lambda items: run.write(root_ids, items)
    # A file to read is most often new content: the model loads while the first files are read.
    prefetch = run.prefetch_model if todo else lambda: None
    known = run.known_hashes()
    device = choose_device(choose_runtime(run.settings.runtime, run.settings.device), run.settings.device)
    stages, counts = feed_files(
        todo, known, read, workers, run.loaded_encoder, batch, sink, progress, prefetch, device=device,
        loading=run.model_loading,
    )  # fmt: skip
    run.stages.update(stages)
    run.decoded_on.update(counts)


class _Timed:
    """Brackets a stage with CUDA events (device time, read by the finisher), or wall time on the CPU."""

    def __init__(self, feed: Feed, events: dict, stage: str):
        self.feed, self.events, self.stage = feed, events, stage

    def __enter__(self):
        if self.feed.cuda:
            torch = self.feed.torch
            self.pair = (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
            self.pair[0].record()
        else:
            self.started = time.perf_counter()

    def __exit__(self, *exc) -> None:
        if self.feed.cuda:
            self.pair[1].record()
            self.events[self.stage] = self.pair
        else:
            self.feed.stages[self.stage] += time.perf_counter() - self.started
