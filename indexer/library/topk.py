"""Top-k arithmetic on (D, I) search results: the k best per row, and recall against a ground truth."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def recall_at_k(found: NDArray[np.int64], truth: NDArray[np.int64]) -> float:
    """Mean fraction of each row of truth (nq, k) present in the same row of found (nq, k)."""
    k = truth.shape[1]
    return float(np.mean([len(np.intersect1d(f, t[t >= 0])) / k for f, t in zip(found, truth, strict=True)]))


def top_k(D: Scores, R: Rows, k: int) -> tuple[Scores, Rows]:
    """Per row, the k largest scores (descending) and their rows, padded with -inf / -1."""
    if D.shape[1] < k:
        pad = k - D.shape[1]
        D = np.hstack([D, np.full((len(D), pad), -np.inf, np.float32)])
        R = np.hstack([R, np.full((len(R), pad), -1, np.int64)])
    part = np.argpartition(-D, k - 1, axis=1)[:, :k] if D.shape[1] > k else np.arange(k)[None].repeat(len(D), 0)
    order = np.take_along_axis(part, np.argsort(-np.take_along_axis(D, part, 1), axis=1, kind="stable"), 1)
    return np.take_along_axis(D, order, 1).astype(np.float32), np.take_along_axis(R, order, 1).astype(np.int64)


Ids = NDArray[np.int64]  # (n,) catalog image ids, >= 0


Rows = NDArray[np.int64]  # (n,) refine-store row numbers: the ids FAISS holds


Scores = NDArray[np.float32]  # (nq, k) cosine similarity; -inf where there is no result
