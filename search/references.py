"""Reference folders: folders whose files dedup always keeps and never moves, links or deletes.

Given once (`pixseek dedup --reference DIR`), a folder is remembered in the library's catalog for every later
run; `forget_references` takes it back. A file is a reference file when its path is inside one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import delete, select

from indexer import PixseekError
from indexer.library import ReferenceFolder, existing_library, open_catalog, session


class NotAFolder(PixseekError):
    def __init__(self, path: str):
        self.path = path
        super().__init__(f"reference folder {path} is not a folder")


def _absolute(path: str | Path) -> str:
    return os.path.abspath(os.path.expanduser(path))


def remember_references(library: str | Path | None, folders: Iterable[str | Path]) -> list[str]:
    """Add these folders (which must exist) to the library's reference folders; all of them, sorted."""
    wanted = [_absolute(f) for f in folders]
    for path in wanted:
        if not os.path.isdir(path):
            raise NotAFolder(path)
    with session(open_catalog(existing_library(library)), write=True) as s:
        known = set(s.scalars(select(ReferenceFolder.path)))
        s.add_all(ReferenceFolder(path=p) for p in dict.fromkeys(wanted) if p not in known)
        s.commit()
        return sorted(s.scalars(select(ReferenceFolder.path)))


def forget_references(library: str | Path | None, folders: Iterable[str | Path]) -> list[str]:
    """Remove these folders from the library's reference folders; the ones left, sorted."""
    gone = [_absolute(f) for f in folders]
    with session(open_catalog(existing_library(library)), write=True) as s:
        s.execute(delete(ReferenceFolder).where(ReferenceFolder.path.in_(gone)))
        s.commit()
        return sorted(s.scalars(select(ReferenceFolder.path)))


def reference_folders(s) -> list[str]:
    """The reference folders recorded in the catalog of this session, sorted."""
    return sorted(s.scalars(select(ReferenceFolder.path)))


def inside_any(path: str, folders: Sequence[str]) -> bool:
    """Whether the absolute path is inside (below) one of the folders."""
    return any(path.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders)


def references_of(library: str | Path | None) -> list[str]:
    """The library's reference folders, sorted."""
    with session(open_catalog(existing_library(library))) as s:
        return reference_folders(s)
