"""log dedup actions

Why: `pixseek dedup --apply` records every file it moves, links or deletes, so `--undo` can put it back.

Revision ID: c4e1d2a9b7f3
Revises: 571619c89f03
Create Date: 2026-11-27 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c4e1d2a9b7f3"
down_revision = "571619c89f03"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=True),
        sa.Column("keeper", sa.String(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('quarantine', 'hardlink', 'symlink', 'delete')", name=op.f("ck_actions_kind")),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f("fk_actions_file_id_files"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
    )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_actions_batch"), ["batch"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actions_batch"))
    op.drop_table("actions")
