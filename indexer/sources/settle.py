"""Changed paths held back until they settle: a file still being written is read only once its size and
mtime have stayed the same for a while, so no half-written file is indexed."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

Signature = tuple[int, int, int] | None  # (mode bits, size, mtime_ns); None: the path is gone


def signature(path: Path) -> Signature:
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (stat.S_IFMT(info.st_mode), info.st_size, info.st_mtime_ns)


@dataclass
class Settled:
    """Paths whose state held for the settling time: files and folders there now, and paths gone."""

    present: list[Path] = field(default_factory=list)
    gone: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.present or self.gone)


class Settling:
    """Changed paths, each with its last seen signature and when that was first seen."""

    def __init__(self, settle_s: float):
        self.settle_s = settle_s
        self._pending: dict[Path, tuple[Signature, float]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, paths: Iterable[Path], now: float) -> None:
        """Changes just reported: each path's clock starts again (a write to a file being copied in)."""
        for path in paths:
            self._pending[path] = (signature(path), now)

    def ready(self, now: float) -> Settled:
        """The paths whose signature has not changed for `settle_s` (taken out); the others wait on."""
        out = Settled()
        for path, (seen, since) in list(self._pending.items()):
            current = signature(path)
            if current != seen:
                self._pending[path] = (current, now)
            elif now - since >= self.settle_s:
                del self._pending[path]
                (out.gone if current is None else out.present).append(path)
        return out
