"""A library on disk: its folder, catalog, per-model vector index, and the lock one writer holds."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs

from indexer.errors import PixseekError

from .catalog import has_catalog

LOCK_FILE = "index.lock"


class LibraryBusy(PixseekError):
    def __init__(self, library: Path):
        self.library = library
        super().__init__(f"{library}: another `pixseek index` is running on this library; wait for it to finish")


def default_library() -> Path:
    """$PIXSEEK_LIBRARY, else the user data directory's library."""
    env = os.environ.get("PIXSEEK_LIBRARY")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("pixseek")) / "library"


def library_path(library: str | Path | None) -> Path:
    return Path(library).expanduser().resolve() if library else default_library().resolve()


@contextmanager
def writer_lock(library: Path, wait: bool = False) -> Iterator[None]:
    """Hold the library's writer lock; a second writer waits (`wait`) or gets LibraryBusy."""
    library.mkdir(parents=True, exist_ok=True)
    with open(library / LOCK_FILE, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise LibraryBusy(library) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class LibraryNotFound(PixseekError):
    def __init__(self, library: Path):
        self.library = library
        super().__init__(f"{library}: no pixseek library here yet; create one with `pixseek index FOLDER`")


def existing_library(library: str | Path | None) -> Path:
    """The library folder, which must already hold a catalog (readers never create one)."""
    path = library_path(library)
    if not has_catalog(path):
        raise LibraryNotFound(path)
    return path


def model_key(name: str, weights_sha256: str) -> str:
    """The folder name of a model's index under vectors/: name plus the first 12 hex of its weights hash."""
    return f"{name}-{weights_sha256[:12]}"


def vectors_dir(library: Path, model_key: str) -> Path:
    return library / "vectors" / model_key
