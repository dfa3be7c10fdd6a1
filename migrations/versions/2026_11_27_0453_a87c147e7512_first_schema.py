"""first schema: roots, files, images, models, embeddings

Why: the catalog that indexing writes and search reads, with the constraints that keep it consistent.

Revision ID: a87c147e7512
Revises:
Create Date: 2026-11-27 04:53:24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "a87c147e7512"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roots")),
        sa.UniqueConstraint("path", name=op.f("uq_roots_path")),
    )
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.Column("camera_make", sa.String(), nullable=True),
        sa.Column("camera_model", sa.String(), nullable=True),
        sa.Column("gps_lat", sa.Double(), nullable=True),
        sa.Column("gps_lon", sa.Double(), nullable=True),
        sa.Column("orientation", sa.Integer(), nullable=True),
        sa.Column("phash", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_images_content_hash")),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("weights_sha256", sa.String(length=64), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("runtime", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
        sa.UniqueConstraint("name", "weights_sha256", name=op.f("uq_models_name_weights_sha256")),
    )
    # At most one active model: a unique index over the rows where active is true.
    op.create_index(
        "ix_models_one_active",
        "models",
        ["active"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("root_id", sa.Integer(), nullable=False),
        sa.Column("relpath", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("image_id", sa.Integer(), nullable=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('ok', 'failed', 'missing')", name=op.f("ck_files_status")),
        sa.ForeignKeyConstraint(["root_id"], ["roots.id"], name=op.f("fk_files_root_id_roots"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_files_image_id_images"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.UniqueConstraint("root_id", "relpath", name=op.f("uq_files_root_id_relpath")),
    )
    op.create_index(op.f("ix_files_content_hash"), "files", ["content_hash"])
    op.create_index(op.f("ix_files_image_id"), "files", ["image_id"])
    op.create_table(
        "embeddings",
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name=op.f("fk_embeddings_image_id_images"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_embeddings_model_id_models"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("image_id", "model_id", name=op.f("pk_embeddings")),
    )
    op.create_index(op.f("ix_embeddings_model_id"), "embeddings", ["model_id"])


def downgrade() -> None:
    op.drop_table("embeddings")
    op.drop_table("files")
    op.drop_table("models")
    op.drop_table("images")
    op.drop_table("roots")
