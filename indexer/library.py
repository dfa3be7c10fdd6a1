"""A library on disk: its folder, catalog, per-model vector index, and the lock one writer holds."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import platformdirs
from sqlalchemy import select
from sqlalchemy.engine import Engine

from .catalog import bytes_to_vectors, has_catalog, session
from .errors import IndexCorrupt, PixseekError
from .tables import Embedding, File
from .vectors import VectorIndex

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


def indexed_ids(engine: Engine, model_id: int) -> np.ndarray:
    """Image ids that belong in the model's index: an embedding and at least one ok file."""
    with session(engine) as s:
        rows = s.scalars(
            select(Embedding.image_id)
            .where(Embedding.model_id == model_id)
            .where(Embedding.image_id.in_(select(File.image_id).where(File.status == "ok")))
        )
        return np.fromiter(rows, dtype=np.int64)


def fetch_vectors(engine: Engine, model_id: int, dim: int):
    """A fetch(ids) -> (n, dim) float32 callback over the catalog's persisted embeddings."""

    def fetch(ids: np.ndarray) -> np.ndarray:
        with session(engine) as s:
            rows = s.execute(
                select(Embedding.image_id, Embedding.vector)
                .where(Embedding.model_id == model_id)
                .where(Embedding.image_id.in_([int(i) for i in ids]))
            )
            found = {image_id: vector for image_id, vector in rows}
        return bytes_to_vectors([found[int(i)] for i in ids], dim)

    return fetch


def open_index(engine: Engine, library: Path, model_key: str, model_id: int, dim: int, *, save: bool) -> VectorIndex:
    """The model's vector index, caught up with the catalog from persisted vectors (never the model).

    The index is derived data: one that is torn or unreadable is rebuilt. Only the writer `save`s.
    """
    path = vectors_dir(library, model_key)
    try:
        index = VectorIndex.open(path, dim)
    except IndexCorrupt:
        if save:
            shutil.rmtree(path)
        # A reader must not touch the writer's files: it rebuilds in memory from an empty index.
        index = VectorIndex.open(path if save else path / "unreadable", dim)
    ids = indexed_ids(engine, model_id)
    added, removed = index.catch_up(ids, fetch_vectors(engine, model_id, dim), catalog_version=len(ids))
    if save and (added or removed or not (path / "manifest.json").is_file()):
        index.save()
    return index
