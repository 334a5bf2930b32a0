"""Flat with history: indexes for newest-first lists, acceptance time, customer search keys.

- `ix_invitations_{provider,reseller}_created`: status reads an organization's newest
  invitations in index order instead of sorting its whole history;
  `ix_invitations_{provider,reseller}_state_created` (replacing `ix_invitations_provider_state`)
  does the same for one state (the Home tab's lists: the newest of each state, then merged).
- `invitations.accepted_at` (backfilled from the audit trail) with
  `ix_invitations_{provider,reseller}_accepted`: "recently accepted" by acceptance time.
- `invitation_search_keys` (backfilled): a customer search and the match of a webhook
  acceptance by the customer's profile are index range reads (bot/core/store/search.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY_LENGTH = 253


def _keys(name: str, domain: str | None) -> set[str]:
    # As bot/core/store/search.py:search_keys when this migration was written.
    words = " ".join((name or "").split()).casefold().split(" ")
    keys = {" ".join(words[i:])[:KEY_LENGTH] for i in range(len(words)) if words[i]}
    if domain and domain.strip():
        keys.add(domain.strip().lower()[:KEY_LENGTH])
    return keys


def upgrade() -> None:
    op.add_column("invitations", sa.Column("accepted_at", sa.DateTime(timezone=True)))
    op.drop_index("ix_invitations_provider_state", table_name="invitations")
    op.create_index(
        "ix_invitations_provider_state_created",
        "invitations",
        ["provider_org_id", "state", "created_at", "id"],
    )
    op.create_index(
        "ix_invitations_reseller_state_created",
        "invitations",
        ["reseller_org_id", "state", "created_at", "id"],
    )
    op.create_index(
        "ix_invitations_provider_created", "invitations", ["provider_org_id", "created_at", "id"]
    )
    op.create_index(
        "ix_invitations_reseller_created", "invitations", ["reseller_org_id", "created_at", "id"]
    )
    op.create_index(
        "ix_invitations_provider_accepted", "invitations", ["provider_org_id", "accepted_at"]
    )
    op.create_index(
        "ix_invitations_reseller_accepted", "invitations", ["reseller_org_id", "accepted_at"]
    )
    key_type = sa.String(length=253).with_variant(
        sa.String(length=253, collation="C"), "postgresql"
    )
    keys = op.create_table(
        "invitation_search_keys",
        sa.Column("key", key_type, nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitations.id"],
            name=op.f("fk_invitation_search_keys_invitation_id_invitations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "invitation_id", name=op.f("pk_invitation_search_keys")),
    )
    op.create_index(
        op.f("ix_invitation_search_keys_invitation_id"),
        "invitation_search_keys",
        ["invitation_id"],
    )

    bind = op.get_bind()
    # When it was accepted: the first audit event that moved it to `accepted`.
    bind.execute(
        sa.text(
            "UPDATE invitations SET accepted_at = coalesce((SELECT min(a.at) FROM audit_events a "
            "WHERE a.invitation_id = invitations.id AND a.new_state = 'accepted'), updated_at) "
            "WHERE state IN ('accepted', 'delegated_admin_requested', 'delegated_admin_granted')"
        )
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, customer_name, customer_domain FROM invitations "
                "WHERE id > :last ORDER BY id LIMIT 5000"
            ),
            {"last": last},
        ).all()
        if not rows:
            break
        values = [
            {"key": key, "invitation_id": row[0]} for row in rows for key in _keys(row[1], row[2])
        ]
        if values:
            bind.execute(keys.insert(), values)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index(
        op.f("ix_invitation_search_keys_invitation_id"), table_name="invitation_search_keys"
    )
    op.drop_table("invitation_search_keys")
    op.drop_index("ix_invitations_reseller_accepted", table_name="invitations")
    op.drop_index("ix_invitations_provider_accepted", table_name="invitations")
    op.drop_index("ix_invitations_reseller_created", table_name="invitations")
    op.drop_index("ix_invitations_provider_created", table_name="invitations")
    op.drop_index("ix_invitations_reseller_state_created", table_name="invitations")
    op.drop_index("ix_invitations_provider_state_created", table_name="invitations")
    op.create_index("ix_invitations_provider_state", "invitations", ["provider_org_id", "state"])
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("accepted_at")
