"""Pairs of images into duplicate groups without chaining: greedy keep-best-first.

Images are visited best first (the keep-best order); each one not yet grouped becomes a keeper and takes
every ungrouped image it has a direct edge to. Tiers are passed one after another, strongest first, so an
image joins the group of its closest kind of copy; a keeper of an earlier pass takes more images in later
ones, a member never becomes a keeper. Every member is therefore within the threshold of its
keeper itself: A ~ B and B ~ C never put A and C together through B, which linking all pairs
(union-find) does (FACTS: it chains distinct images into one group).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .pairs import Pairs

TIER_ORDER = ("exact", "near-identical", "semantic", "burst")  # strongest first
Edge = tuple[str, float]  # (tier, distance)
Edges = dict[int, dict[int, Edge]]
Groups = dict[int, list[tuple[int, Edge]]]  # keeper -> [(image, edge to the keeper)]


def edge_map(tiered: dict[str, Pairs]) -> Edges:
    """Symmetric adjacency of image ids; a pair found by several tiers keeps the strongest."""
    edges: Edges = {}
    for tier in sorted(tiered, key=TIER_ORDER.index, reverse=True):  # strongest written last, so it wins
        for a, b, d in zip(*(x.tolist() for x in tiered[tier]), strict=True):
            edges.setdefault(a, {})[b] = (tier, d)
            edges.setdefault(b, {})[a] = (tier, d)
    return edges


def greedy(order: Sequence[int], edges: Edges, taken: set[int], groups: Groups) -> None:
    """Add to groups ({keeper: [(image, edge to keeper)]}) along these edges, best keeper first: a keeper of
    an earlier pass takes more images, an image not yet grouped starts a group; `taken` grows."""
    rank = {image: i for i, image in enumerate(order)}
    for keeper in order:
        if (keeper in taken and keeper not in groups) or keeper not in edges:
            continue
        joined = sorted(((b, e) for b, e in edges[keeper].items() if b not in taken), key=lambda be: rank[be[0]])
        if joined:
            taken.update([keeper, *(b for b, _ in joined)])
            groups.setdefault(keeper, []).extend(joined)


def split_bursts(pairs: Pairs, taken_at: Callable[[int], float | None], window: float) -> tuple[Pairs, Pairs]:
    """(duplicates, bursts): a pair is a burst when both capture times are known and 0 < |difference| <= window
    seconds. Equal capture times are one capture (a copy keeps its EXIF), so they stay duplicates."""
    a, b, _ = pairs
    gap = np.array([_gap(taken_at(x), taken_at(y)) for x, y in zip(a.tolist(), b.tolist(), strict=True)], float)
    burst = (gap > 0) & (gap <= window) if window > 0 else np.zeros(len(a), bool)
    return tuple(x[~burst] for x in pairs), tuple(x[burst] for x in pairs)  # type: ignore[return-value]


def _gap(x: float | None, y: float | None) -> float:
    return float("nan") if x is None or y is None else abs(x - y)
