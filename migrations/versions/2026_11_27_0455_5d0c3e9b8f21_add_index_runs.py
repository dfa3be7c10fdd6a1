"""add index runs for status and resume

Why: `pixseek status` reports the last run and `pixseek index` resumes an interrupted one.

Revision ID: 5d0c3e9b8f21
Revises: a87c147e7512
Create Date: 2026-11-27 04:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5d0c3e9b8f21"
down_revision = "a87c147e7512"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("roots", sa.JSON(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.CheckConstraint("status IN ('running', 'done', 'interrupted', 'failed')", name=op.f("ck_runs_status")),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name=op.f("fk_runs_model_id_models"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )


def downgrade() -> None:
    op.drop_table("runs")
