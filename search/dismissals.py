""" "Not duplicates": pairs of images a user dismissed, kept in the catalog by content hash and undoable.

    batch = dismiss(library, group.members)      # every pair of the group's distinct images
    undismiss(library, group.members)            # those pairs shown again
    undo_dismissal(library)                      # the newest dismissal taken back

A pair is stored by the two sha256s, so it holds when the files move, are renamed or re-indexed, and for
every later copy of the same bytes. search.dedup leaves dismissed pairs out of grouping.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from itertools import combinations
from pathlib import Path

from sqlalchemy import delete, func, select, tuple_

from indexer import PixseekError
from indexer.library import Dismissal, existing_library, open_catalog, session

from .members import Member, load_members

HashPair = tuple[str, str]  # (sha256 a, sha256 b), a < b


class UnknownTarget(PixseekError):
    """A group number not in the listing, or a path that is no indexed file."""


class NothingToDismiss(PixseekError):
    def __init__(self):
        super().__init__("these files have the same bytes (exact copies); there is no pair of different images")


def target_members(library: str | Path | None, targets: Sequence[str], groups: Sequence) -> list[Member]:
    """The members named by targets: one group number of `groups` (search.dedup.Group), or two or more paths of
    indexed files; UnknownTarget otherwise."""
    if len(targets) == 1 and targets[0].isdigit():
        group = next((g for g in groups if g.id == int(targets[0])), None)
        if group is None:
            raise UnknownTarget(f"no group {targets[0]} under these settings (groups 1..{len(groups)})")
        return list(group.members)
    if len(targets) < 2:
        raise UnknownTarget("name one group number, or two or more files")
    wanted = {os.path.abspath(os.path.expanduser(t)): t for t in targets}
    with session(open_catalog(existing_library(library))) as s:
        found = {m.path: m for m in load_members(s) if m.path in wanted}
    missing = [t for path, t in wanted.items() if path not in found]
    if missing:
        raise UnknownTarget(f"{missing[0]} is not an indexed file of this library")
    return list(found.values())


def hash_pairs(members: Sequence[Member]) -> list[HashPair]:
    """Every pair of the members' distinct contents, each sorted."""
    hashes = sorted({m.content_hash for m in members})
    return list(combinations(hashes, 2))


def dismiss(library: str | Path | None, members: Sequence[Member]) -> int:
    """Record every pair of the members' images as not duplicates; the batch number (for undo)."""
    pairs = hash_pairs(members)
    if not pairs:
        raise NothingToDismiss()
    with session(open_catalog(existing_library(library)), write=True) as s:
        batch = (s.scalar(select(func.max(Dismissal.batch))) or 0) + 1
        known = _known(s, pairs)
        s.add_all(Dismissal(batch=batch, hash_a=a, hash_b=b) for a, b in pairs if (a, b) not in known)
        s.commit()
    return batch


def undismiss(library: str | Path | None, members: Sequence[Member]) -> int:
    """Forget the "not duplicates" answers between these members; how many pairs were forgotten."""
    pairs = hash_pairs(members)
    with session(open_catalog(existing_library(library)), write=True) as s:
        gone = s.execute(delete(Dismissal).where(tuple_(Dismissal.hash_a, Dismissal.hash_b).in_(pairs))).rowcount
        s.commit()
    return gone if pairs else 0


def undo_dismissal(library: str | Path | None) -> int:
    """Take back the newest dismissal; how many pairs it held (0: none left)."""
    with session(open_catalog(existing_library(library)), write=True) as s:
        batch = s.scalar(select(func.max(Dismissal.batch)))
        gone = s.execute(delete(Dismissal).where(Dismissal.batch == batch)).rowcount if batch else 0
        s.commit()
    return gone


def dismissed_pairs(s) -> set[HashPair]:
    """Every dismissed pair in the catalog of this session."""
    return set(s.execute(select(Dismissal.hash_a, Dismissal.hash_b)).tuples())


def _known(s, pairs: Iterable[HashPair]) -> set[HashPair]:
    pairs = list(pairs)
    rows = s.execute(
        select(Dismissal.hash_a, Dismissal.hash_b).where(tuple_(Dismissal.hash_a, Dismissal.hash_b).in_(pairs))
    )
    return set(rows.tuples())
