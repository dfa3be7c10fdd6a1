"""SIGINT and SIGTERM as an exception at the next Python line, so a run ends through its `finally`s.

A batch in flight is lost (its transaction rolls back), what was committed stays, the lock is released.
A second signal gets the default action: a user who presses Ctrl-C twice is not kept waiting.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from indexer.errors import Interrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop(signum, frame):
    for s in SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    raise Interrupted(signum)


_OURS: set = {_stop}  # the handlers `rearm` puts back


def rearm() -> None:
    """Install the handlers again where they are ours: Paddle puts its own C handlers in place when it
    starts (SIGTERM would then kill the process outright), without telling Python's signal module.
    Main thread only (a model loaded by a prefetch thread is re-armed for once the main thread has it)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for s in SIGNALS:
        handler = signal.getsignal(s)
        if handler in _OURS:
            signal.signal(s, handler)


@contextmanager
def stop_event_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set `stop` inside the block, for a loop that ends at its next step (a watch finishes the
    batch it is writing); a second signal gets the default action. Main thread only, as stop_on_signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _set(signum, frame):
        for s in SIGNALS:
            signal.signal(s, signal.SIG_DFL)
        stop.set()

    _OURS.add(_set)
    previous = {s: signal.signal(s, _set) for s in SIGNALS}
    try:
        yield
    finally:
        _OURS.discard(_set)
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into Interrupted inside the block (main thread only: elsewhere, nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _stop) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
