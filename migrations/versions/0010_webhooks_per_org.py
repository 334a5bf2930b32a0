"""Webhooks per organization: each organization's callback path token and registration, and
the organization whose URL an inbox event reached.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

`organizations.webhook_token`: the unguessable part of the organization's callback URL,
`POST /partner-center/webhooks/{webhook_token}` (docs/webhooks.md); every existing organization
gets one here, new ones when they are created. `webhook_registered_url` / `_at`: the URL
`mcbot webhook register` last registered for it (NULL: not registered through mcbot).

`webhook_inbox.org_id`: the organization whose URL the delivery reached (NULL: the legacy
`POST /partner-center/webhooks`, which is the URL of the organization PARTNER_ORG_KEY names).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organizations", sa.Column("webhook_token", sa.String(length=64), nullable=True))
    op.add_column(
        "organizations", sa.Column("webhook_registered_url", sa.String(length=500), nullable=True)
    )
    op.add_column(
        "organizations",
        sa.Column("webhook_registered_at", sa.DateTime(timezone=True), nullable=True),
    )
    connection = op.get_bind()
    organizations = sa.table(
        "organizations", sa.column("id", sa.Integer), sa.column("webhook_token", sa.String)
    )
    ids = connection.execute(sa.select(organizations.c.id)).scalars().all()
    for org_id in ids:  # one per organization: a migration, not a request path
        connection.execute(
            organizations.update()
            .where(organizations.c.id == org_id)
            .values(webhook_token=secrets.token_urlsafe(24))
        )
    op.create_index(
        op.f("ix_organizations_webhook_token"), "organizations", ["webhook_token"], unique=True
    )
    with op.batch_alter_table("webhook_inbox", recreate="auto") as batch:
        batch.add_column(sa.Column("org_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_webhook_inbox_org_id_organizations"),
            "organizations",
            ["org_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_inbox", recreate="auto") as batch:
        batch.drop_constraint(op.f("fk_webhook_inbox_org_id_organizations"), type_="foreignkey")
        batch.drop_column("org_id")
    op.drop_index(op.f("ix_organizations_webhook_token"), table_name="organizations")
    with op.batch_alter_table("organizations", recreate="auto") as batch:
        batch.drop_column("webhook_registered_at")
        batch.drop_column("webhook_registered_url")
        batch.drop_column("webhook_token")
