"""remember "not duplicates" answers and reference folders

Why: a user who says two images are not duplicates (`pixseek dedup --dismiss`) never sees them grouped again,
whatever moves or re-indexing happen (the pair is stored by content hash); folders given as `--reference`
are remembered per library, and their files are never moved, linked or deleted.

Revision ID: 9c3e5a7d2f14
Revises: f2d8a6c4b1e9
Create Date: 2026-12-06 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "9c3e5a7d2f14"
down_revision = "f2d8a6c4b1e9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dismissals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("hash_a", sa.String(length=64), nullable=False),
        sa.Column("hash_b", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dismissals")),
        sa.UniqueConstraint("hash_a", "hash_b", name=op.f("uq_dismissals_hash_a_hash_b")),
    )
    with op.batch_alter_table("dismissals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dismissals_batch"), ["batch"], unique=False)
    op.create_table(
        "reference_folders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_folders")),
        sa.UniqueConstraint("path", name=op.f("uq_reference_folders_path")),
    )


def downgrade() -> None:
    op.drop_table("reference_folders")
    with op.batch_alter_table("dismissals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dismissals_batch"))
    op.drop_table("dismissals")
