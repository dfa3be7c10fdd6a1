"""Search filters on catalog fields, turned into the set of image ids a search may return."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from indexer.library import File, Image, Root
from indexer.sources import MEMBER_SEP, is_shard


@dataclass(frozen=True)
class Filters:
    under: str | None = None  # a folder: only files below it; or a tar shard: only its members
    after: datetime | None = None  # EXIF capture time, inclusive
    before: datetime | None = None  # exclusive
    camera: str | None = None  # case-insensitive substring of "make model"
    min_width: int | None = None
    min_height: int | None = None
    max_width: int | None = None
    max_height: int | None = None
    formats: tuple[str, ...] = ()  # JPEG, PNG, ... (case-insensitive)

    def active(self) -> bool:
        return any(v not in (None, ()) for v in vars(self).values())


def _under(session: Session, folder: str):
    """Condition on File for paths below `folder`, whichever side of a root it is on."""
    target = Path(folder).expanduser().resolve()
    conditions = []
    for root_id, root_path in session.execute(select(Root.id, Root.path)):
        root = Path(root_path)
        if target == root or root.is_relative_to(target):
            conditions.append(File.root_id == root_id)
        elif target.is_relative_to(root):
            below = MEMBER_SEP if is_shard(target.name) and target.is_file() else "/"
            prefix = target.relative_to(root).as_posix().replace("%", r"\%").replace("_", r"\_") + below
            conditions.append(and_(File.root_id == root_id, File.relpath.like(prefix + "%", escape="\\")))
    return or_(*conditions) if conditions else File.id < 0


def _image_conditions(f: Filters) -> list:
    bounds = [
        (f.min_width, Image.width, "ge"),
        (f.min_height, Image.height, "ge"),
        (f.max_width, Image.width, "le"),
        (f.max_height, Image.height, "le"),
    ]
    out = [col >= v if op == "ge" else col <= v for v, col, op in bounds if v is not None]
    if f.after is not None:
        out.append(Image.taken_at >= f.after)
    if f.before is not None:
        out.append(Image.taken_at < f.before)
    if f.camera:
        camera = func.lower(func.coalesce(Image.camera_make, "") + " " + func.coalesce(Image.camera_model, ""))
        out.append(camera.contains(f.camera.lower(), autoescape=True))
    if f.formats:
        out.append(func.upper(Image.format).in_([x.upper() for x in f.formats]))
    return out


def allowed_ids(session: Session, filters: Filters) -> np.ndarray:
    """int64 ids of images with at least one ok file that satisfies every filter."""
    query = select(File.image_id).join(Image, Image.id == File.image_id).where(File.status == "ok")
    if filters.under:
        query = query.where(_under(session, filters.under))
    for condition in _image_conditions(filters):
        query = query.where(condition)
    return np.unique(np.fromiter(session.scalars(query.distinct()), dtype=np.int64))


def display_path(root: str, relpath: str) -> str:
    return os.path.join(root, *relpath.split("/"))
