"""Shared (Slack Connect) notification channels: the workspace that hosts an organization's
notification channel when it is not the organization's own.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

`organizations.notification_channel_team`: the Slack team id of the workspace whose token
reaches the organization's notification channel, when another workspace hosts it (a reseller
that never installed the app, reached through a channel its provider shares with it). NULL:
the organization's own workspace (the first of its teams), as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("notification_channel_team", sa.String(length=32), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("organizations", recreate="auto") as batch:
        batch.drop_column("notification_channel_team")
