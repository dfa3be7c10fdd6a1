"""The library as points on a plane: a 2-D PCA of the stored vectors (for the UI's map)."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from indexer.library import Embedding, File, Root, fetch_vectors, indexed_ids, session

from .filters import display_path
from .searcher import Searcher

MAX_POINTS = 5000  # a browser scatter stays responsive; larger libraries are sampled


def pca_2d(xb: np.ndarray) -> np.ndarray:
    """(n, 2) float32: xb (n, d) centred and projected on its two principal axes (numpy SVD)."""
    if xb.ndim != 2:
        raise ValueError(f"expected (n, d) vectors, got shape {xb.shape}")
    if len(xb) < 2:
        return np.zeros((len(xb), 2), np.float32)
    centred = xb - xb.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return (centred @ vt[:2].T).astype(np.float32)


def library_points(searcher: Searcher, limit: int = MAX_POINTS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(ids (n,) int64, xy (n, 2) float32) of the indexed images, a seeded sample of `limit` when there are more."""
    ids = np.sort(indexed_ids(searcher.db, searcher.model_id))
    if len(ids) > limit:
        ids = np.sort(np.random.default_rng(seed).choice(ids, limit, replace=False))
    if not len(ids):
        return ids, np.zeros((0, 2), np.float32)
    xb = fetch_vectors(searcher.db, searcher.model_id, searcher.dim)(ids)
    return ids, pca_2d(xb)


def first_paths(engine: Engine, ids: np.ndarray) -> dict[int, str]:
    """image id -> the path of its first ok file (by root and path)."""
    out: dict[int, str] = {}
    wanted = [int(i) for i in ids]
    with session(engine) as s:
        for start in range(0, len(wanted), 500):
            rows = s.execute(
                select(File.image_id, Root.path, File.relpath)
                .join(Root, Root.id == File.root_id)
                .where(File.image_id.in_(wanted[start : start + 500]), File.status == "ok")
                .order_by(Root.path, File.relpath)
            )
            for image_id, root, relpath in rows:
                out.setdefault(image_id, display_path(root, relpath))
    return out


def points_version(engine: Engine, model_id: int) -> tuple:
    """What the map's points depend on, read cheaply: (ok files, their largest id and last sighting, vectors).

    Equal versions mean equal points and paths, so the UI caches the projection under it instead of a timer."""
    with session(engine) as s:
        files = s.execute(
            select(func.count(), func.max(File.id), func.max(File.last_seen)).where(File.status == "ok")
        ).one()
        vectors = s.scalar(select(func.count()).select_from(Embedding).where(Embedding.model_id == model_id))
    return (*files, vectors)
