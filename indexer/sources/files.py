"""Files on disk: which names are images, and reading a regular file's bytes within a size limit."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from indexer.errors import ImageError

# A file larger than this is refused before it is read (the largest camera RAW-sized JPEGs are ~100 MB).
MAX_FILE_BYTES = 512 * 1024 * 1024


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes; ImageError when unreadable, not a regular file, or over `limit`."""
    return read_file(path, limit)[0]


def read_file(path: Path, limit: int = MAX_FILE_BYTES) -> tuple[bytes, os.stat_result]:
    """The file's bytes and its stat taken before reading (a later change shows as a new size or mtime)."""
    try:
        # O_NONBLOCK: a FIFO swapped in after the scan must not block open() until a writer comes.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ImageError(str(path), f"cannot read ({exc.strerror or exc})") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO, socket or device"
        raise ImageError(str(path), f"not a regular file ({kind}); never read")
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise ImageError(str(path), f"cannot read ({exc.strerror or exc})") from exc
    if len(data) > limit:
        raise ImageError(str(path), f"file is larger than {limit} bytes")
    if not data:
        raise ImageError(str(path), "empty file")
    return data, info


# Photoshop's .psd (its flattened composite) and multi-picture .mpo (the first picture) as immich takes them.
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
    | {".psd", ".mpo"}
)
