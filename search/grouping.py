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


def separate_bursts(
    tiered: dict[str, Pairs], taken_at: Callable[[int], float | None], window: float, keep_bursts: bool
) -> tuple[dict[str, Pairs], dict[str, Pairs]]:
    """(duplicates, bursts) per tier: a pair is a burst when both capture times are known and
    0 < |difference| <= window seconds; equal capture times are one capture (a copy keeps its EXIF).
    keep_bursts: every pair stays a duplicate."""
    if keep_bursts or window <= 0:
        return tiered, {}
    dups, bursts = {}, {}
    for tier, (a, b, d) in tiered.items():
        gap = np.array([_gap(taken_at(x), taken_at(y)) for x, y in zip(a.tolist(), b.tolist(), strict=True)], float)
        burst = (gap > 0) & (gap <= window)
        dups[tier], bursts[tier] = (a[~burst], b[~burst], d[~burst]), (a[burst], b[burst], d[burst])
    return dups, bursts


def _gap(x: float | None, y: float | None) -> float:
    return float("nan") if x is None or y is None else abs(x - y)


def passes(order: Sequence[int], dups: dict[str, Pairs], bursts: dict[str, Pairs]) -> tuple[Groups, Groups, set[int]]:
    """(duplicate groups, burst groups, images grouped): one greedy pass per tier, strongest first, then one
    over every burst pair among the images still free."""
    taken: set[int] = set()
    groups: Groups = {}
    for tier in sorted(dups, key=TIER_ORDER.index):
        greedy(order, edge_map({tier: dups[tier]}), taken, groups)
    burst_groups: Groups = {}
    greedy(order, edge_map(bursts), taken, burst_groups)
    return groups, burst_groups, taken
