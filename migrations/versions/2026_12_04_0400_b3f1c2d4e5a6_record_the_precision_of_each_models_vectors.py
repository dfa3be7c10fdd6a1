"""record the precision of each model's vectors

Why: bfloat16 and float32 weights give vectors that differ slightly; a library keeps the precision it
was indexed in, and a query in another precision is flagged.

Revision ID: b3f1c2d4e5a6
Revises: e7a3c5d1f9b2
Create Date: 2026-12-04 04:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b3f1c2d4e5a6"
down_revision = "e7a3c5d1f9b2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("precision", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_column("precision")
