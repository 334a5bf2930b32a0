"""Whose GDAP relationship an invitation records, and the reseller's own.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

`gdap_for` says whose relationship `gdap_relationship_id` is: `provider` (the provider's or direct
partner's own, requested under edition 2026-11) or `reseller` (edition 2017-03: the provider
asked the customer for delegated admin for its reseller). Relationships recorded before this
revision were all requested "for <reseller>": they are marked `reseller`.

`reseller_gdap_relationship_id` is the reseller's own relationship (edition 2026-11: created in
the reseller's Partner Center), and `reseller_gdap_granted_at` when the customer approved it
(Partner Center's `granular-admin-relationship-approved/activated` webhook).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invitations", recreate="auto") as batch:
        batch.add_column(sa.Column("gdap_for", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("reseller_gdap_relationship_id", sa.String(length=64), nullable=True)
        )
        batch.add_column(
            sa.Column("reseller_gdap_granted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_check_constraint(
            op.f("ck_invitations_gdap_for"), "gdap_for IN ('provider', 'reseller')"
        )
        batch.create_index(
            op.f("ix_invitations_reseller_gdap_relationship_id"),
            ["reseller_gdap_relationship_id"],
        )
    op.execute(
        "UPDATE invitations SET gdap_for = 'reseller' WHERE gdap_relationship_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("invitations", recreate="auto") as batch:
        batch.drop_index(op.f("ix_invitations_reseller_gdap_relationship_id"))
        batch.drop_constraint(op.f("ck_invitations_gdap_for"), type_="check")
        batch.drop_column("reseller_gdap_granted_at")
        batch.drop_column("reseller_gdap_relationship_id")
        batch.drop_column("gdap_for")
