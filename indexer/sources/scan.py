"""Walk the roots of a library and list the image files under them, with size and mtime.

A WebDataset tar shard (`*.tar`) found on the way is listed member by member (indexer.sources.tars): each
image member is a FoundFile at `<tar relpath>::<member name>` with the member's size and the tar's mtime,
so a shard whose mtime changes is read again and an unchanged one is not.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from . import tars
from .files import IMAGE_EXTENSIONS


@dataclass(frozen=True)
class ScanOptions:
    follow_symlinks: bool = False
    include_hidden: bool = False
    include: tuple[str, ...] = ()  # globs on the path relative to the root; empty = everything
    exclude: tuple[str, ...] = ()
    extensions: frozenset[str] = IMAGE_EXTENSIONS
    shards: bool = True  # list the image members of *.tar files (WebDataset shards)


@dataclass(frozen=True)
class FoundFile:
    root: Path
    relpath: str  # POSIX, relative to root
    size: int
    mtime_ns: int
    # Why an entry with an image name cannot be read at all (never opened, recorded as failed): a FIFO,
    # a dangling or looping link, a name that is not UTF-8 (then relpath holds it with \x escapes).
    problem: str | None = None
    member: tars.Member | None = None  # set for a member of a tar shard (relpath `<tar>::<name>`)

    @property
    def path(self) -> Path:
        return self.root / self.relpath


def _wanted(relpath: str, name: str, options: ScanOptions) -> bool:
    return os.path.splitext(name)[1].lower() in options.extensions and _globbed(relpath, options)


def _globbed(relpath: str, options: ScanOptions) -> bool:
    if options.include and not any(fnmatchcase(relpath, g) for g in options.include):
        return False
    return not any(fnmatchcase(relpath, g) for g in options.exclude)


def _entries(folder: str) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []  # unreadable or vanished folder: its files are simply not seen this run


def _stat(entry: os.DirEntry, follow: bool) -> os.stat_result | None:
    try:
        return entry.stat(follow_symlinks=follow)
    except OSError:
        return None  # dangling symlink, permission denied, vanished


def walk(root: Path, options: ScanOptions = ScanOptions(), start: Path | None = None) -> Iterator[FoundFile]:
    """Regular image files under root in a stable order; hidden entries and symlinks skipped by default.

    `start`: only the folder below root at this path (relpaths, globs and hidden names still from root)."""
    root = root.resolve()
    seen_dirs: set[tuple[int, int]] = set()
    stack = [str(start if start is not None else root)]
    while stack:
        folder = stack.pop()
        info = _stat_path(folder)
        if info is None or (info.st_dev, info.st_ino) in seen_dirs:
            continue  # a symlink loop, when following links
        seen_dirs.add((info.st_dev, info.st_ino))
        subdirs = []
        for entry in _entries(folder):
            found = _visit(entry, root, options, subdirs)
            if isinstance(found, list):
                yield from found
            elif found is not None:
                yield found
        stack.extend(reversed(subdirs))


def walk_paths(root: Path, relpaths: Iterable[str], options: ScanOptions = ScanOptions()) -> list[FoundFile]:
    """What `walk` lists at these paths below root: a file's entry, a folder's whole subtree, nothing for a
    path that is gone or that `walk` would not enter (hidden, a link not followed)."""
    root = root.resolve()
    by_parent: dict[str, set[str]] = {}
    for relpath in relpaths:
        parts = PurePosixPath(relpath).parts
        if parts and (options.include_hidden or not any(p.startswith(".") for p in parts)):
            by_parent.setdefault(str(root.joinpath(*parts[:-1])), set()).add(parts[-1])
    found: list[FoundFile] = []
    subdirs: list[str] = []
    for parent, names in sorted(by_parent.items()):
        for entry in _entries(parent):
            if entry.name in names:
                one = _visit(entry, root, options, subdirs)
                found += one if isinstance(one, list) else [one] if one is not None else []
    for folder in subdirs:
        found += walk(root, options, start=Path(folder))
    return found


def _stat_path(folder: str) -> os.stat_result | None:
    try:
        return os.stat(folder)
    except OSError:
        return None


def walk_shards(root: Path, relpaths: list[str], options: ScanOptions = ScanOptions()) -> Iterator[FoundFile]:
    """The members of the tar shards root/relpath (as `walk` lists them), for shards named one by one."""
    for relpath in relpaths:
        try:
            info = os.stat(root / relpath)
        except OSError:
            continue  # vanished: its members are marked missing
        yield from _shard(root, relpath, info, options)


def _shard(root: Path, relpath: str, info: os.stat_result, options: ScanOptions) -> list[FoundFile]:
    """A tar's image members; a tar that cannot be read whole adds one failed entry for the tar itself."""
    listing = tars.list_shard(root / relpath, options.extensions)
    found = [_member(root, relpath, info, m) for m in listing.members]
    if listing.error is not None:
        found.append(FoundFile(root, relpath, info.st_size, info.st_mtime_ns, problem=listing.error))
    return found


def _member(root: Path, relpath: str, info: os.stat_result, member: tars.Member) -> FoundFile:
    name = member.name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    problem = None if name == member.name else "member name is not valid UTF-8"
    return FoundFile(root, tars.member_address(relpath, name), member.size, info.st_mtime_ns, problem, member)


def _visit(entry: os.DirEntry, root: Path, options: ScanOptions, subdirs: list[str]) -> FoundFile | list | None:
    if not options.include_hidden and entry.name.startswith("."):
        return None
    link = entry.is_symlink()
    if link and not options.follow_symlinks:
        return None
    info = _stat(entry, options.follow_symlinks)
    if info is not None and stat.S_ISDIR(info.st_mode):
        subdirs.append(entry.path)
        return None
    relpath = Path(entry.path).relative_to(root).as_posix()
    if options.shards and tars.is_shard(entry.name) and info is not None and stat.S_ISREG(info.st_mode):
        return _shard(root, relpath, info, options) if _globbed(relpath, options) else None
    if not _wanted(relpath, entry.name, options):
        return None
    problem = _problem(info, link)
    if problem is None and not relpath.isascii() and not _utf8(relpath):
        problem = "file name is not valid UTF-8; rename the file"
    info = info or _stat(entry, False)
    if info is None:
        return None  # vanished since it was listed
    relpath = relpath.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return FoundFile(root=root, relpath=relpath, size=info.st_size, mtime_ns=info.st_mtime_ns, problem=problem)


def _problem(info: os.stat_result | None, link: bool) -> str | None:
    if info is None:
        return "symbolic link to nothing (dangling, or a loop)" if link else "cannot stat the file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a FIFO, socket or device); never opened"
    return None


def _utf8(name: str) -> bool:
    """Whether a name from os (undecodable bytes come as surrogates) can be stored as UTF-8 text."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
