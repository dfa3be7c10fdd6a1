"""The keep-best rule: which file of a duplicate group is kept, by a configurable order of criteria.

Each criterion turns a member into a sort key (smaller is better); members are ordered by the keys in
the order given, so the first criterion decides unless it ties. `path` (shortest, then alphabetical)
always ends the order, so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from indexer import PixseekError

from .members import Member

# Lossless formats first, palette-limited GIF last (WEBP can be either; it is ranked between).
FORMAT_RANK = {"PNG": 0, "TIFF": 0, "BMP": 0, "PPM": 0, "WEBP": 1, "HEIF": 2, "AVIF": 2, "JPEG": 3, "MPO": 3, "GIF": 4}
UNKNOWN_FORMAT = 5


def _earliest(m: Member) -> tuple[bool, datetime]:
    return (m.taken_at is None, m.taken_at or datetime.max)


RULES: dict[str, tuple[Callable[[Member], object], str]] = {
    "pixels": (lambda m: -m.pixels, "most pixels"),
    "format": (lambda m: FORMAT_RANK.get(m.format.upper(), UNKNOWN_FORMAT), "least compressed format"),
    "size": (lambda m: -m.size, "largest file"),
    "exif": (lambda m: not m.has_exif, "has EXIF"),
    "earliest": (_earliest, "earliest capture"),
    "path": (lambda m: (len(m.path), m.path), "shortest path"),
}
DEFAULT_ORDER = ("pixels", "format", "size", "exif", "earliest", "path")


class UnknownKeepRule(PixseekError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"unknown keep rule {name!r}; choose from {', '.join(RULES)}")


def check_order(order: Sequence[str]) -> tuple[str, ...]:
    """The order as a tuple, with `path` appended when missing; UnknownKeepRule for a name not in RULES."""
    for name in order:
        if name not in RULES:
            raise UnknownKeepRule(name)
    return tuple(order) + (() if "path" in order else ("path",))


def rank_key(member: Member, order: Sequence[str]) -> tuple:
    """Sort key of a member under the order: the best member sorts first."""
    return tuple(RULES[name][0](member) for name in order)


def best_first(members: Sequence[Member], order: Sequence[str]) -> list[Member]:
    return sorted(members, key=lambda m: rank_key(m, order))


def deciding_rule(keep: Member, other: Member, order: Sequence[str]) -> str:
    """The words of the first criterion on which `keep` beat `other` ("most pixels"), or "tie"."""
    for name in order:
        key, words = RULES[name]
        if key(keep) != key(other):
            return words
    return "tie"
