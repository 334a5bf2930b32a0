"""Onboarding in Slack: one-time join codes and the requests they start.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

`join_codes`: a code an indirect provider's directory admin creates in Slack (only its SHA-256
is kept; single use, expiring). `join_requests`: a reseller that entered a code waits for the
provider's admins to approve (then a `reseller_providers` row is written) or decline.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "join_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("provider_org_id", sa.Integer(), nullable=False),
        sa.Column("created_by_user", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_org_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_org_id"],
            ["organizations.id"],
            name=op.f("fk_join_codes_provider_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["used_by_org_id"],
            ["organizations.id"],
            name=op.f("fk_join_codes_used_by_org_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_join_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_join_codes_code_hash")),
    )
    op.create_index(
        op.f("ix_join_codes_provider_org_id"), "join_codes", ["provider_org_id"], unique=False
    )
    op.create_table(
        "join_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reseller_org_id", sa.Integer(), nullable=False),
        sa.Column("provider_org_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_user", sa.String(length=32), nullable=False),
        sa.Column("requested_by_team", sa.String(length=32), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decided_by_user", sa.String(length=32), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reseller_org_id"],
            ["organizations.id"],
            name=op.f("fk_join_requests_reseller_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_org_id"],
            ["organizations.id"],
            name=op.f("fk_join_requests_provider_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_join_requests")),
    )
    op.create_index(
        "ix_join_requests_pair",
        "join_requests",
        ["reseller_org_id", "provider_org_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_join_requests_provider_org_id"),
        "join_requests",
        ["provider_org_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_join_requests_provider_org_id"), table_name="join_requests")
    op.drop_index("ix_join_requests_pair", table_name="join_requests")
    op.drop_table("join_requests")
    op.drop_index(op.f("ix_join_codes_provider_org_id"), table_name="join_codes")
    op.drop_table("join_codes")
