"""Threads that decode JPEGs on the device as they arrive, while the main thread keeps taking reader results.

torchvision runs one nvJPEG decoder per process behind a lock and waits for its stream on every
call, and the resize, crop and thumbnail launches after a decode are host work as well. So decoding
in the main thread, a batch at a time, left both the GPU's JPEG engines and the CPU workers idle in
turn (12 MP set: 102 images/s against decode bounds of 193 + 99). Here `submit` queues jobs in
chunks; `threads` threads, each on its own CUDA stream, decode them (one thread's resize overlaps
another's nvJPEG call, which runs without the GIL) and `take` hands back the finished chunks. A full
queue blocks `submit`: the time spent there says the device is the side that is behind. On an H100
host confined to 16 cores: 201 images/s end to end on 12 MP JPEGs; the threads alone decode 405/s.
Jobs that come without their bytes (reader.with_bytes says why) are given them by `load` in LOADERS
threads as they are queued, ahead of the decoder; a job still without bytes after that (its file changed)
goes back as refused.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import gpu_decode, hw_jpeg

DECODE_CHUNK = 16  # jobs per nvJPEG call: batched decoding without holding a whole model batch back
THREADS = 2
# The hardware engines (nvImageCodec) want larger batches and one thread: on one H200, 12 MP JPEGs decoded
# at 500/s in chunks of 16 and 779/s in chunks of 64, and a second thread made the index run slower
# (1,000 12 MP JPEGs, 15 CPU workers: 200 images/s with 1 thread and chunks of 64, 149 with 2 and 16).
HW_DECODE_CHUNK = 64
HW_THREADS = 1
BACKLOG = 4  # chunks queued beyond those being decoded before `submit` blocks
# The decode threads' CUDA streams outrank the encode's (lower is higher; torch maps it into the device's range):
# while a batch is encoded every SM is busy, and the decoder's own kernels (colour conversion, resize) waited
# for it; the decode call, which returns only when its images are done, stalled with them.
STREAM_PRIORITY = -100
LOADERS = 4  # threads reading jobs' bytes ahead of the decoder (file reads release the GIL)


def decoder_shape(device: str) -> tuple[int, int]:
    """(threads, jobs per chunk) for the device decoder on `device`: the hardware engines' or nvJPEG's.
    Read at each call, so a benchmark can set the module's constants to try others."""
    if hw_jpeg.usable(device):
        return HW_THREADS, HW_DECODE_CHUNK
    return THREADS, DECODE_CHUNK


@dataclass
class Chunk:
    """Decoded jobs: crops (m, S, S, 3) uint8 and thumbs (m, 32, 32) on the device, in `jobs` order."""

    jobs: list[gpu_decode.JpegJob]
    crops: object
    thumbs: object
    refused: list[gpu_decode.JpegJob]  # for the CPU decoder
    ready: object = None  # CUDA event recorded after the chunk's last kernel; None on the CPU
    decoder: str = ""  # which device decoder made it: "nvimgcodec" (hardware engines) or "nvjpeg"

    def split(self, n: int) -> tuple[Chunk, Chunk]:
        """The first n decoded jobs, and the rest (refused ones go with the first part)."""
        head = Chunk(self.jobs[:n], self.crops[:n], self.thumbs[:n], self.refused, self.ready, self.decoder)
        return head, Chunk(self.jobs[n:], self.crops[n:], self.thumbs[n:], [], self.ready, self.decoder)

    def on_stream(self, stream) -> None:
        """Make `stream` wait for this chunk, and keep its memory from reuse until that stream is done."""
        if self.ready is not None:
            stream.wait_event(self.ready)
            self.crops.record_stream(stream)
            self.thumbs.record_stream(stream)


class DecodeThreads:
    """Decodes submitted JpegJobs on `device` in background threads; see the module docstring."""

    def __init__(
        self,
        size: int,
        device: str,
        threads: int = THREADS,
        chunk: int = DECODE_CHUNK,
        backlog: int = BACKLOG,
        load: Callable[[gpu_decode.JpegJob], gpu_decode.JpegJob] | None = None,
    ):
        self.size, self.device, self.chunk, self.load = size, device, chunk, load
        self.loader = ThreadPoolExecutor(LOADERS, thread_name_prefix="pixseek-load") if load else None
        self.todo: queue.Queue = queue.Queue(maxsize=backlog)
        self.pending: list[gpu_decode.JpegJob] = []
        self.finished: list[Chunk] = []
        self.cond = threading.Condition()
        self.queued = 0  # jobs pushed and not yet finished
        self.busy = 0.0  # seconds the threads spent decoding, summed
        self.blocked = 0.0  # seconds `submit` waited for room in the queue
        self.error: BaseException | None = None
        self.threads = [
            threading.Thread(target=self._run, name=f"pixseek-decode-{i}", daemon=True) for i in range(threads)
        ]
        for thread in self.threads:
            thread.start()

    def submit(self, job: gpu_decode.JpegJob) -> None:
        self.pending.append(job)
        if len(self.pending) >= self.chunk:
            self.push()

    def push(self) -> None:
        """Queue the jobs not yet queued (a partial chunk too); blocks while the queue is full."""
        if not self.pending:
            return
        jobs, self.pending = self.pending, []
        with self.cond:
            self.queued += len(jobs)
        started = time.perf_counter()
        if self.loader is not None:  # reads start now; the decoder takes the jobs in order as they are read
            jobs = [self.loader.submit(self.load, j) if j.data is None else j for j in jobs]
        while True:
            self._raise()
            try:
                self.todo.put(jobs, timeout=0.1)
                break
            except queue.Full:
                continue
        self.blocked += time.perf_counter() - started

    @property
    def in_flight(self) -> int:
        """Jobs submitted and not yet finished."""
        with self.cond:
            return self.queued + len(self.pending)

    def take(self, wait: bool = False) -> list[Chunk]:
        """The chunks finished so far; with `wait`, first push and finish everything submitted."""
        if wait:
            self.push()
        with self.cond:
            while wait and self.queued and self.error is None:
                self.cond.wait(timeout=0.1)
            self._raise()
            out, self.finished = self.finished, []
        return out

    def close(self) -> None:
        for _ in self.threads:
            self.todo.put(None)
        for thread in self.threads:
            thread.join()
        if self.loader is not None:
            self.loader.shutdown(cancel_futures=True)

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        import torch

        if self.device.startswith("cuda"):  # the current device and stream are per thread
            device = torch.device(self.device)
            if device.index is not None:
                torch.cuda.set_device(device)
            torch.cuda.set_stream(torch.cuda.Stream(device, priority=STREAM_PRIORITY))
        while (jobs := self.todo.get()) is not None:
            started, chunk = time.perf_counter(), None
            try:
                jobs = [j if isinstance(j, gpu_decode.JpegJob) else j.result() for j in jobs]
                with torch.inference_mode():
                    chunk = self._decode(jobs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread by submit/take
                self.error = exc
            with self.cond:
                self.busy += time.perf_counter() - started
                self.queued -= len(jobs)
                if chunk is not None:
                    self.finished.append(chunk)
                self.cond.notify_all()

    def _decode(self, jobs: list[gpu_decode.JpegJob]) -> Chunk:
        read = [j for j in jobs if j.data is not None]
        crops, thumbs, done, refused, decoder = gpu_decode.decode_jobs(read, self.size, self.device)
        ready = None
        if self.device.startswith("cuda"):
            import torch

            ready = torch.cuda.Event()
            ready.record()
        decoded = [dataclasses.replace(read[i], data=None) for i in done]  # the bytes are not needed past here
        refused = [read[i] for i in refused] + [j for j in jobs if j.data is None]
        return Chunk(decoded, crops, thumbs, refused, ready, decoder)
