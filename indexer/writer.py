"""The one writer: each batch's files, images and vectors land in one catalog transaction.

A vector exists iff its metadata exists: the embedding rows are written in the same transaction
as the image and file rows that describe them, so a kill at any moment loses at most this batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .catalog import vector_to_bytes
from .reader import Outcome
from .tables import Embedding, File, Image, utcnow


def _file_row(s: Session, root_id: int, relpath: str) -> File | None:
    return s.scalars(select(File).where(File.root_id == root_id, File.relpath == relpath)).one_or_none()


def _moved_row(s: Session, content_hash: str) -> File | None:
    """A file of this content that went missing: the new path is where it moved to."""
    return s.scalars(
        select(File).where(File.content_hash == content_hash, File.status == "missing").limit(1)
    ).one_or_none()


def _image(s: Session, outcome: Outcome) -> Image:
    found = s.scalars(select(Image).where(Image.content_hash == outcome.content_hash)).one_or_none()
    if found is not None:
        return found
    meta = outcome.decoded.meta
    image = Image(
        content_hash=outcome.content_hash,
        width=meta.width,
        height=meta.height,
        format=meta.format,
        taken_at=meta.taken_at,
        camera_make=meta.camera_make,
        camera_model=meta.camera_model,
        gps_lat=meta.gps_lat,
        gps_lon=meta.gps_lon,
        orientation=meta.orientation,
        phash=meta.phash,
    )
    s.add(image)
    s.flush()
    return image


def _place(s: Session, root_id: int, outcome: Outcome) -> tuple[File, str]:
    """The row for this path: existing, a moved one re-pointed here, or new; and how it came."""
    f = outcome.file
    row = _file_row(s, root_id, f.relpath)
    if row is not None:
        return row, "changed"
    moved = _moved_row(s, outcome.content_hash) if outcome.content_hash else None
    if moved is not None:
        moved.root_id, moved.relpath = root_id, f.relpath
        return moved, "moved"
    row = File(root_id=root_id, relpath=f.relpath, size=f.size, mtime_ns=f.mtime_ns)
    s.add(row)
    return row, "new"


def write_batch(
    s: Session, root_ids: dict[str, int], model_id: int, items: Sequence[tuple[Outcome, np.ndarray | None]]
) -> Counter:
    """Record a batch of outcomes (with vectors for decoded ones); returns counts by kind. Caller commits."""
    counts: Counter = Counter()
    now = utcnow()
    for outcome, vector in items:
        row, how = _place(s, root_ids[str(outcome.file.root)], outcome)
        row.size, row.mtime_ns, row.last_seen = outcome.file.size, outcome.file.mtime_ns, now
        row.content_hash = outcome.content_hash
        if outcome.error is not None:
            row.status, row.error, row.image_id = "failed", outcome.error, None
            counts["failed"] += 1
            continue
        image = _image(s, outcome)
        row.status, row.error, row.image_id = "ok", None, image.id
        if vector is not None and s.get(Embedding, (image.id, model_id)) is None:
            s.add(Embedding(image_id=image.id, model_id=model_id, vector=vector_to_bytes(vector)))
            s.flush()  # a second copy of this content later in the batch must see the vector
            counts["indexed"] += 1
        else:  # content the library already holds: no decode, no model call
            counts[{"moved": "moved", "new": "duplicates"}.get(how, "unchanged")] += 1
    return counts


def mark_missing(s: Session, file_ids: Sequence[int]) -> int:
    """Files no longer found: kept in the catalog with status missing (their vectors leave the index)."""
    if file_ids:
        s.execute(update(File).where(File.id.in_(list(file_ids))).values(status="missing", error=None))
    return len(file_ids)
