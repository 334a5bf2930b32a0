"""The partner directory's audit trail, and join codes for another Slack workspace.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

`directory_events`: one append-only row per change of an organization in the partner
directory, written by `mcbot partners import` (source "import") and by the Home tab's admin
section (source "slack", with the acting user and workspace): which organization, what changed.

`join_codes.purpose`: "provider" (an indirect provider's code for a reseller: every existing
code) or "workspace" (an organization's code for another Slack workspace to join it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS = ("create", "update", "provider_linked", "provider_left")


def upgrade() -> None:
    listed = ", ".join(f"'{action}'" for action in ACTIONS)
    op.create_table(
        "directory_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_key", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            f"action IN ({listed})", name=op.f("ck_directory_events_directory_action")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_events")),
    )
    op.create_index(
        "ix_directory_events_org_key", "directory_events", ["org_key", "id"], unique=False
    )
    with op.batch_alter_table("join_codes") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(length=16), server_default="provider", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("join_codes") as batch:
        batch.drop_column("purpose")
    op.drop_index("ix_directory_events_org_key", table_name="directory_events")
    op.drop_table("directory_events")
