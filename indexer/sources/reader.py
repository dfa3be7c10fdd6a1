"""Read, hash and decode the files to index, in worker processes.

A worker reads a file's bytes once, hashes them, and decodes only content the library does not
already hold for the model: a renamed, moved or copied file costs one read, no decode and no model call.
"""

from __future__ import annotations

import dataclasses
import hashlib
import multiprocessing
import multiprocessing.pool
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from indexer.errors import ImageError

from . import tars
from .decode import Decoded, decode_bytes
from .files import read_file
from .gpu_decode import JpegJob, probe
from .guard import TimeUp, time_limit
from .images import MAX_PIXELS
from .scan import FoundFile


@dataclass(frozen=True)
class ReadSettings:
    size: int  # the model's input size
    draft: bool = True  # PIL draft decoding of large JPEGs
    max_pixels: int = MAX_PIXELS
    time_limit: float = 60.0  # seconds to read and decode one file; 0: no limit
    # GPU path (indexer.pipeline.gpu_feed): a shared multiprocessing.Value, the fraction of JPEGs handed over
    # undecoded; None: every file is decoded here.
    gpu_share: object = None
    gpu_min_pixels: int = 0  # smaller JPEGs are decoded here; the GPU path sets gpu_decode.GPU_MIN_PIXELS


@dataclass(frozen=True)
class Outcome:
    file: FoundFile
    content_hash: str | None  # None when the file could not be read
    decoded: Decoded | None  # None for known content, and for failures
    error: str | None  # the one-line reason a file failed


_known: frozenset[str] = frozenset()
_settings = ReadSettings(size=224)


def _init(known: frozenset[str], settings: ReadSettings) -> None:
    global _known, _settings
    _known, _settings = known, settings


def read_one(file: FoundFile) -> Outcome | JpegJob:
    """Outcome of one file (or, on the GPU path, a JPEG to decode there); never raises for a bad file."""
    if file.problem is not None:
        return Outcome(file, None, None, file.problem)
    limit = _settings.time_limit
    try:
        with time_limit(limit):
            return _read(file)
    except TimeUp:
        return Outcome(file, None, None, f"took over {limit:g} s to read and decode; --file-time-limit raises it")
    except Exception as exc:  # noqa: BLE001
        # Decoders of hostile files raise types no list can name; one file must never end a run.
        return Outcome(file, None, None, f"cannot decode ({type(exc).__name__}: {' '.join(str(exc).split())})")


def read_found(file: FoundFile) -> tuple[bytes, FoundFile]:
    """The file's bytes (a tar member's from its shard), and the file as read; ImageError when unreadable."""
    if file.member is not None:
        tar = file.root / file.relpath.split(tars.MEMBER_SEP, 1)[0]
        return tars.read_member(tar, file.member.offset, file.member.size, str(file.path)), file
    data, info = read_file(file.path)
    # Record the size and mtime of what was read, not what the scan saw: a file that grew or was
    # replaced in between is stored as the version hashed, and a later change is seen next run.
    return data, dataclasses.replace(file, size=info.st_size, mtime_ns=info.st_mtime_ns)


def _read(file: FoundFile) -> Outcome | JpegJob:
    try:
        data, file = read_found(file)
    except ImageError as exc:
        return Outcome(file, None, None, exc.reason)
    digest = hashlib.sha256(data).hexdigest()
    if digest in _known:
        return Outcome(file, digest, None, None)
    s = _settings
    if s.gpu_share is not None and int(digest[:8], 16) < s.gpu_share.value * 2**32:
        job = probe(file, data, digest, s.max_pixels, s.gpu_min_pixels)
        if job is not None:
            return dataclasses.replace(job, data=None)  # read again on the device side: see with_bytes
    try:
        decoded = decode_bytes(data, str(file.path), s.size, draft=s.draft, max_pixels=s.max_pixels, digest=digest)
    except ImageError as exc:
        return Outcome(file, digest, None, exc.reason)
    return Outcome(file, digest, decoded, None)


def with_bytes(job: JpegJob) -> JpegJob:
    """The job with its file's bytes read again in this process; data None when the file is gone, unreadable or
    changed (another size or mtime) since its worker hashed it: then the CPU path reads it afresh (the hash
    must be of the bytes indexed).

    A worker sends a JpegJob without its bytes: every result comes back through the pool's one result pipe,
    and 12 MP JPEGs (3.2 MB) through it capped the GPU path at ~200 images/s on an H200 host, with the main
    process unpickling 0.6 GB/s beside its decode threads. Reading the file again here (from the page cache,
    the GIL released) costs a copy. Size and mtime are the catalog's own test of an unchanged file
    (indexer.library's re-runs skip a file on them), so they decide here too."""
    try:
        data, file = read_found(job.file)
    except ImageError:
        return dataclasses.replace(job, data=None)
    if (file.size, file.mtime_ns) != (job.file.size, job.file.mtime_ns) or len(data) != job.size:
        return dataclasses.replace(job, data=None)
    return dataclasses.replace(job, data=data)


def read_all(
    files: Sequence[FoundFile],
    known: frozenset[str],
    settings: ReadSettings,
    workers: int,
    started: Callable[[], None] = lambda: None,
) -> Iterator[Outcome]:
    """Outcomes in completion order, one per file; `workers` processes (0: in this process). `started` runs
    once the workers exist: work for other threads starts there, never before the fork (a worker forked
    while another thread imports a module inherits that module's import lock, held for ever, and hangs at
    its own import of it)."""
    if workers <= 0:
        _init(known, settings)
        started()
        yield from map(read_one, files)
        return
    # fork shares the known-hash set copy-on-write instead of pickling it to every worker.
    context = multiprocessing.get_context("fork")
    slots = context.Array("q", [0, -1] * (workers + SPARE_SLOTS), lock=False)
    taken = context.Value("i", 0)
    before = {child.pid for child in multiprocessing.active_children()}
    with plain_signals_for_children():
        pool = _Pool(workers, initializer=_init_worker, initargs=(known, settings, slots, taken), context=context)
    started()
    try:
        # chunksize 1: a worker that dies loses only the file it was on, and that file is named.
        yield from _supervised(pool.imap_unordered(_read_numbered, enumerate(files), chunksize=1), files, slots)
    finally:
        _close(pool, before)


class _Pool(multiprocessing.pool.Pool):
    """multiprocessing's Pool without its worker handler's spin.

    The stdlib pool's worker-handler thread also waits on the results pipe (since CPython 3.8, bpo-35493), so
    while a result sits there unread it loops: it polls every worker and builds a selector again, over and over,
    until the result-handler thread has read it. With results arriving hundreds of times a second that loop
    held the GIL for more of an index run than everything else in the process together (py-spy, 4,000 500x375
    JPEGs, CPU feed: 586 of 1,050 GIL samples), and the threads that feed the GPU waited for it. It has nothing
    to do on a result: it needs waking only when a worker exits (the workers' sentinels) and when the pool
    closes or its task cache drains (the change notifier). The stdlib's ThreadPool narrows the same method."""

    def _get_sentinels(self):
        return [self._change_notifier._reader]


def reader_for(known: frozenset[str], settings: ReadSettings) -> Callable[[FoundFile], Outcome]:
    """`read_one` in this process, set up with a run's known hashes and settings (a Ray actor's reader)."""
    _init(known, settings)
    return read_one


def _close(pool, before: set[int]) -> None:
    """Pool.terminate, then SIGKILL for workers its SIGTERM did not end. A replacement worker is forked by
    the pool's own thread while the run's SIGTERM handler is set and other threads (Paddle's) may hold
    locks: it can hang in C before it runs Python, where that handler would act, and terminate's join waits.

    terminate can also wait for ever with every worker gone: a worker ended while it held the results queue's
    write lock (in the middle of sending a result) leaves that lock taken, and the pool's task thread, which
    terminate joins, blocks on it to send its last sentinel (seen once in the suite, a run stopped by another
    GPU worker's failure). So once the workers are killed, terminate gets KILLED_WAIT more seconds and is then
    left behind in its daemon thread: nothing of the pool runs any more."""
    stopper = threading.Thread(target=pool.terminate, daemon=True)
    stopper.start()
    stopper.join(timeout=TERMINATE_WAIT)
    deadline = time.monotonic() + KILLED_WAIT
    while stopper.is_alive() and time.monotonic() < deadline:
        for child in multiprocessing.active_children():
            if child.pid not in before:  # this pool's workers, never a process started elsewhere
                child.kill()
        stopper.join(timeout=0.5)


# --- workers that die ----------------------------------------------------------------------------------
# multiprocessing.Pool replaces a worker that dies (a segfault in a C decoder, the OOM killer) but loses
# its task, and imap then waits forever. Each worker notes in shared memory which file it is on, so the
# main process can record that file as failed and stop waiting for it.

CRASHED = "the decoder process died on this file (a crash in an image library, or killed for memory)"
SPARE_SLOTS = 64  # worker replacements before a slot is reused
TERMINATE_WAIT = 3.0  # seconds Pool.terminate gets before its workers are killed
KILLED_WAIT = 5.0  # seconds more it gets once they are, before it is left behind (see _close)
_slots: Any = None  # shared int64 pairs (worker pid, index of the file it is on or -1)
_slot = 0


def _init_worker(known: frozenset[str], settings: ReadSettings, slots, taken) -> None:
    global _slots, _slot
    _init(known, settings)
    with taken.get_lock():
        _slot, taken.value = taken.value % (len(slots) // 2), taken.value + 1
    _slots = slots
    slots[2 * _slot], slots[2 * _slot + 1] = os.getpid(), -1


def _read_numbered(item: tuple[int, FoundFile]) -> tuple[int, Outcome]:
    _slots[2 * _slot + 1] = item[0]
    return item[0], read_one(item[1])


def _supervised(results, files: Sequence[FoundFile], slots) -> Iterator[Outcome]:
    """Each file's outcome once; a file whose worker died gets CRASHED instead of a wait without end."""
    pending = set(range(len(files)))
    while pending:
        try:
            index, outcome = results.next(timeout=1.0)
        except multiprocessing.TimeoutError:
            for index in _lost(slots, pending):
                pending.discard(index)
                yield Outcome(files[index], None, None, CRASHED)
            continue
        if index in pending:  # not already given up for lost
            pending.discard(index)
            yield outcome


def _lost(slots, pending: set[int]) -> list[int]:
    """Files that dead workers were on."""
    lost = []
    for at in range(0, len(slots), 2):
        pid, index = slots[at], slots[at + 1]
        if pid > 0 and index in pending and not _alive(pid):
            lost.append(index)
            slots[at + 1] = -1
    return lost


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def plain_signals_for_children() -> Iterator[None]:
    """Processes forked in this block start with SIGTERM's default action and SIGINT ignored.

    A forked worker would otherwise inherit `_stop` until it resets it, and a SIGTERM that lands in
    that window (Pool.terminate right after start) is swallowed: the worker lives on, the join hangs.
    Ctrl-C reaches the whole process group; the main process stops the run, workers ignore it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, signal.SIG_DFL)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
