"""Diversity sampling: n of m L2-normalised vectors that cover them, seeded and reproducible.

- kmeans: FAISS k-means with n centroids; from each centroid the nearest vector not yet taken
  (representatives of the bulk of the data).
- farthest: farthest-point traversal from a seeded random start; each step takes the vector least
  similar to everything taken so far (covers the extremes too).
"""

from __future__ import annotations

import faiss
import numpy as np
from numpy.typing import NDArray

from indexer import PixseekError

METHODS = ("kmeans", "farthest")
KMEANS_ITERATIONS = 20


class UnknownDiversity(PixseekError):
    def __init__(self, method: str):
        super().__init__(f"unknown diversity method {method!r}; choose from {', '.join(METHODS)}")


def diverse(xb: NDArray[np.float32], n: int, method: str = "kmeans", seed: int = 0) -> NDArray[np.int64]:
    """Sorted row numbers of n of the (m, d) rows of xb (all of them when m <= n)."""
    if method not in METHODS:
        raise UnknownDiversity(method)
    xb = np.ascontiguousarray(xb, np.float32)
    if len(xb) <= n:
        return np.arange(len(xb), dtype=np.int64)
    rows = _kmeans(xb, n, seed) if method == "kmeans" else _farthest(xb, n, seed)
    return np.sort(rows)


def _farthest(xb: NDArray[np.float32], n: int, seed: int) -> NDArray[np.int64]:
    start = np.array([np.random.default_rng(seed).integers(len(xb))], np.int64)
    return _extended(xb, start, n)


def _kmeans(xb: NDArray[np.float32], n: int, seed: int) -> NDArray[np.int64]:
    # min_points_per_centroid=1: few points per centroid is the point here, not a training problem.
    km = faiss.Kmeans(xb.shape[1], n, niter=KMEANS_ITERATIONS, seed=seed, spherical=True, min_points_per_centroid=1)
    km.train(xb)
    index = faiss.IndexFlatIP(xb.shape[1])
    index.add(xb)
    _, candidates = index.search(km.centroids, min(len(xb), 64))
    taken: set[int] = set()
    for row in candidates:
        pick = next((int(r) for r in row if r >= 0 and int(r) not in taken), None)
        if pick is not None:
            taken.add(pick)
    # Empty clusters or crowded neighbourhoods can leave fewer than n: farthest points make up the rest.
    return _extended(xb, np.array(sorted(taken), np.int64), n)


def _extended(xb: NDArray[np.float32], taken: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """Farthest-point traversal from the rows taken until there are n: each step adds the row whose highest
    cosine to anything taken is lowest."""
    closest = (xb @ xb[taken].T).max(axis=1) if len(taken) else np.full(len(xb), -np.inf, np.float32)
    out = list(taken)
    closest[out] = np.inf
    while len(out) < n:
        out.append(int(np.argmin(closest)))
        np.maximum(closest, xb @ xb[out[-1]], out=closest)
        closest[out[-1]] = np.inf
    return np.array(out, np.int64)
