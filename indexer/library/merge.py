"""Merge another library into this one: its roots, files, images and vectors, with no decode and no model call.

Both must have been made with the same model (the same weights hash): vectors of two models do not share a
space. A file is one (root path, relpath) in both; where both know it, the row seen last wins. An image is one
content hash in both: duplicates are joined, and a vector this library lacks is copied from the other. So
two libraries of overlapping folders merge into the library that indexing all their folders would make.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from indexer.errors import PixseekError

from .catalog import activate_model, active_model, open_catalog, session
from .folder import existing_library, library_path, model_key, writer_lock
from .sync import open_index
from .tables import Embedding, File, Image, Model, Root

CHUNK = 500  # rows per IN (...) query and per insert
IMAGE_FIELDS = ("width", "height", "format", "taken_at", "camera_make", "camera_model", "gps_lat", "gps_lon")
IMAGE_FIELDS += ("orientation", "phash", "created_at")
FILE_FIELDS = ("size", "mtime_ns", "content_hash", "status", "error", "caption", "sample_meta", "first_seen")
FILE_FIELDS += ("last_seen",)


class CannotMerge(PixseekError):
    """The two libraries cannot become one; the message says why and what to do instead."""


@dataclass(frozen=True)
class MergeSummary:
    roots: int  # roots of the other library new to this one
    files: int  # file rows added
    updated: int  # file rows both knew, taken from the other (seen there last)
    images: int  # images new to this one (each with its vector)
    joined: int  # images both held (same content hash): one row, one vector
    vectors: int  # vectors copied (new images, and images this library had without one)


def _model(s: Session, where: Path) -> Model:
    model = active_model(s)
    if model is None:
        raise CannotMerge(f"{where} has nothing indexed yet: there is nothing to merge")
    return model


def _check(mine: Model | None, theirs: Model, library: Path, other: Path) -> None:
    if library == other:
        raise CannotMerge(f"{other} is this library; merge another one into it")
    if mine is not None and mine.weights_sha256 != theirs.weights_sha256:
        raise CannotMerge(
            f"{other} was indexed with {theirs.name} ({theirs.weights_sha256[:12]}), this library with {mine.name} "
            f"({mine.weights_sha256[:12]}): vectors of two models cannot be mixed. Index its folders into this "
            f"library instead: pixseek index FOLDER... --library {library}"
        )


def merge(library: str | Path | None, other: str | Path) -> MergeSummary:
    """Merge the library at `other` into `library` (under its writer lock); `other` is only read."""
    library, other = library_path(library), existing_library(other)
    target, source = None, open_catalog(other)
    try:
        with writer_lock(library), session(source) as src:
            theirs = _model(src, other)
            target = open_catalog(library)
            with session(target, write=True) as dst:
                mine = active_model(dst)
                _check(mine, theirs, library, other)
                model = activate_model(dst, theirs.name, theirs.weights_sha256, theirs.dim, theirs.runtime)
                model.precision = model.precision or theirs.precision
                model.source = model.source or theirs.source
                summary = _merge(src, dst, theirs.id, model.id)
                dst.commit()
                key = (model_key(model.name, model.weights_sha256), model.id, model.dim)
            open_index(target, library, *key, save=True)
    finally:
        source.dispose()
        if target is not None:
            target.dispose()
    return summary


def _merge(src: Session, dst: Session, their_model: int, my_model: int) -> MergeSummary:
    counts: Counter = Counter()
    roots = {}
    for root_id, path in src.execute(select(Root.id, Root.path)):
        mine = dst.scalar(select(Root.id).where(Root.path == path))
        if mine is None:
            mine = dst.execute(insert(Root).returning(Root.id), [{"path": path}]).scalar_one()
            counts["roots"] += 1
        roots[root_id] = mine
    images = _merge_images(src, dst, their_model, my_model, counts)
    for rows in _chunks(src.scalars(select(File).order_by(File.id))):
        _merge_files(dst, rows, roots, images, counts)
    return MergeSummary(**{k: counts[k] for k in ("roots", "files", "updated", "images", "joined", "vectors")})


def _chunks(rows) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _merge_images(src: Session, dst: Session, their_model: int, my_model: int, counts: Counter) -> dict[int, int]:
    """Their image ids -> mine, adding the images (and vectors) this library lacks."""
    ids = {}
    for rows in _chunks(src.scalars(select(Image).order_by(Image.id))):
        known = dict(
            dst.execute(
                select(Image.content_hash, Image.id).where(Image.content_hash.in_([r.content_hash for r in rows]))
            )
            .tuples()
            .all()
        )
        counts["joined"] += len(known)
        new = [r for r in rows if r.content_hash not in known]
        if new:
            values = [{"content_hash": r.content_hash, **{f: getattr(r, f) for f in IMAGE_FIELDS}} for r in new]
            known.update(dst.execute(insert(Image).returning(Image.content_hash, Image.id), values).tuples().all())
            counts["images"] += len(new)
        ids.update({r.id: known[r.content_hash] for r in rows})
        _copy_vectors(src, dst, {r.id: known[r.content_hash] for r in rows}, their_model, my_model, counts)
    return ids


def _copy_vectors(src, dst, ids: dict[int, int], their_model: int, my_model: int, counts: Counter) -> None:
    """Vectors of these images that this library lacks, copied as stored (the same model made both)."""
    have = set(
        dst.scalars(
            select(Embedding.image_id).where(Embedding.model_id == my_model, Embedding.image_id.in_(list(ids.values())))
        )
    )
    rows = src.execute(
        select(Embedding.image_id, Embedding.vector).where(
            Embedding.model_id == their_model, Embedding.image_id.in_(list(ids))
        )
    )
    values = [{"image_id": ids[i], "model_id": my_model, "vector": v} for i, v in rows if ids[i] not in have]
    if values:
        dst.execute(insert(Embedding), values)
        counts["vectors"] += len(values)


def _merge_files(
    dst: Session, rows: list[File], roots: dict[int, int], images: dict[int, int], counts: Counter
) -> None:
    """Add their file rows this library lacks; take theirs where both know the path and they saw it last."""
    mine: dict[tuple[int, str], File] = {}
    for root_id in {roots[r.root_id] for r in rows}:
        relpaths = [r.relpath for r in rows if roots[r.root_id] == root_id]
        found = dst.scalars(select(File).where(File.root_id == root_id, File.relpath.in_(relpaths)))
        mine.update({(root_id, f.relpath): f for f in found})
    new = []
    for row in rows:
        root_id = roots[row.root_id]
        values = {f: getattr(row, f) for f in FILE_FIELDS} | {"image_id": images.get(row.image_id)}
        known = mine.get((root_id, row.relpath))
        if known is None:
            new.append({"root_id": root_id, "relpath": row.relpath, **values})
        elif row.last_seen > known.last_seen:
            for name, value in values.items():
                setattr(known, name, value)
            counts["updated"] += 1
    if new:
        dst.execute(insert(File), new)
        counts["files"] += len(new)
