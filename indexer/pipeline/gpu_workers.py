"""`--gpus`: one index run spread over several devices, one process per device, one writer.

The files to read are dealt round-robin into one share per device. Each GPU worker runs in its own
(spawned) process: its own reader workers, its own encoder on its device, the GPU path's feed
(indexer.pipeline.gpu_feed). Instead of writing, a worker sends each finished batch of (outcome, vector)
pairs to this process, whose single writer records them exactly as a one-device run would (the catalog
and vectors are the same). A worker that fails or dies stops the run with WorkerFailed.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import queue
from collections.abc import Sequence

from indexer.errors import PixseekError
from indexer.model import installed
from indexer.sources import NO_CROP, Outcome

from .batch_size import given as given_batch_size
from .gpu_feed import feed_files
from .run import IndexRun

POLL_S = 1.0  # how often the writer looks for dead workers while it waits
MERGE = 4  # worker batches written in one transaction at most


class GpuSpecError(PixseekError):
    def __init__(self, spec: str, reason: str):
        self.spec, self.reason = spec, reason
        super().__init__(f"--gpus {spec}: {reason}")


class WorkerFailed(PixseekError):
    def __init__(self, device: str, reason: str):
        self.device, self.reason = device, reason
        super().__init__(f"the indexing process on {device} failed: {reason}")


def resolve_gpus(spec: str, visible: int) -> tuple[str, ...]:
    """Devices for --gpus: 'all', a count ('2'), or indices ('0,2'); `visible`: GPUs this machine has."""
    if visible < 1:
        raise GpuSpecError(spec, "this machine's torch build sees no GPU")
    text = spec.strip().lower()
    if text == "all":
        return tuple(f"cuda:{i}" for i in range(visible))
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() for p in parts):
        raise GpuSpecError(spec, "use all, a number of GPUs, or GPU indices such as 0,1")
    if len(parts) == 1:
        count = int(parts[0])
        if not 1 <= count <= visible:
            raise GpuSpecError(spec, f"asks for {count} GPUs; this machine has {visible}")
        return tuple(f"cuda:{i}" for i in range(count))
    indices = [int(p) for p in parts]
    if len(set(indices)) != len(indices) or max(indices) >= visible:
        raise GpuSpecError(spec, f"indices must be distinct and below {visible} (the GPUs this machine has)")
    return tuple(f"cuda:{i}" for i in indices)


def visible_gpus() -> int:

    if not installed("torch"):
        return 0
    import torch

    return torch.cuda.device_count()


def _portable(items: list[tuple[Outcome, object]]) -> list[tuple[Outcome, object]]:
    """Items without their CPU crops (not needed by the writer; 150 KB each through the queue)."""

    out = []
    for outcome, vector in items:
        if outcome.decoded is not None:
            outcome = dataclasses.replace(outcome, decoded=dataclasses.replace(outcome.decoded, crop=NO_CROP))
        out.append((outcome, vector))
    return out


def _worker(index: int, device: str, model: str, settings, files, known, read, workers: int, out) -> None:
    """One worker's process: read, decode, encode on `device`; finished batches go to `out`."""
    try:
        from indexer.model import load_encoder

        def load():
            s = settings
            size = given_batch_size(s.batch_size)  # the encoder's own batches; the feed sizes its own
            return load_encoder(model, runtime=s.runtime, device=device, dtype=s.dtype, batch_size=size)

        def sink(items) -> None:
            out.put(("items", index, _portable(items)))

        stages, counts = feed_files(files, known, read, workers, load, settings.batch_size, sink, device=device)
        out.put(("done", index, {"stages": dict(stages), "decoded_on": dict(counts)}))
    except BaseException as exc:  # noqa: BLE001 - reported to the writer process, which raises WorkerFailed
        out.put(("error", index, f"{type(exc).__name__}: {' '.join(str(exc).split())}"))


def gpu_workers_run(run: IndexRun, todo: Sequence, root_ids: dict[str, int], read, devices: Sequence[str]) -> None:
    """Index `todo` over `devices` (run: pipeline.IndexRun); this process writes every batch."""
    if not todo:
        return  # nothing new: no process, no model load
    context = multiprocessing.get_context("spawn")  # CUDA cannot be used in a forked child
    out = context.Queue(maxsize=4 * len(devices))
    known, workers = run.known_hashes(), max(1, run.settings.workers // len(devices))
    processes = [
        context.Process(
            target=_worker,
            args=(i, device, str(run.ref.path), run.settings, todo[i :: len(devices)], known, read, workers, out),
            name=f"pixseek-gpu-{i}",
        )
        for i, device in enumerate(devices)
    ]
    for process in processes:
        process.start()
    try:
        _collect(run, root_ids, out, processes, devices)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def _collect(run, root_ids: dict[str, int], out, processes, devices: Sequence[str]) -> None:
    running = set(range(len(processes)))
    while running:
        items = []
        for kind, index, payload in _messages(out, processes, devices, running):
            if kind == "error":
                raise WorkerFailed(devices[index], payload)
            if kind == "done":
                running.discard(index)
                run.stages.update({f"{k}_all_workers": v for k, v in payload["stages"].items()})
                run.decoded_on.update(payload["decoded_on"])
            else:
                items += payload
        if items:
            run.write(root_ids, items)
            run.state.done += len(items)
            run.state.images += sum(o.decoded is not None for o, _ in items)
            run.report()


def _messages(out, processes, devices: Sequence[str], running: set[int]) -> list[tuple]:
    """The next message, and up to MERGE - 1 more already waiting: their batches are written in one
    transaction (a commit is about a third of a batch's write time)."""
    while True:
        try:
            messages = [out.get(timeout=POLL_S)]
            break
        except queue.Empty:
            for i in running:
                if not processes[i].is_alive():
                    raise WorkerFailed(
                        devices[i], f"the process ended with exit code {processes[i].exitcode}"
                    ) from None
    while len(messages) < MERGE:
        try:
            messages.append(out.get_nowait())
        except queue.Empty:
            break
    return messages
