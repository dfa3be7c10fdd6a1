"""record where each model was loaded from

Why: `pixseek search` loads the library's model by itself, also one given as a directory.

Revision ID: 571619c89f03
Revises: 5d0c3e9b8f21
Create Date: 2026-11-27 05:16:05.866844
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "571619c89f03"
down_revision = "5d0c3e9b8f21"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_column("source")
