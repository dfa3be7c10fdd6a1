"""The catalog's tables: plain SQLAlchemy 2 classes on one `Base`, data only.

Constraints are named by `NAMING_CONVENTION`, so Alembic's batch mode can rebuild SQLite tables and
refer to them. The schema itself is created and changed only by the revisions in `migrations/`, and
`alembic check` keeps these classes and those revisions in agreement. Timestamps are naive UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

FILE_STATUSES = ("ok", "failed", "missing")
RUN_STATUSES = ("running", "done", "interrupted", "failed")
RUN_COUNTS = ("indexed", "unchanged", "moved", "missing", "failed", "unreadable")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Return the current time as naive UTC, the catalog's timestamp convention."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _one_of(column: str, values: Sequence[str]) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=column)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Root(Base):
    """An indexed folder; files are stored relative to it so the folder can move."""

    __tablename__ = "roots"
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(unique=True)  # absolute, in the platform's form
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Image(Base):
    """One distinct content (sha256) with what decoding it told us; files with equal bytes share it."""

    __tablename__ = "images"
    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the file's bytes
    width: Mapped[int]  # pixels, after the EXIF orientation is applied
    height: Mapped[int]
    format: Mapped[str] = mapped_column(String(16))  # PIL's name: JPEG, PNG, HEIF, ...
    taken_at: Mapped[datetime | None]  # EXIF DateTimeOriginal, camera-local time
    camera_make: Mapped[str | None]
    camera_model: Mapped[str | None]
    gps_lat: Mapped[float | None]  # degrees, north positive
    gps_lon: Mapped[float | None]  # degrees, east positive
    orientation: Mapped[int | None]  # EXIF orientation tag, 1..8
    phash: Mapped[str | None] = mapped_column(String(16))  # 64-bit perceptual hash as 16 hex digits
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class File(Base):
    """A file seen under a root, with the stat that tells whether it changed and what became of it."""

    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("root_id", "relpath"), _one_of("status", FILE_STATUSES))
    id: Mapped[int] = mapped_column(primary_key=True)
    root_id: Mapped[int] = mapped_column(ForeignKey("roots.id", ondelete="CASCADE"))
    relpath: Mapped[str]  # POSIX separators, relative to the root
    size: Mapped[int] = mapped_column(BigInteger)  # bytes
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # None until the bytes are read
    status: Mapped[str] = mapped_column(String(8), default="ok")
    error: Mapped[str | None] = mapped_column(Text)  # the one-line reason, when status is failed
    image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id", ondelete="SET NULL"), index=True)
    # A member of a WebDataset tar shard (relpath `<tar>::<member>`): its sample's .txt and .json members.
    caption: Mapped[str | None] = mapped_column(Text)
    sample_meta: Mapped[dict | None] = mapped_column(JSON)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    root: Mapped[Root] = relationship()
    image: Mapped[Image | None] = relationship()


class Model(Base):
    """An embedding model by name and exact weights; at most one is active (a partial unique index)."""

    __tablename__ = "models"
    __table_args__ = (
        UniqueConstraint("name", "weights_sha256"),
        Index(
            "ix_models_one_active", "active", unique=True, sqlite_where=text("active"), postgresql_where=text("active")
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    weights_sha256: Mapped[str] = mapped_column(String(64))
    dim: Mapped[int]
    runtime: Mapped[str] = mapped_column(String(16))  # the runtime that last wrote with it: numpy, paddle, torch
    # The weights' precision its vectors were made in (float32, bfloat16, float16); None before it was recorded.
    precision: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None]  # what `load_model` was given: a registered name or a directory
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Embedding(Base):
    """The vector of one image under one model."""

    __tablename__ = "embeddings"
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True, index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32 little-endian, L2-normalised, dim values


class Run(Base):
    """One `pixseek index` run, for `status` and for resuming an interrupted one."""

    __tablename__ = "runs"
    __table_args__ = (_one_of("status", RUN_STATUSES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    roots: Mapped[list[str]] = mapped_column(JSON)  # the absolute root paths asked for
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="running")
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=lambda: dict.fromkeys(RUN_COUNTS, 0))


ACTION_KINDS = ("quarantine", "hardlink", "symlink", "delete")


class Action(Base):
    """One file a `pixseek dedup --apply` moved, linked or deleted; `batch` groups one apply, for undo."""

    __tablename__ = "actions"
    __table_args__ = (_one_of("kind", ACTION_KINDS),)
    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[int] = mapped_column(index=True)  # one apply; undo takes the newest batch not undone
    kind: Mapped[str] = mapped_column(String(12))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    source: Mapped[str]  # absolute path the file was at
    target: Mapped[str | None]  # where its bytes went (quarantine); None when deleted
    keeper: Mapped[str | None]  # absolute path of the kept file a link points to
    at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]


class Dismissal(Base):
    """A pair of images a user said are not duplicates, by content (sha256, a < b), so the answer survives
    moves, renames and re-indexing; `batch` groups one answer (a whole group's pairs), for undo."""

    __tablename__ = "dismissals"
    __table_args__ = (UniqueConstraint("hash_a", "hash_b"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[int] = mapped_column(index=True)
    hash_a: Mapped[str] = mapped_column(String(64))
    hash_b: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferenceFolder(Base):
    """A folder whose files dedup always keeps and never moves, links or deletes (`--reference DIR`)."""

    __tablename__ = "reference_folders"
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(unique=True)  # absolute, in the platform's form
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
