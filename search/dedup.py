"""Near-duplicate groups of a library, in tiers, each group explained and with the file to keep.

    settings = DedupSettings(tiers=("exact", "near-identical", "semantic"), min_cosine=0.95)
    for group in find_groups("/path/lib", settings):
        group.tier, group.distance, group.keep.path, [m.path for m in group.others], group.why

Tiers (each member says which one joined it, and its distance to the keeper):
- exact: files with the same bytes (one catalog image, one sha256); distance 0.
- near-identical: pairs proposed by the stored 64-bit pHash, one side flipped or turned, within phash_bits,
  or by the embedding index (each image's `neighbours` nearest), confirmed on their pixels (search.likeness):
  256-bit pHash within fine_bits under the best flip/turn, and at most max_changed of the picture differing
  in solid colour patches; images two steps apart through confirmed pairs are compared directly too
  (search.near_identical); distance in bits of 256. Flipped, quarter-turned, cropped (up to 10%) and
  captioned pixel copies are near-identical.
- semantic: embedding cosine >= min_cosine under the model that indexed the library; candidates from the
  production index, decided on the stored float32 vectors; distance 1 - cosine. Off by default: it groups
  images that show the same thing (the two photos of a stereo pair), which is curation, not cleaning.
Two different images whose capture times are 0 < dt <= burst_seconds apart are a burst, not duplicates:
they come back as groups of tier "burst", which actions never touch, unless include_bursts.
Pairs a user dismissed ("not duplicates", search.dismissals) are left out, unless show_dismissed: then their
groups come back marked dismissed, and actions never touch them either. Files under the library's reference
folders (search.references) are kept first and never acted on; a group made only of them is reported only.
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

from .dismissals import dismissed_pairs
from .grouping import TIER_ORDER, passes, separate_bursts
from .keep import DEFAULT_ORDER, best_first, check_order, deciding_rule, rank_key
from .likeness import Likeness
from .members import Member, load_members
from .near_identical import PixelCheck, Refused, candidate_pairs, indexed_ids
from .pairs import Pairs, cosine_pairs
from .references import inside_any, reference_folders
from .searcher import Searcher

TIERS = ("exact", "near-identical", "semantic")
MAX_NEIGHBOURS = 100  # embedding neighbours per image: past this the candidates cost more than they find


class BadDedupSettings(PixseekError):
    pass


@dataclass(frozen=True)
class DedupSettings:
    """Every dedup default lives here: the CLI, the UI and the HTTP service all start from DedupSettings()."""

    tiers: tuple[str, ...] = ("exact", "near-identical")
    # near-identical, all four chosen on bench/dedup_quality.py's tuning set (its report set is measured apart).
    # Candidates: the loosest of those that reach the best recall there (the whole-frame pHash alone finds 0.90 of
    # the caption-bar copies at 16 bits; the neighbours find the rest, and the crops it misses).
    phash_bits: int = 16  # 64-bit pHash (any flip/turn of one side) within this many bits
    neighbours: int = 10  # ... or among each other's this many nearest in the embedding index
    # Decided on pixels: the strictest thresholds with the best worst-family recall and no false pair (the
    # first false pair comes at 80 bits).
    fine_bits: int = 64  # 256-bit pHash, upright, within this many bits
    # ... or under a flip/turn within this many: eight tries find more coincidences (the demo's white square in
    # one corner of a blue field and in the mirrored corner of another is 38 bits apart flipped; a q55 re-encode
    # of a textured shape 44 upright), so a turned match needs closer hashes.
    turned_bits: int = 32
    max_changed: float = 0.0  # and at most this share of the picture differing in solid colour patches
    # semantic: exact embedding cosine at least this. Model-specific: bench/dedup.py with tiny-shapes gives
    # pair precision 0.90 at 0.98, 0.997 at 0.99 (chaining 0.02), 1.0 at 0.995; tune it for other models.
    min_cosine: float = 0.99
    burst_seconds: float = 5.0  # 0 turns burst detection off
    include_bursts: bool = False  # treat bursts as duplicates
    keep_order: tuple[str, ...] = DEFAULT_ORDER
    show_dismissed: bool = False  # groups of pairs answered "not duplicates" come back, marked dismissed

    def checked(self) -> DedupSettings:
        """These settings with the keep order completed; BadDedupSettings or UnknownKeepRule when invalid."""
        unknown = [t for t in self.tiers if t not in TIERS]
        if unknown or not self.tiers:
            raise BadDedupSettings(f"unknown tier {unknown[0]!r}" if unknown else "no tier chosen")
        if not (0 <= self.phash_bits <= 64 and 0 <= self.fine_bits <= 256 and -1 <= self.min_cosine <= 1):
            raise BadDedupSettings("thresholds: phash_bits 0..64, fine_bits 0..256, min_cosine -1..1")
        if not 0 <= self.neighbours <= MAX_NEIGHBOURS:
            raise BadDedupSettings(f"neighbours: 0..{MAX_NEIGHBOURS} nearest images per image")
        if not 0 <= self.max_changed <= 1:
            raise BadDedupSettings("max_changed is a share of the picture, 0..1")
        return DedupSettings(**{**vars(self), "keep_order": check_order(self.keep_order)})

    def alike(self, likeness: Likeness) -> bool:
        """Whether a candidate pair's pixels make it near-identical under these thresholds."""
        close = likeness.upright_bits <= self.fine_bits or likeness.bits <= self.turned_bits
        return close and likeness.changed <= self.max_changed


@dataclass(frozen=True)
class Group:
    id: int
    tier: str  # the loosest tier among the members: exact < near-identical < semantic; or burst
    distance: float  # the largest member distance in that tier
    keep: Member
    members: list[Member] = field(default_factory=list)  # the keeper first, then the others best first
    why: str = ""
    dismissed: bool = False  # holds a pair answered "not duplicates" (only listed with show_dismissed)

    @property
    def others(self) -> list[Member]:
        return [m for m in self.members if m.file_id != self.keep.file_id]

    def acted_on(self, keeper_id: int | None = None) -> list[Member]:
        """The members an action would move, link or delete, keeping keeper_id (default: the proposed keeper):
        none of a burst or dismissed group, never a reference file."""
        if self.tier == "burst" or self.dismissed:
            return []
        keep = self.keep.file_id if keeper_id is None else keeper_id
        return [m for m in self.members if m.file_id != keep and not m.reference]

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "tier": self.tier,
            "distance": self.distance,
            "why": self.why,
            "dismissed": self.dismissed,
            "keep": self.keep.as_dict(),
            "members": [m.as_dict() for m in self.members],
        }


def find_groups(library: str | Path | None = None, settings: DedupSettings | None = None) -> list[Group]:
    """Duplicate groups of the library's ok files (bursts included, as tier "burst"), ordered by keeper path."""
    settings = (settings or DedupSettings()).checked()
    searcher = Searcher(library)
    with session(searcher.db) as s:
        folders = reference_folders(s)
        members = [_referenced(m, folders) for m in load_members(s)]
        dismissed = dismissed_pairs(s)
    files: dict[int, list[Member]] = defaultdict(list)
    for m in best_first(members, settings.keep_order):
        files[m.image_id].append(m)
    order = sorted(files, key=lambda i: rank_key(files[i][0], settings.keep_order))

    def is_dismissed(a: int, b: int) -> bool:
        return tuple(sorted((files[a][0].content_hash, files[b][0].content_hash))) in dismissed

    pairs = _tier_pairs(searcher, files, settings, None if settings.show_dismissed else is_dismissed)
    groups = _groups(order, files, _without(pairs, is_dismissed, settings.show_dismissed), settings)
    return [_marked(g, is_dismissed) for g in groups] if settings.show_dismissed else groups


def _referenced(m: Member, folders: list[str]) -> Member:
    return Member(**{**vars(m), "reference": True}) if folders and inside_any(m.path, folders) else m


def _without(tiered: dict[str, Pairs], dismissed, keep_them: bool) -> dict[str, Pairs]:
    """The pairs of each tier but the dismissed ones (all of them when keep_them)."""
    if keep_them:
        return tiered
    out = {}
    for tier, (a, b, d) in tiered.items():
        ok = np.array([not dismissed(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True)], bool)
        out[tier] = (a[ok], b[ok], d[ok]) if len(a) else (a, b, d)
    return out


def _marked(group: Group, dismissed) -> Group:
    images = sorted({m.image_id for m in group.members})
    if not any(dismissed(a, b) for i, a in enumerate(images) for b in images[i + 1 :]):
        return group
    return Group(group.id, group.tier, group.distance, group.keep, group.members, group.why + "; dismissed", True)


def _tier_pairs(
    searcher: Searcher, files: dict[int, list[Member]], settings: DedupSettings, refused: Refused | None
) -> dict[str, Pairs]:
    out = {}
    if "near-identical" in settings.tiers:
        hashes = {i: fs[0].phash for i, fs in files.items()}
        candidates = candidate_pairs(searcher, hashes, settings.phash_bits, settings.neighbours)
        check = PixelCheck(lambda i: files[i][0].path, max(settings.fine_bits, settings.turned_bits))
        out["near-identical"] = check.pairs(candidates, settings.alike, refused)
    if "semantic" in settings.tiers and files:
        fetch = fetch_vectors(searcher.db, searcher.model_id, searcher.dim)
        out["semantic"] = cosine_pairs(searcher.index, fetch, indexed_ids(searcher, files), settings.min_cosine)
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
    references = sum(m.reference for m in others)
    if references == len(others) and keep.reference:
        parts.append("only reference files: reported, never acted on")
    elif references:
        parts.append(f"{references} more in reference folders, kept")
    return "; ".join(parts)


def _tier_words(tier: str, distances: list[float], settings: DedupSettings) -> str:
    n = len(distances)
    if tier == "exact":
        return f"{n} exact cop{'y' if n == 1 else 'ies'} (same sha256)"
    if tier == "near-identical":
        bits = f"256-bit pHash {int(max(distances))} bits apart under the best flip/turn, at most {settings.fine_bits}"
        return f"{n} near-identical ({bits}; colours agree but for {settings.max_changed:.1%} at most)"
    if tier == "semantic":
        return f"{n} semantic (cosine {1 - max(distances):.3f}, at least {settings.min_cosine:.3f})"
    return f"{n} taken within {settings.burst_seconds:g} s: a burst, not duplicates (include bursts to act on it)"
