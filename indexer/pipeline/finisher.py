"""The GPU path's last step: a thread that waits for each launched batch's vectors on the device, finishes the
device-decoded images' metadata (their perceptual hash, from the thumbnails made beside the crops) and hands
`(Outcome, vector)` items to a sink (the catalog writer, or a queue to it), in launch order."""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from indexer.model import l2_normalize
from indexer.sources import JpegJob, Outcome, decoded_from_gpu

Item = tuple[Outcome, "np.ndarray | None"]
Sink = Callable[[list[Item]], None]


@dataclass
class Batch:
    """One launched batch: what the finisher needs once the device is done with it."""

    plain: list[Outcome]  # known content and failures: no vector
    cpu: list[Outcome]  # decoded by a worker; vectors[len(jobs):]
    jobs: list[JpegJob]  # decoded on the device; vectors[: len(jobs)]
    vectors: object  # torch float32 (n, dim) on the device, unnormalised
    thumbs: object  # torch float (len(jobs), 32, 32)
    events: dict = field(default_factory=dict)  # stage -> (start, end) CUDA events


class Finisher(threading.Thread):
    """Waits for each batch on the device, builds the items and passes them to the sink, in order."""

    def __init__(self, sink: Sink, stages: Counter, depth: int = 2):
        super().__init__(name="pixseek-finisher", daemon=True)
        self.sink, self.stages = sink, stages
        self.batches: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None

    def run(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.error is None:
                try:
                    self.finish(batch)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread by `put`/`close`
                    self.error = exc

    def finish(self, batch: Batch) -> None:
        vectors = l2_normalize(batch.vectors.cpu().numpy())  # waits for this batch's work on the device
        thumbs = batch.thumbs.cpu().numpy()
        for stage, (start, end) in batch.events.items():
            end.synchronize()
            self.stages[stage] += start.elapsed_time(end) / 1000
        started = time.perf_counter()
        n = len(batch.jobs)
        items: list[Item] = [(o, None) for o in batch.plain]
        items += [
            (Outcome(j.file, j.content_hash, decoded_from_gpu(j, t), None), v)
            for j, t, v in zip(batch.jobs, thumbs, vectors[:n], strict=True)
        ]
        items += list(zip(batch.cpu, vectors[n : n + len(batch.cpu)], strict=True))
        self.sink(items)
        self.stages["finish"] += time.perf_counter() - started

    def put(self, batch: Batch) -> None:
        self.raise_error()
        self.batches.put(batch)

    def close(self) -> None:
        self.batches.put(None)
        self.join()
        self.raise_error()

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error
