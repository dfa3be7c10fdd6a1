"""How many of a query's best-scoring images are relevant: a per-query cutoff, not a global cosine.

No fixed cosine threshold works across queries (immich#5996, rclip#207): one query's matches score
0.25, another's 0.32, and the scores of non-matching images shift with the query too. The cutoff is
therefore read off each query's own score curve: the non-matching images form the bulk of the
scores, whose centre and spread are estimated robustly (median and MAD of all candidate scores);
matching images stand out above it. `strictness` in [0, 1] moves the bar: 0 keeps anything a robust
z of 1 above the bulk, 1 only what stands 3 above it (bench/relevance.py measures the trade-off; a
cut at the widest gap of the sorted scores was tried and did worse on the tiny model).
"""

from __future__ import annotations

import numpy as np

# Robust z of the weakest result that may still count as relevant, at strictness 0 and 1.
Z_LOOSE, Z_STRICT = 1.0, 3.0
MAD_TO_SIGMA = 1.4826


def z_scores(scores: np.ndarray) -> np.ndarray:
    """(n,) robust z of each score against the bulk of the candidates."""
    median = float(np.median(scores))
    spread = MAD_TO_SIGMA * float(np.median(np.abs(scores - median))) or 1e-6
    return (scores - median) / spread


def relevant_count(scores: np.ndarray, strictness: float = 0.5) -> int:
    """Number of leading entries of descending `scores` (all candidates) judged relevant."""
    if len(scores) < 3:
        return len(scores)
    z = z_scores(scores)
    bar = Z_LOOSE + (Z_STRICT - Z_LOOSE) * min(max(strictness, 0.0), 1.0)
    return int(np.searchsorted(-z, -bar, side="left"))  # scores are sorted, so z is too
