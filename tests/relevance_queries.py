"""Queries with known true matches on a generated shapes library, from a handful to hundreds each.

Shared by the search-quality tests and bench/relevance.py: a query is (text, predicate on a Sample).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import product

import numpy as np

from ui import shapes

LIBRARY_SEED = 424_242  # a seed never used for training
LIBRARY_SIZE = 2000

Predicate = Callable[[object], bool]


def _has(colour: str | None = None, kind: str | None = None, background: str | None = None) -> Predicate:
    return lambda s: shapes.matches(s, colour=colour, kind=kind, background=background)


def candidate_queries() -> dict[str, list[tuple[str, Predicate]]]:
    """Background-only, colour+shape and colour+shape+background queries, by kind."""
    colours, kinds = shapes.COLOURS, shapes.KINDS
    return {
        "background": [
            (f"{shapes.with_article(bg)} background", lambda s, bg=bg: s.background == bg) for bg in colours
        ],
        "colour+shape": [(shapes.with_article(f"{c} {k}"), _has(c, k)) for c, k in product(colours, kinds)],
        "colour+shape+background": [
            (f"{shapes.with_article(f'{c} {k}')} on {shapes.with_article(bg)} background", _has(c, k, bg))
            for c, k, bg in product(colours, kinds, colours)
            if c != bg
        ],
    }


def queries(
    samples: list, low: int = 5, high: int = 400, per_kind: int = 12, seed: int = 0
) -> list[tuple[str, list[bool]]]:
    """(query, relevance per sample): `per_kind` queries of each kind, drawn at random (seeded) among
    those whose match count is in [low, high]."""
    rng = np.random.default_rng(seed)
    out = []
    for candidates in candidate_queries().values():
        masks = [(text, [bool(p(s)) for s in samples]) for text, p in candidates]
        fit = [q for q in masks if low <= sum(q[1]) <= high]
        out += [fit[i] for i in sorted(rng.choice(len(fit), min(per_kind, len(fit)), replace=False))]
    return out
