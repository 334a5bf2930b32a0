"""Language preferences per Slack user and per workspace; who has opened the Home tab.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "language_preferences",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=True),
        sa.CheckConstraint("scope IN ('user', 'team')", name=op.f("ck_language_preferences_scope")),
        sa.CheckConstraint("lang IN ('en', 'es')", name=op.f("ck_language_preferences_lang")),
        sa.PrimaryKeyConstraint("scope", "subject_id", name=op.f("pk_language_preferences")),
    )

    op.create_table(
        "home_viewers",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_home_viewers")),
    )
    op.create_index(op.f("ix_home_viewers_team_id"), "home_viewers", ["team_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_home_viewers_team_id"), table_name="home_viewers")
    op.drop_table("home_viewers")
    op.drop_table("language_preferences")
