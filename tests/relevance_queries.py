"""Queries with known true matches on a generated shapes library, from a handful to hundreds each.

Shared by the search-quality tests and bench/relevance.py: a query is (text, predicate on a Sample).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import product

from ui import shapes

LIBRARY_SEED = 424_242  # a seed never used for training
LIBRARY_SIZE = 2000

Predicate = Callable[[object], bool]


def _has(colour: str | None = None, kind: str | None = None, background: str | None = None) -> Predicate:
    return lambda s: shapes.matches(s, colour=colour, kind=kind, background=background)


def candidate_queries() -> list[tuple[str, Predicate]]:
    """Background-only, colour+shape and colour+shape+background queries."""
    out: list[tuple[str, Predicate]] = [
        (f"a {bg} background", lambda s, bg=bg: s.background == bg) for bg in shapes.COLOURS
    ]
    out += [(f"a {c} {k}", _has(c, k)) for c, k in product(shapes.COLOURS, shapes.KINDS)]
    out += [
        (f"a {c} {k} on a {bg} background", _has(c, k, bg))
        for c, k, bg in product(shapes.COLOURS, shapes.KINDS, shapes.COLOURS)
        if c != bg
    ]
    return out


def queries(samples: list, low: int = 5, high: int = 400, per_kind: int = 12) -> list[tuple[str, list[bool]]]:
    """(query, relevance per sample): up to `per_kind` of each kind whose match count is in [low, high]."""
    out, taken = [], {}
    for text, predicate in candidate_queries():
        kind = text.count(" ")  # 2 words: background; 3: colour+shape; 7: colour+shape+background
        mask = [bool(predicate(s)) for s in samples]
        if low <= sum(mask) <= high and taken.get(kind, 0) < per_kind:
            taken[kind] = taken.get(kind, 0) + 1
            out.append((text, mask))
    return out
