"""The one writer: each batch's files, images and vectors land in one catalog transaction.

A vector exists iff its metadata exists: the embedding rows are written in the same transaction
as the image and file rows that describe them, so a kill at any moment loses at most this batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .catalog import vector_to_bytes
from .reader import Outcome
from .tables import Embedding, File, Image, utcnow

IN_CHUNK = 500  # values per IN (...) query, well under SQLite's variable limit


@dataclass
class _Known:
    """The catalog rows a batch touches, fetched with a few IN queries instead of several per file."""

    files: dict[tuple[int, str], File]  # (root id, relpath) -> row
    missing: dict[str, list[File]]  # content hash -> rows of that content marked missing
    images: dict[str, Image]  # content hash -> row
    embedded: set[int]  # image ids that have a vector for the model

    def moved_row(self, content_hash: str) -> File | None:
        """A file of this content that went missing (and is not yet re-used in this batch)."""
        rows = self.missing.get(content_hash, [])
        while rows:
            row = rows.pop(0)
            if row.status == "missing":
                return row
        return None


def _chunks(values: list) -> Iterator[list]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def _known(s: Session, root_ids: dict[str, int], model_id: int, outcomes: Sequence[Outcome]) -> _Known:
    known = _Known({}, {}, {}, set())
    paths: dict[int, list[str]] = {}
    for o in outcomes:
        paths.setdefault(root_ids[str(o.file.root)], []).append(o.file.relpath)
    for root_id, relpaths in paths.items():
        for chunk in _chunks(relpaths):
            rows = s.scalars(select(File).where(File.root_id == root_id, File.relpath.in_(chunk)))
            known.files.update({(root_id, row.relpath): row for row in rows})
    for chunk in _chunks(sorted({o.content_hash for o in outcomes if o.content_hash})):
        missing = select(File).where(File.content_hash.in_(chunk), File.status == "missing").order_by(File.id)
        for row in s.scalars(missing):
            known.missing.setdefault(row.content_hash, []).append(row)
        known.images.update({i.content_hash: i for i in s.scalars(select(Image).where(Image.content_hash.in_(chunk)))})
    for chunk in _chunks([i.id for i in known.images.values()]):
        query = select(Embedding.image_id).where(Embedding.model_id == model_id, Embedding.image_id.in_(chunk))
        known.embedded.update(s.scalars(query))
    return known


def _image_row(outcome: Outcome) -> Image:
    meta = outcome.decoded.meta
    return Image(
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


def _add_images(s: Session, known: _Known, outcomes: Sequence[Outcome]) -> None:
    """Insert the batch's new images in one flush, so their ids exist for the file and vector rows."""
    new = {}
    for o in outcomes:
        if o.error is None and o.content_hash not in known.images and o.content_hash not in new:
            new[o.content_hash] = _image_row(o)
    if new:
        s.add_all(new.values())
        s.flush()
        known.images.update(new)


def _place(s: Session, known: _Known, root_id: int, outcome: Outcome) -> tuple[File, str]:
    """The row for this path: existing, a moved one re-pointed here, or new; and how it came."""
    f = outcome.file
    row = known.files.get((root_id, f.relpath))
    if row is not None:
        return row, "changed"
    moved = known.moved_row(outcome.content_hash) if outcome.content_hash else None
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
    known = _known(s, root_ids, model_id, [o for o, _ in items])
    _add_images(s, known, [o for o, _ in items])
    for outcome, vector in items:
        row, how = _place(s, known, root_ids[str(outcome.file.root)], outcome)
        row.size, row.mtime_ns, row.last_seen = outcome.file.size, outcome.file.mtime_ns, now
        row.content_hash = outcome.content_hash
        if outcome.file.member is not None:
            row.caption, row.sample_meta = outcome.file.member.caption, outcome.file.member.meta
        if outcome.error is not None:
            row.status, row.error, row.image_id = "failed", outcome.error, None
            counts["failed"] += 1
            continue
        image = known.images[outcome.content_hash]
        row.status, row.error, row.image_id = "ok", None, image.id
        if vector is not None and image.id not in known.embedded:
            s.add(Embedding(image_id=image.id, model_id=model_id, vector=vector_to_bytes(vector)))
            known.embedded.add(image.id)  # a second copy of this content later in the batch reuses it
            counts["indexed"] += 1
        else:  # content the library already holds: no decode, no model call
            counts[{"moved": "moved", "new": "duplicates"}.get(how, "unchanged")] += 1
    return counts


def mark_missing(s: Session, file_ids: Sequence[int]) -> int:
    """Files no longer found: kept in the catalog with status missing (their vectors leave the index)."""
    if file_ids:
        s.execute(update(File).where(File.id.in_(list(file_ids))).values(status="missing", error=None))
    return len(file_ids)
