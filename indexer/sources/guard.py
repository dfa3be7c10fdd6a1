"""The one guard around every decode of a file pixseek did not write: index, `search --image`, uploads to
the UI and the service, thumbnails, dedup's pixel check.

Inside it: Python warnings are off (PIL warns about corrupt EXIF and large images; the outcome already says
what matters), what C decoders write straight to file descriptor 2 (libtiff's "TIFFFetchNormalTag: ...",
libjpeg's "Corrupt JPEG data: ...") is captured instead of reaching the terminal, and any exception a
decoder raises becomes an ImageError with one line, the captured text folded into it when the decode
failed and dropped when it succeeded.

Capturing fd 2 is written by hand: no library redirects a file descriptor for a block of code (contextlib
only swaps sys.stderr, which C code never sees). Python's own stderr is moved off fd 2 at the command
line's start (`keep_python_stderr`), so progress bars, `skipping` lines and logging are never captured.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from indexer.errors import ImageError

_lock = threading.Lock()
_depth = 0  # blocks capturing now (threads of one process share fd 2: the first in redirects, the last out restores)
_saved_fd: int | None = None
_sink = None  # the temporary file fd 2 points at while capturing
CHATTER_CHARS = 160  # how much of a decoder's own message goes into a failure's reason


class Chatter:
    """What C code has written to fd 2 since the block began (in a threaded server, possibly a neighbour's too)."""

    def __init__(self, sink=None, start: int = 0):
        self._sink, self._start = sink, start

    @property
    def text(self) -> str:
        if self._sink is None:
            return ""
        with _lock:
            end = os.lseek(2, 0, os.SEEK_CUR)
            return os.pread(self._sink.fileno(), max(end - self._start, 0), self._start).decode("utf-8", "replace")

    def summary(self) -> str:
        lines = [" ".join(line.split()) for line in self.text.splitlines() if line.strip()]
        if not lines:
            return ""
        first = lines[0][:CHATTER_CHARS]
        return first + (f" (+{len(lines) - 1} more decoder messages)" if len(lines) > 1 else "")


@contextmanager
def captured_fd2() -> Iterator[Chatter]:
    global _depth, _saved_fd, _sink
    try:
        with _lock:
            if _depth == 0:
                sys.stderr.flush()
                _sink = tempfile.TemporaryFile()
                _saved_fd = os.dup(2)
                os.dup2(_sink.fileno(), 2)
            _depth += 1
            chatter = Chatter(_sink, os.lseek(2, 0, os.SEEK_CUR))
    except OSError:  # no fd 2 (a daemon with it closed) or no temporary space: decode without capturing
        yield Chatter()
        return
    try:
        yield chatter
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)
                _sink.close()
                _saved_fd = _sink = None
        chatter._sink = None


@contextmanager
def guarded(where: str) -> Iterator[Chatter]:
    """Decode inside this block: warnings off, decoders' fd-2 output captured, every exception an ImageError
    naming `where` (an ImageError raised inside keeps its reason, with the decoder's message added)."""
    with warnings.catch_warnings(), captured_fd2() as chatter:
        warnings.simplefilter("ignore")
        try:
            yield chatter
        except ImageError as exc:
            raise _with_chatter(exc, chatter) from exc.__cause__
        except Exception as exc:  # noqa: BLE001
            # Decoders of hostile files raise types no list can name (PIL's DecompressionBombError from a
            # container's lazy load, struct.error, ZeroDivisionError...): each is this file's failure.
            detail = " ".join(str(exc).split()) or "no message"
            raise _with_chatter(ImageError(where, f"cannot decode ({type(exc).__name__}: {detail})"), chatter) from exc


def _with_chatter(exc: ImageError, chatter: Chatter) -> ImageError:
    said = chatter.summary()
    if not said or said in exc.reason:
        return exc
    return type(exc)(exc.path, f"{exc.reason}; the decoder said: {said}") if type(exc) is ImageError else exc


def keep_python_stderr() -> None:
    """Point Python's sys.stderr at a copy of fd 2, so that capturing fd 2 around a decode takes only what C
    libraries write there. Called once at a command's start; a no-op where stderr is not the process's fd 2."""
    stream = sys.stderr
    try:
        if stream is None or stream.fileno() != 2:
            return
    except (AttributeError, OSError, ValueError):
        return  # replaced already (a test runner's capture): nothing of it is on fd 2
    stream.flush()
    copy = os.fdopen(os.dup(2), "w", buffering=1, encoding=stream.encoding, errors=stream.errors)
    sys.stderr = copy


class TimeUp(BaseException):
    """Raised by the per-file alarm; a BaseException so no `except Exception` in a decoder swallows it."""


def _alarm(signum, frame):
    raise TimeUp


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeUp in this block after `seconds` (SIGALRM: main thread only; elsewhere, or 0, no limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
