"""Paths that changed under folders, as they change: watchfiles (inotify on Linux) in a background thread,
or polling where kernel events do not come (network mounts) or cannot be had (the watch limit reached)."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Sequence
from pathlib import Path

# Filesystems whose changes made on another machine never reach this kernel's inotify: polled instead.
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre", "fuse.sshfs", "fuse.rclone"}
)
DEBOUNCE_MS = 100  # changes within this long come as one set
STEP_MS = 50  # how often the watching thread looks at its stop flag


def mount_type(path: Path, mounts: str = "/proc/self/mounts") -> str | None:
    """The filesystem type of the mount holding `path` (Linux /proc/self/mounts), or None where unknown."""
    try:
        lines = Path(mounts).read_text().splitlines()
    except OSError:
        return None
    best, kind = "", None
    target = str(path.resolve())
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def needs_polling(folders: Sequence[Path]) -> bool:
    """Whether any folder is on a network filesystem (or $WATCHFILES_FORCE_POLLING asks for polling)."""
    if os.environ.get("WATCHFILES_FORCE_POLLING"):
        return True
    return any(mount_type(folder) in NETWORK_FILESYSTEMS for folder in folders)


class FolderWatcher:
    """Collects the paths that changed (added, modified, deleted; files and folders) under the folders.

    Used as a context manager: watching starts on entry, so changes made while the caller does something
    else (a first index pass) are kept, and stops on exit. `poll`: look every `poll_interval_s` instead of
    listening to kernel events; None decides from the folders' filesystems."""

    def __init__(self, folders: Sequence[Path], poll: bool | None = None, poll_interval_s: float = 0.5):
        self.folders = [Path(f) for f in folders]
        self.polling = needs_polling(self.folders) if poll is None else poll
        self.poll_interval_s = poll_interval_s
        self.warnings: list[str] = []  # what the caller should tell the user (a fall back to polling)
        self._changes: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="pixseek-watch", daemon=True)

    def __enter__(self) -> FolderWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def changes(self, timeout: float) -> list[Path]:
        """The paths that changed since the last call, waiting up to `timeout` s for the first one."""
        try:
            found = [self._changes.get(timeout=timeout)]
        except queue.Empty:
            return []
        while not self._changes.empty():
            found.append(self._changes.get_nowait())
        return found

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
                return
            except OSError as exc:  # no inotify, or its watch limit reached: polling still sees every change
                if self.polling:
                    raise
                self.polling = True
                self.warnings.append(f"watching by polling every {self.poll_interval_s:g} s ({exc})")

    def _listen(self) -> None:
        import watchfiles  # here, not at the top: indexing without --watch never needs it

        for batch in watchfiles.watch(
            *self.folders,
            watch_filter=None,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=self._stop,
            force_polling=self.polling,
            poll_delay_ms=int(self.poll_interval_s * 1000),
            raise_interrupt=False,
            ignore_permission_denied=True,
        ):
            for _change, path in batch:
                self._changes.put(Path(path))
