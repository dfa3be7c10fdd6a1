"""Read, hash and decode the files to index, in worker processes.

A worker reads a file's bytes once, hashes them, and decodes only content the library does not
already hold for the model: a renamed, moved or copied file costs one read, no decode and no model call.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .decode import Decoded, decode_bytes, read_bytes
from .errors import ImageError
from .preprocess import MAX_PIXELS
from .scan import FoundFile


@dataclass(frozen=True)
class ReadSettings:
    size: int  # the model's input size
    draft: bool = True  # PIL draft decoding of large JPEGs
    max_pixels: int = MAX_PIXELS


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


def read_one(file: FoundFile) -> Outcome:
    """Outcome of one file; never raises for a bad file."""
    try:
        data = read_bytes(file.path)
    except ImageError as exc:
        return Outcome(file, None, None, exc.reason)
    digest = hashlib.sha256(data).hexdigest()
    if digest in _known:
        return Outcome(file, digest, None, None)
    s = _settings
    try:
        decoded = decode_bytes(data, str(file.path), s.size, draft=s.draft, max_pixels=s.max_pixels, digest=digest)
    except ImageError as exc:
        return Outcome(file, digest, None, exc.reason)
    return Outcome(file, digest, decoded, None)


def read_all(
    files: Iterable[FoundFile], known: frozenset[str], settings: ReadSettings, workers: int
) -> Iterator[Outcome]:
    """Outcomes in completion order; `workers` processes (0: in this process)."""
    if workers <= 0:
        _init(known, settings)
        yield from map(read_one, files)
        return
    # fork shares the known-hash set copy-on-write instead of pickling it to every worker.
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_init, initargs=(known, settings)) as pool:
        yield from pool.imap_unordered(read_one, files, chunksize=4)
