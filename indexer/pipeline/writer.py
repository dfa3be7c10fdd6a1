"""The one writer: each batch's files, images and vectors land in one catalog transaction.

A vector exists iff its metadata exists: the embedding rows are written in the same transaction
as the image and file rows that describe them, so a kill at any moment loses at most this batch.
New images, files and vectors go in as ORM bulk INSERTs (one executemany each, no ORM object per
row): a third of the Python time per row of building ORM objects, and 0.20 to 0.15 ms per new row on
a 2-core CPU, of which a third is the commit. `--gpus` needs it: one process writes what all the
GPUs encode (over 3,000 rows/s on four H100s).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from indexer.library import Embedding, File, Image, utcnow, vector_to_bytes
from indexer.sources import Outcome

NO_MEMBER = {"caption": None, "sample_meta": None}  # new file rows share one set of columns (one executemany)
IN_CHUNK = 500  # values per IN (...) query, well under SQLite's variable limit


@dataclass
class _Known:
    """The catalog rows a batch touches, fetched with a few IN queries instead of several per file."""

    files: dict[tuple[int, str], File]  # (root id, relpath) -> row
    missing: dict[str, list[File]]  # content hash -> rows of that content marked missing
    images: dict[str, int]  # content hash -> image id
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
        rows = s.execute(select(Image.content_hash, Image.id).where(Image.content_hash.in_(chunk)))
        known.images.update(dict(rows.all()))
    for chunk in _chunks(list(known.images.values())):
        query = select(Embedding.image_id).where(Embedding.model_id == model_id, Embedding.image_id.in_(chunk))
        known.embedded.update(s.scalars(query))
    return known


def _image_values(outcome: Outcome) -> dict:
    meta = outcome.decoded.meta
    return {
        "content_hash": outcome.content_hash,
        "width": meta.width,
        "height": meta.height,
        "format": meta.format,
        "taken_at": meta.taken_at,
        "camera_make": meta.camera_make,
        "camera_model": meta.camera_model,
        "gps_lat": meta.gps_lat,
        "gps_lon": meta.gps_lon,
        "orientation": meta.orientation,
        "phash": meta.phash,
    }


def _add_images(s: Session, known: _Known, outcomes: Sequence[Outcome]) -> None:
    """Insert the batch's new images in one statement, so their ids exist for the file and vector rows."""
    new = {}
    for o in outcomes:
        if o.error is None and o.content_hash not in known.images and o.content_hash not in new:
            new[o.content_hash] = _image_values(o)
    if new:
        rows = s.execute(insert(Image).returning(Image.content_hash, Image.id), list(new.values()))
        known.images.update(dict(rows.all()))


def _place(known: _Known, root_id: int, outcome: Outcome) -> tuple[File | None, str]:
    """The row for this path (existing, or a moved one re-pointed here; None: a new file), and how it came."""
    f = outcome.file
    row = known.files.get((root_id, f.relpath))
    if row is not None:
        return row, "changed"
    moved = known.moved_row(outcome.content_hash) if outcome.content_hash else None
    if moved is not None:
        moved.root_id, moved.relpath = root_id, f.relpath
        return moved, "moved"
    return None, "new"


def _file_values(outcome: Outcome, known: _Known, now) -> dict:
    """What a file row records of this outcome."""
    f, failed = outcome.file, outcome.error is not None
    return {
        "size": f.size,
        "mtime_ns": f.mtime_ns,
        "last_seen": now,
        "content_hash": outcome.content_hash,
        "status": "failed" if failed else "ok",
        "error": outcome.error,
        "image_id": None if failed else known.images[outcome.content_hash],
        **({"caption": f.member.caption, "sample_meta": f.member.meta} if f.member is not None else {}),
    }


def write_batch(
    s: Session, root_ids: dict[str, int], model_id: int, items: Sequence[tuple[Outcome, np.ndarray | None]]
) -> Counter:
    """Record a batch of outcomes (with vectors for decoded ones); returns counts by kind. Caller commits."""
    counts: Counter = Counter()
    now = utcnow()
    known = _known(s, root_ids, model_id, [o for o, _ in items])
    _add_images(s, known, [o for o, _ in items])
    new_files, vectors = [], []
    for outcome, vector in items:
        root_id = root_ids[str(outcome.file.root)]
        row, how = _place(known, root_id, outcome)
        values = _file_values(outcome, known, now)
        if row is None:
            new_files.append({"root_id": root_id, "relpath": outcome.file.relpath, **NO_MEMBER, **values})
        else:
            for name, value in values.items():
                setattr(row, name, value)
        if outcome.error is not None:
            counts["failed"] += 1
        elif vector is not None and values["image_id"] not in known.embedded:
            vectors.append({"image_id": values["image_id"], "model_id": model_id, "vector": vector_to_bytes(vector)})
            known.embedded.add(values["image_id"])  # a second copy of this content later in the batch reuses it
            counts["indexed"] += 1
        else:  # content the library already holds: no decode, no model call
            counts[{"moved": "moved", "new": "duplicates"}.get(how, "unchanged")] += 1
    for table, rows in ((File, new_files), (Embedding, vectors)):
        if rows:
            s.execute(insert(table), rows)
    return counts


def mark_missing(s: Session, file_ids: Sequence[int]) -> int:
    """Files no longer found: kept in the catalog with status missing (their vectors leave the index)."""
    if file_ids:
        s.execute(update(File).where(File.id.in_(list(file_ids))).values(status="missing", error=None))
    return len(file_ids)
