"""Near-duplicate groups of a library, in tiers, each group explained and with the file to keep.

    settings = DedupSettings(tiers=("exact", "near-identical", "semantic"), min_cosine=0.95)
    for group in find_groups("/path/lib", settings):
        group.tier, group.distance, group.keep.path, [m.path for m in group.others], group.why

Tiers (each member says which one joined it, and its distance to the keeper):
- exact: files with the same bytes (one catalog image, one sha256); distance 0.
- near-identical: 256-bit pHash distance <= fine_bits, among pairs whose stored 64-bit pHash is within
  phash_bits (search.pairs says why both); distance in bits of 256.
- semantic: embedding cosine >= min_cosine under the model that indexed the library; candidates from the
  production index, decided on the stored float32 vectors; distance 1 - cosine. Off by default: it groups
  images that show the same thing (the two photos of a stereo pair), which is curation, not cleaning.
Two different images whose capture times are 0 < dt <= burst_seconds apart are a burst, not duplicates:
they come back as groups of tier "burst", which actions never touch, unless include_bursts.
Grouping is greedy keep-best-first (search.grouping), one tier after another, strongest first, so an image
joins the group of its closest kind of copy; the keeper is chosen by the keep-best order (search.keep).
A group's tier is then its loosest member's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer import PixseekError
from indexer.library import fetch_vectors, session

from .grouping import TIER_ORDER, passes, separate_bursts
from .keep import DEFAULT_ORDER, best_first, check_order, deciding_rule, rank_key
from .members import Member, load_members
from .pairs import Pairs, confirm_near, cosine_pairs, hamming_pairs, hash_bytes
from .searcher import Searcher

TIERS = ("exact", "near-identical", "semantic")


class BadDedupSettings(PixseekError):
    pass


@dataclass(frozen=True)
class DedupSettings:
    tiers: tuple[str, ...] = ("exact", "near-identical")
    phash_bits: int = 12  # 64-bit pHash: candidates within this many bits
    fine_bits: int = 56  # 256-bit pHash: near-identical within this many bits
    # semantic: exact embedding cosine at least this. Model-specific: bench/dedup.py with tiny-shapes gives
    # pair precision 0.90 at 0.98, 0.997 at 0.99 (chaining 0.02), 1.0 at 0.995; tune it for other models.
    min_cosine: float = 0.99
    burst_seconds: float = 5.0  # 0 turns burst detection off
    include_bursts: bool = False  # treat bursts as duplicates
    keep_order: tuple[str, ...] = DEFAULT_ORDER

    def checked(self) -> DedupSettings:
        """These settings with the keep order completed; BadDedupSettings or UnknownKeepRule when invalid."""
        unknown = [t for t in self.tiers if t not in TIERS]
        if unknown or not self.tiers:
            raise BadDedupSettings(f"unknown tier {unknown[0]!r}" if unknown else "no tier chosen")
        if not (0 <= self.phash_bits <= 64 and 0 <= self.fine_bits <= 256 and -1 <= self.min_cosine <= 1):
            raise BadDedupSettings("thresholds: phash_bits 0..64, fine_bits 0..256, min_cosine -1..1")
        return DedupSettings(**{**vars(self), "keep_order": check_order(self.keep_order)})


@dataclass(frozen=True)
class Group:
    id: int
    tier: str  # the loosest tier among the members: exact < near-identical < semantic; or burst
    distance: float  # the largest member distance in that tier
    keep: Member
    members: list[Member] = field(default_factory=list)  # the keeper first, then the others best first
    why: str = ""

    @property
    def others(self) -> list[Member]:
        return [m for m in self.members if m.file_id != self.keep.file_id]

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "tier": self.tier,
            "distance": self.distance,
            "why": self.why,
            "keep": self.keep.as_dict(),
            "members": [m.as_dict() for m in self.members],
        }


def find_groups(library: str | Path | None = None, settings: DedupSettings | None = None) -> list[Group]:
    """Duplicate groups of the library's ok files (bursts included, as tier "burst"), ordered by keeper path."""
    settings = (settings or DedupSettings()).checked()
    searcher = Searcher(library)
    with session(searcher.db) as s:
        members = load_members(s)
    files: dict[int, list[Member]] = defaultdict(list)
    for m in best_first(members, settings.keep_order):
        files[m.image_id].append(m)
    order = sorted(files, key=lambda i: rank_key(files[i][0], settings.keep_order))
    pairs = _tier_pairs(searcher, files, settings)
    return _groups(order, files, pairs, settings)


def _tier_pairs(searcher: Searcher, files: dict[int, list[Member]], settings: DedupSettings) -> dict[str, Pairs]:
    out = {}
    if "near-identical" in settings.tiers:
        hashed = np.array([i for i, fs in files.items() if fs[0].phash], np.int64)
        codes = hash_bytes([files[i][0].phash for i in hashed.tolist()])
        candidates = hamming_pairs(hashed, codes, settings.phash_bits)
        out["near-identical"] = confirm_near(candidates, lambda i: files[i][0].path, settings.fine_bits)
    if "semantic" in settings.tiers and files:
        fetch = fetch_vectors(searcher.db, searcher.model_id, searcher.dim)
        ids = np.intersect1d(np.fromiter(files, np.int64), searcher.index.ids())
        out["semantic"] = cosine_pairs(searcher.index, fetch, ids, settings.min_cosine)
    return out


def _groups(order, files, pairs: dict[str, Pairs], settings: DedupSettings) -> list[Group]:
    def taken_at(image_id: int) -> float | None:
        when = files[image_id][0].taken_at
        return when.timestamp() if when else None

    dups, bursts = separate_bursts(pairs, taken_at, settings.burst_seconds, settings.include_bursts)
    groups, burst_groups, taken = passes(order, dups, bursts)
    found = [(k, joined, False) for k, joined in groups.items()]
    found += [(k, joined, True) for k, joined in burst_groups.items()]
    if "exact" in settings.tiers:
        found += [(i, [], False) for i in order if i not in taken and len(files[i]) > 1]
    built = [_group(keeper, joined, files, burst, settings) for keeper, joined, burst in found]
    built.sort(key=lambda g: g.keep.path)
    return [
        Group(id=n, tier=g.tier, distance=g.distance, keep=g.keep, members=g.members, why=g.why)
        for n, g in enumerate(built, start=1)
    ]


def _group(keeper: int, joined, files, burst: bool, settings: DedupSettings) -> Group:
    keep, *copies = files[keeper]
    members = [keep] + [_joined(m, "exact", 0.0) for m in copies]
    for image, (tier, distance) in joined:
        members += [_joined(m, "burst" if burst else tier, distance) for m in files[image]]
    tier = max((m.tier for m in members[1:]), key=TIER_ORDER.index)
    distance = max(m.distance for m in members[1:] if m.tier == tier)
    return Group(0, tier, float(distance), keep, members, _why(keep, members[1:], settings))


def _joined(m: Member, tier: str, distance: float) -> Member:
    return Member(**{**vars(m), "tier": tier, "distance": float(distance)})


def _why(keep: Member, others: list[Member], settings: DedupSettings) -> str:
    parts = [f"keep {Path(keep.path).name}: {deciding_rule(keep, others[0], settings.keep_order)}"]
    by_tier = defaultdict(list)
    for m in others:
        by_tier[m.tier].append(m.distance)
    for tier in TIER_ORDER:
        if tier in by_tier:
            parts.append(_tier_words(tier, by_tier[tier], settings))
    return "; ".join(parts)


def _tier_words(tier: str, distances: list[float], settings: DedupSettings) -> str:
    n = len(distances)
    if tier == "exact":
        return f"{n} exact cop{'y' if n == 1 else 'ies'} (same sha256)"
    if tier == "near-identical":
        return f"{n} near-identical (256-bit pHash {int(max(distances))} bits apart, at most {settings.fine_bits})"
    if tier == "semantic":
        return f"{n} semantic (cosine {1 - max(distances):.3f}, at least {settings.min_cosine:.3f})"
    return f"{n} taken within {settings.burst_seconds:g} s: a burst, not duplicates (include bursts to act on it)"
