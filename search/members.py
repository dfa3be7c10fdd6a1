"""The files dedup and curation look at: one `Member` per ok file, with its image's metadata, from the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.library import File, Image, Root

from .filters import display_path


@dataclass(frozen=True)
class Member:
    """One file of a duplicate group; `tier` and `distance` say how it relates to the group's keeper."""

    image_id: int
    file_id: int
    path: str  # absolute
    width: int
    height: int
    size: int  # bytes
    format: str
    taken_at: datetime | None
    has_exif: bool  # a capture time or a camera is recorded
    phash: str | None  # 64-bit pHash, 16 hex digits
    mtime: datetime | None = None  # the file's modification time (local), when known
    content_hash: str = ""  # sha256 hex of the bytes: what a "not duplicates" answer is stored by
    reference: bool = False  # under a reference folder: always kept, never acted on
    tier: str = "keep"  # "keep" for the keeper, else the tier that joined it: exact, near-identical, semantic, burst
    distance: float = 0.0  # to the keeper: 0 (exact), pHash bits of 256 (near-identical), 1 - cosine (semantic)

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def as_dict(self) -> dict:
        out = dict(vars(self))
        out["taken_at"] = self.taken_at.isoformat() if self.taken_at else None
        out["mtime"] = self.mtime.isoformat(timespec="seconds") if self.mtime else None
        return out


def load_members(session: Session, file_ids: list[int] | None = None) -> list[Member]:
    """Every ok file with an image (or just `file_ids`), ordered by path."""
    query = (
        select(File.id, File.size, File.mtime_ns, Root.path, File.relpath, Image)
        .join(Image, Image.id == File.image_id)
        .join(Root, Root.id == File.root_id)
        .where(File.status == "ok")
        .order_by(Root.path, File.relpath)
    )
    if file_ids is not None:
        query = query.where(File.id.in_(file_ids))
    return [_member(*row) for row in session.execute(query).tuples()]


def _member(file_id: int, size: int, mtime_ns: int, root: str, relpath: str, image: Image) -> Member:
    return Member(
        image_id=image.id,
        file_id=file_id,
        path=display_path(root, relpath),
        width=image.width,
        height=image.height,
        size=size,
        format=image.format,
        taken_at=image.taken_at,
        has_exif=bool(image.taken_at or image.camera_make or image.camera_model),
        phash=image.phash,
        mtime=datetime.fromtimestamp(mtime_ns / 1e9) if mtime_ns else None,
        content_hash=image.content_hash,
    )
