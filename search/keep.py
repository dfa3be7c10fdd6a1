"""The keep-best rule: which file of a duplicate group is kept, by a configurable order of criteria.

Each criterion turns a member into a sort key (smaller is better); members are ordered by the keys in
the order given, so the first criterion decides unless it ties. A file under a reference folder always
comes first (it is never acted on, so it is the natural keeper), and `path` (shortest, then alphabetical)
always ends the order, so the choice is deterministic. Among equal pixels and quality the original wins
over a file whose name or folder marks it a copy ("copy", "Copy of", "(1)", "-2", "duplicate"), then the
earliest capture (EXIF date, else the file's modification time).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import PurePath

from indexer import PixseekError

from .members import Member

# Lossless formats first, palette-limited GIF last (WEBP can be either; it is ranked between).
FORMAT_RANK = {"PNG": 0, "TIFF": 0, "BMP": 0, "PPM": 0, "WEBP": 1, "HEIF": 2, "AVIF": 2, "JPEG": 3, "MPO": 3, "GIF": 4}
UNKNOWN_FORMAT = 5
# A word of a folder or file name that says "copy" (not "copyright"), in English and a few file managers' words.
COPY_WORD = re.compile(r"(?<![a-z])(copy|copies|duplicates?|kopie|copie|kopia)(?![a-z])", re.IGNORECASE)
# A name's stem ending as file managers and cameras number copies: "x (1)", "x-2", "x_copy2", "x~1"; not "IMG_0042".
COPY_SUFFIX = re.compile(r"(\(\d{1,3}\)|[-~ ][1-9]\d?)$")


def marked_copy(path: str) -> bool:
    """Whether the file's name or one of its folders marks it a copy of another."""
    parts = PurePath(path).parts
    return bool(COPY_SUFFIX.search(PurePath(path).stem)) or any(COPY_WORD.search(p) for p in parts)


def _earliest(m: Member) -> tuple[bool, datetime]:
    when = m.taken_at or m.mtime
    return (when is None, when or datetime.max)


RULES: dict[str, tuple[Callable[[Member], object], str]] = {
    "pixels": (lambda m: -m.pixels, "most pixels"),
    "format": (lambda m: FORMAT_RANK.get(m.format.upper(), UNKNOWN_FORMAT), "least compressed format"),
    "size": (lambda m: -m.size, "largest file"),
    "exif": (lambda m: not m.has_exif, "has EXIF"),
    "original": (lambda m: marked_copy(m.path), "not named or filed as a copy"),
    "earliest": (_earliest, "earliest capture (EXIF date, else file time)"),
    "path": (lambda m: (len(m.path), m.path), "shortest path"),
}
DEFAULT_ORDER = ("pixels", "format", "size", "exif", "original", "earliest", "path")


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
    """Sort key of a member under the order: the best member sorts first (reference files before all)."""
    return (not member.reference, *(RULES[name][0](member) for name in order))


def best_first(members: Sequence[Member], order: Sequence[str]) -> list[Member]:
    return sorted(members, key=lambda m: rank_key(m, order))


def deciding_rule(keep: Member, other: Member, order: Sequence[str]) -> str:
    """The words of the first criterion on which `keep` beat `other` ("most pixels"), or "tie"."""
    if keep.reference and not other.reference:
        return "in a reference folder"
    for name in order:
        key, words = RULES[name]
        if key(keep) != key(other):
            return words
    return "tie"
