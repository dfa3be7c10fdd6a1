"""Destinations inside a target folder, never outside it: the one check every export and quarantine uses.

A name is refused when it is absolute, has a `..` part, or when the folder it lands in resolves
(through symbolic links) outside the target; an existing file or link at the destination is never
overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from indexer import PixseekError


class UnsafePath(PixseekError):
    def __init__(self, name: str, target: Path, reason: str):
        self.name, self.target, self.reason = name, target, reason
        super().__init__(f"{name}: refused, {reason} (target folder {target})")


def inside(target: Path, name: str) -> Path:
    """target / name, a new path that stays inside target; UnsafePath otherwise. Creates the parent folders."""
    # On POSIX a backslash is an ordinary character of a file name, not a separator.
    rel = PurePosixPath(name if os.sep == "/" else name.replace("\\", "/"))
    if not name or rel.is_absolute() or ".." in rel.parts:
        raise UnsafePath(name, target, "absolute names and '..' would leave the target folder")
    base = target.resolve()
    dest = base.joinpath(*rel.parts)
    _parent_inside(dest, base, name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _parent_inside(dest, base, name)  # a link created between the check and mkdir is caught here
    if dest.is_symlink() or dest.exists():
        raise UnsafePath(name, target, "something already exists there")
    return dest


def _parent_inside(dest: Path, base: Path, name: str) -> None:
    if not dest.parent.resolve().is_relative_to(base):
        raise UnsafePath(name, base, "a symbolic link along the way leads outside the target folder")


def own_folder(path: Path) -> Path:
    """The folder at path (created), refused when it is itself a symbolic link (a planted link would redirect
    every file written under it)."""
    if path.is_symlink():
        raise UnsafePath(str(path), path.parent, "the folder is a symbolic link")
    path.mkdir(parents=True, exist_ok=True)
    return path
