"""Modals the bot opened: their context, kept server-side, and whether they were submitted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "modal_views",
        sa.Column("view_id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("callback_id", sa.String(length=64), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("view_id", name=op.f("pk_modal_views")),
    )
    op.create_index(op.f("ix_modal_views_opened_at"), "modal_views", ["opened_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_modal_views_opened_at"), table_name="modal_views")
    op.drop_table("modal_views")
