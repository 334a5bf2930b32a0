"""A Partner Center connection per organization, and the states of the connect flow.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

`partner_center_connections`: one row per organization that connected its Partner Center
(docs/partner-center-connection.md): the consented tenant, the app registration (NULL
client id: the deployment's), the refresh token and an own client secret encrypted with
ENCRYPTION_KEYS, a version counter for rotations, the status (connected / expired) with its
reason and time, and who connected. `seeded_from`: the fingerprint of the legacy
PARTNER_CENTER_REFRESH_TOKEN the row was seeded from.

`partner_center_connect_states`: one per "Connect Partner Center" click: the SHA-256 of the
OAuth state, the encrypted PKCE verifier, who and for which organization, expiry, use.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_center_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=True),
        sa.Column("client_id", sa.String(length=100), nullable=True),
        sa.Column("client_secret", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("seeded_from", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "connected",
                "expired",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("status_reason", sa.String(length=300), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("connected_by_user", sa.String(length=32), nullable=True),
        sa.Column("connected_by_team", sa.String(length=32), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_partner_center_connections_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_center_connections")),
        sa.UniqueConstraint("org_id", name=op.f("uq_partner_center_connections_org_id")),
    )
    op.create_table(
        "partner_center_connect_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("verifier", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_partner_center_connect_states_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_center_connect_states")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_partner_center_connect_states_state_hash")),
    )
    op.create_index(
        op.f("ix_partner_center_connect_states_org_id"),
        "partner_center_connect_states",
        ["org_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_partner_center_connect_states_org_id"), table_name="partner_center_connect_states"
    )
    op.drop_table("partner_center_connect_states")
    op.drop_table("partner_center_connections")
