"""Threads that decode JPEGs on the device as they arrive, while the main thread keeps taking reader results.

torchvision runs one nvJPEG decoder per process behind a lock and waits for its stream on every
call, and the resize, crop and thumbnail launches after a decode are host work as well. So decoding
in the main thread, a batch at a time, left both the GPU's JPEG engines and the CPU workers idle in
turn (12 MP set: 102 images/s against decode bounds of 193 + 99). Here `submit` queues jobs in
chunks; `threads` lanes take them, each a decode thread and a crop thread on CUDA streams of their own (see
DecodeThreads), and `take` hands back the finished chunks. A full queue blocks `submit`: the time spent there
says the device is the side that is behind.
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
# The hardware engines (nvImageCodec) want larger batches and one lane: on one H200, 12 MP JPEGs decoded
# at 500/s in chunks of 16 and 779/s in chunks of 64; on one H100 two threads decoding at once made 690/s
# against one's 831, and an index run with two lanes 331 images/s against one's 343 (2,000 12 MP JPEGs).
HW_DECODE_CHUNK = 64
HW_THREADS = 1
BACKLOG = 4  # chunks queued beyond those being decoded before `submit` blocks
HANDOVER = 1  # decoded chunks waiting for a lane's crop thread (each holds its full-size images on the device)
# A chunk is pushed early once its images hold this many pixels: 64 phone photos of 12 MP (2.3 GB decoded); 50 MP
# panoramas go 16 at a time.
CHUNK_PIXELS = 800_000_000
# The decode threads' CUDA streams outrank the encode's (lower is higher; torch maps it into the device's range),
# so their kernels' blocks go first once queued. What held the decoder behind the encode was the streams sharing
# CUDA's 8 hardware queues (indexer/__init__.py sets 32), not the SMs: cuBLAS leaving 8-32 SMs free changed nothing.
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


@dataclass
class _Decoded:
    """A chunk between a lane's two threads: its jobs, the decoded images of those read (None where refused)
    on the decode thread's stream, and the event after which they are complete; images None when it failed."""

    jobs: list
    images: list | None
    decoder: str
    ready: object


class DecodeThreads:
    """Decodes submitted JpegJobs on `device` in background threads; see the module docstring.

    Each of `threads` lanes is two threads: one only decodes (the hardware engines or nvJPEG, no GIL held
    while they work), handing the decoded images over to the other, which turns, resizes and crops them and
    makes the thumbnails. Inside an index run the decode call is the slow part (on an H100 about 2.9 ms a 12 MP
    JPEG there with 32 CUDA hardware queues, see indexer/__init__.py, against 1.2-1.5 ms outside a run) and the
    decode thread the busiest; the turning and cropping (1.1-2 s for 1,600 images) no longer waits in line
    with it."""

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
        self.cuda = device.startswith("cuda")
        self.loader = ThreadPoolExecutor(LOADERS, thread_name_prefix="pixseek-load") if load else None
        self.todo: queue.Queue = queue.Queue(maxsize=backlog)
        self.pending: list[gpu_decode.JpegJob] = []
        self.pending_pixels = 0
        self.finished: list[Chunk] = []
        self.cond = threading.Condition()
        self.queued = 0  # jobs pushed and not yet finished
        self.busy = 0.0  # seconds the decode threads spent decoding, summed
        self.crop_busy = 0.0  # seconds the crop threads spent turning, resizing and cropping, summed
        self.blocked = 0.0  # seconds `submit` waited for room in the queue
        self.error: BaseException | None = None
        self.threads = []
        for i in range(threads):
            handover: queue.Queue = queue.Queue(maxsize=HANDOVER)
            for name, loop in (("decode", self._decode_loop), ("crop", self._crop_loop)):
                self.threads.append(threading.Thread(target=loop, args=(handover,), name=f"pixseek-{name}-{i}"))
        for thread in self.threads:
            thread.daemon = True
            thread.start()

    def submit(self, job: gpu_decode.JpegJob) -> None:
        self.pending.append(job)
        self.pending_pixels += (job.fields.get("width") or 0) * (job.fields.get("height") or 0)
        if len(self.pending) >= self.chunk or self.pending_pixels >= CHUNK_PIXELS:
            self.push()

    def push(self) -> None:
        """Queue the jobs not yet queued (a partial chunk too); blocks while the queue is full."""
        if not self.pending:
            return
        jobs, self.pending, self.pending_pixels = self.pending, [], 0
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
        for _ in range(len(self.threads) // 2):
            self.todo.put(None)
        for thread in self.threads:
            thread.join()
        if self.loader is not None:
            self.loader.shutdown(cancel_futures=True)

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _stream(self):
        """This thread's own CUDA stream on the device (the current device and stream are per thread)."""
        import torch

        device = torch.device(self.device)
        if device.index is not None:
            torch.cuda.set_device(device)
        stream = torch.cuda.Stream(device, priority=STREAM_PRIORITY)
        torch.cuda.set_stream(stream)
        return stream

    def _decode_loop(self, handover: queue.Queue) -> None:
        import torch

        if self.cuda:
            self._stream()
        while (jobs := self.todo.get()) is not None:
            started, item = time.perf_counter(), None
            try:
                jobs = [j if isinstance(j, gpu_decode.JpegJob) else j.result() for j in jobs]
                read = [j for j in jobs if j.data is not None]
                with torch.inference_mode():
                    images, decoder = gpu_decode.decode_many([j.data for j in read], self.device) if read else ([], "")
                item = _Decoded(jobs, images, decoder, self._record())
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread by submit/take
                self.error = exc
                item = _Decoded(jobs, None, "", None)
            with self.cond:
                self.busy += time.perf_counter() - started
            handover.put(item)  # blocks while the crop thread is behind: decoded images wait on the device
        handover.put(None)

    def _crop_loop(self, handover: queue.Queue) -> None:
        import torch

        stream = self._stream() if self.cuda else None
        while (item := handover.get()) is not None:
            started, chunk = time.perf_counter(), None
            try:
                if item.images is not None:
                    if stream is not None and item.ready is not None:
                        stream.wait_event(item.ready)
                    with torch.inference_mode():
                        chunk = self._crop(item)
                    if chunk.ready is not None:
                        # The decoded images were made on the decode thread's stream and are freed there once
                        # dropped below: nothing may still read them here when that stream reuses their memory.
                        chunk.ready.synchronize()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread by submit/take
                self.error = exc
            del item.images
            with self.cond:
                self.crop_busy += time.perf_counter() - started
                self.queued -= len(item.jobs)
                if chunk is not None:
                    self.finished.append(chunk)
                self.cond.notify_all()

    def _record(self):
        """A CUDA event after everything queued so far on this thread's stream; None on the CPU."""
        if not self.cuda:
            return None
        import torch

        event = torch.cuda.Event()
        event.record()
        return event

    def _crop(self, item: _Decoded) -> Chunk:
        read = [j for j in item.jobs if j.data is not None]  # decode_many's images are of these, in order
        crops, thumbs, done, refused = gpu_decode.crop_decoded(read, item.images, self.size, self.device)
        decoded = [dataclasses.replace(read[i], data=None) for i in done]  # the bytes are not needed past here
        refused = [read[i] for i in refused] + [j for j in item.jobs if j.data is None]
        return Chunk(decoded, crops, thumbs, refused, self._record(), item.decoder)
