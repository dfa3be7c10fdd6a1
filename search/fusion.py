"""Reciprocal rank fusion: several rankings of image ids made one (Cormack, Clarke and Buettcher, SIGIR 2009).

An id at rank r (from 1) of a ranking gets 1 / (RRF_K + r) from it; its fused score is the sum over the
rankings that hold it. Only ranks count, so a cosine similarity and a bm25 score, on scales that cannot be
compared, fuse without calibration, and an id near the top of both rankings passes one at the top of only
one. RRF_K = 60 is the paper's value and the default of Elasticsearch, OpenSearch and Azure AI Search.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RRF_K = 60


def fuse(rankings: Sequence[np.ndarray], k: int = RRF_K) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores): the int64 ids of any of the (n_i,) rankings (each best first), by descending fused
    score (float32); ties keep the order in which the rankings first hold them."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, i in enumerate(np.asarray(ranking, np.int64).tolist(), start=1):
            fused[i] = fused.get(i, 0.0) + 1.0 / (k + rank)
    order = sorted(fused, key=lambda i: -fused[i])  # sorted is stable
    return np.array(order, np.int64), np.array([fused[i] for i in order], np.float32)
