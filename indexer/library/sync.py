"""The vector index kept in step with the catalog: rebuilt or caught up from persisted embeddings, never the model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine

from indexer.errors import IndexCorrupt

from .catalog import bytes_to_vectors, session
from .folder import vectors_dir
from .tables import Embedding, File
from .vectors import VectorIndex


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
