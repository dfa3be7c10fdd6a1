"""Files handed to the reader pool a bounded number ahead of the results consumed (the GPU path's feed)."""

from __future__ import annotations

import threading
from collections.abc import Sequence


class ReadAhead:
    """The files to read, handed to the reader pool at most `limit` ahead of the results consumed, so
    the GPU/CPU routing of each file is decided close to when its batch is formed."""

    def __init__(self, files: Sequence, limit: int):
        self.files, self.free, self.stopped = files, threading.Semaphore(limit), False

    def __iter__(self):
        for file in self.files:
            while not self.free.acquire(timeout=0.1):
                if self.stopped:  # the pool's task thread must not block forever when the run stops
                    return
            yield file

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        return self.files[index]  # the reader names a file whose worker died by its index

    def consumed(self) -> None:
        self.free.release()

    def stop(self) -> None:
        self.stopped = True
