"""The values a library's filters can take: folders, cameras, formats, date and size ranges (for the UI)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from indexer.library import File, Image, Root, session


@dataclass(frozen=True)
class Facets:
    roots: tuple[str, ...]
    folders: tuple[str, ...]  # every folder holding indexed files, and the folders between it and its root
    cameras: tuple[str, ...]  # "make model"
    formats: tuple[str, ...]
    first_taken: datetime | None
    last_taken: datetime | None
    max_width: int
    max_height: int


def _folders(s, roots: dict[int, str]) -> set[str]:
    # rtrim(relpath, <relpath without '/'>) cuts the file name, leaving "a/b/" (or "" at the root).
    parent = func.rtrim(File.relpath, func.replace(File.relpath, "/", ""))
    found = set(roots.values())
    for root_id, prefix in s.execute(select(File.root_id, parent).where(File.status == "ok").distinct()):
        folder = prefix.rstrip("/")
        while folder:
            found.add(str(Path(roots[root_id], *folder.split("/"))))
            folder = posixpath.dirname(folder)
    return found


def facets(engine: Engine) -> Facets:
    """What the catalog's ok files offer to filter on."""
    with session(engine) as s:
        roots = dict(s.execute(select(Root.id, Root.path)).tuples().all())
        ok = select(File.image_id).where(File.status == "ok")
        images = select(Image).where(Image.id.in_(ok)).subquery()
        first, last, width, height = s.execute(
            select(
                func.min(images.c.taken_at),
                func.max(images.c.taken_at),
                func.max(images.c.width),
                func.max(images.c.height),
            )
        ).one()
        makes = s.execute(select(images.c.camera_make, images.c.camera_model).distinct()).tuples().all()
        formats = s.scalars(select(images.c.format).distinct()).all()
        folders = _folders(s, roots)
    cameras = {" ".join(x for x in pair if x) for pair in makes} - {""}
    return Facets(
        roots=tuple(sorted(roots.values())),
        folders=tuple(sorted(folders)),
        cameras=tuple(sorted(cameras)),
        formats=tuple(sorted(formats)),
        first_taken=first,
        last_taken=last,
        max_width=width or 0,
        max_height=height or 0,
    )
