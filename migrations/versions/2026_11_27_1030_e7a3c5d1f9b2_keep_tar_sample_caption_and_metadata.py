"""keep tar sample caption and metadata

Why: members of WebDataset tar shards are indexed; their sample's caption (.txt) and metadata (.json) are kept.

Revision ID: e7a3c5d1f9b2
Revises: c4e1d2a9b7f3
Create Date: 2026-11-27 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e7a3c5d1f9b2"
down_revision = "c4e1d2a9b7f3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caption", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("sample_meta", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("sample_meta")
        batch_op.drop_column("caption")
