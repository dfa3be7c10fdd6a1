"""A library's roots: list them with their state, move one to where its folder went, forget one.

Files are stored relative to their root, so a moved root keeps every file row, image and vector: moving it
rewrites one path per root (the keyword triggers follow). A root whose folder cannot be reached (gone, or an
empty mount point of a drive not plugged in) is offline: its files are kept as they were, never marked
missing, until it is back, moved or removed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from indexer.errors import PixseekError

from .catalog import active_model, open_catalog, session
from .folder import existing_library, model_key, writer_lock
from .sync import open_index
from .tables import Action, File, Image, Root


class UnknownRoot(PixseekError):
    def __init__(self, path: str, known: list[str]):
        self.path, self.known = path, known
        roots = ", ".join(known) or "none yet"
        super().__init__(f"{path} is not a root of this library (its roots: {roots}); see pixseek roots list")


class RootTaken(PixseekError):
    def __init__(self, path: str):
        self.path = path
        super().__init__(f"{path} is already a root of this library; remove one of the two first")


class NotAFolder(PixseekError):
    def __init__(self, path: str):
        self.path = path
        super().__init__(f"{path}: not a folder")


@dataclass(frozen=True)
class RootInfo:
    path: str
    online: bool  # its folder can be read (or nothing was indexed under it yet)
    ok: int  # files by status
    failed: int
    missing: int


@dataclass(frozen=True)
class MovedRoot:
    old: str
    new: str
    files: int  # file rows that moved with it (nested roots included)
    found: int  # of their ok files, how many are at the new place


@dataclass(frozen=True)
class RemovedRoot:
    path: str
    files: int  # file rows forgotten
    images: int  # images (and their vectors) no other file had


def reachable(path: str | Path) -> bool:
    """Whether a root's folder is there: a readable directory with at least one entry. An empty mount
    point (a drive not plugged in, a share not mounted) is not, so its files are not taken for deleted."""
    try:
        with os.scandir(path) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


def offline(path: str | Path, ok_files: int) -> bool:
    """A root that held files and whose folder cannot be reached now."""
    return ok_files > 0 and not reachable(path)


def ok_files(s: Session, root_id: int) -> int:
    return s.scalar(select(func.count(File.id)).where(File.root_id == root_id, File.status == "ok"))


def list_roots(s: Session) -> list[RootInfo]:
    """Every root with its file counts and whether it is online, by path."""
    counts: dict[int, dict[str, int]] = {}
    for root_id, status, n in s.execute(
        select(File.root_id, File.status, func.count()).group_by(File.root_id, File.status)
    ):
        counts.setdefault(root_id, {})[status] = n
    out = []
    for root in s.scalars(select(Root).order_by(Root.path)):
        c = counts.get(root.id, {})
        ok = c.get("ok", 0)
        out.append(RootInfo(root.path, not offline(root.path, ok), ok, c.get("failed", 0), c.get("missing", 0)))
    return out


def find_root(s: Session, path: str | Path) -> Root:
    """The root stored for this path (as typed, made absolute, or with its links resolved)."""
    raw = os.path.expanduser(str(path))
    for key in dict.fromkeys((os.path.abspath(raw), str(Path(raw).resolve()))):
        root = s.scalar(select(Root).where(Root.path == key))
        if root is not None:
            return root
    raise UnknownRoot(str(path), list(s.scalars(select(Root.path).order_by(Root.path))))


def move_root(s: Session, old: str | Path, new: str | Path) -> MovedRoot:
    """Point the root at `old` (and the roots below it) to the folder `new`; caller commits. No file is
    read: their rows, images and vectors stay, so the next index run finds them unchanged."""
    root = find_root(s, old)
    old_path = root.path
    target = Path(os.path.expanduser(str(new))).resolve()
    if not target.is_dir():
        raise NotAFolder(str(new))
    moving = [r for r in s.scalars(select(Root)) if r.path == root.path or r.path.startswith(root.path + os.sep)]
    renamed = {r.id: str(target) + r.path[len(root.path) :] for r in moving}
    taken = s.scalar(select(Root.path).where(Root.path.in_(renamed.values()), Root.id.not_in(renamed)))
    if taken is not None:
        raise RootTaken(taken)
    found = files = 0
    for r in moving:
        relpaths = list(s.scalars(select(File.relpath).where(File.root_id == r.id, File.status == "ok")))
        files += s.scalar(select(func.count(File.id)).where(File.root_id == r.id))
        found += sum(os.path.lexists(os.path.join(renamed[r.id], p.split("::", 1)[0])) for p in relpaths)
        _rewrite_actions(s, r.path, renamed[r.id])
        r.path = renamed[r.id]
    s.flush()
    return MovedRoot(old_path, str(target), files, found)


def _rewrite_actions(s: Session, old: str, new: str) -> None:
    """Dedup actions record absolute paths: those under the moved root point to its new place, so undo works."""
    for column in (Action.source, Action.keeper):
        rows = s.execute(select(Action.id, column).where(column.startswith(old + os.sep, autoescape=True)))
        for action_id, path in rows.all():
            s.execute(update(Action).where(Action.id == action_id).values({column.key: new + path[len(old) :]}))


def remove_root(s: Session, path: str | Path) -> RemovedRoot:
    """Forget a root: its file rows, and the images and vectors no other file has; caller commits.
    Nothing on disk is touched."""
    root = find_root(s, path)
    elsewhere = select(File.image_id).where(File.root_id != root.id, File.image_id.is_not(None))
    only_here = select(File.image_id).distinct().where(File.root_id == root.id, File.image_id.not_in(elsewhere))
    orphans = sorted(i for i in s.scalars(only_here) if i is not None)
    files = s.execute(delete(File).where(File.root_id == root.id)).rowcount  # rows one by one: triggers fire
    s.execute(delete(Root).where(Root.id == root.id))
    for start in range(0, len(orphans), 500):
        s.execute(delete(Image).where(Image.id.in_(orphans[start : start + 500])))
    return RemovedRoot(root.path, files, len(orphans))


# --- on a library folder: what `pixseek roots` calls -------------------------------------------------------


def library_roots(library: str | Path | None) -> list[RootInfo]:
    """`list_roots` of an existing library."""
    engine = open_catalog(existing_library(library))
    try:
        with session(engine) as s:
            return list_roots(s)
    finally:
        engine.dispose()


def move_library_root(library: str | Path | None, old: str | Path, new: str | Path) -> MovedRoot:
    """`move_root` under the library's writer lock, committed."""
    path = existing_library(library)
    with writer_lock(path):
        engine = open_catalog(path)
        try:
            with session(engine, write=True) as s:
                moved = move_root(s, old, new)
                s.commit()
        finally:
            engine.dispose()
    return moved


def remove_library_root(library: str | Path | None, root: str | Path) -> RemovedRoot:
    """`remove_root` under the library's writer lock, committed; the vector index drops the forgotten images."""
    path = existing_library(library)
    with writer_lock(path):
        engine = open_catalog(path)
        try:
            with session(engine, write=True) as s:
                removed = remove_root(s, root)
                s.commit()
                model = active_model(s)
                key = (model_key(model.name, model.weights_sha256), model.id, model.dim) if model else None
            if key is not None:
                open_index(engine, path, *key, save=True)
        finally:
            engine.dispose()
    return removed
