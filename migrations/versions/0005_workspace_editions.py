"""The policy edition chosen for a workspace (`/multichannel edition`, admins).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_editions",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("edition", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_workspace_editions")),
    )


def downgrade() -> None:
    op.drop_table("workspace_editions")
