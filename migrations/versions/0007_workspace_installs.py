"""Invitation states that say to whom an invitation was sent.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

`sent` meant "sent to the reseller or to the customer"; `sent_to_reseller` and
`sent_to_customer` now say which. `sent` stays allowed for invitations moved before this
revision (nothing rewrites their history). The CHECK constraints are recreated (batch mode:
SQLite copies the table, PostgreSQL alters it in place).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = (
    "requested",
    "declined",
    "created",
    "sent",
    "accepted",
    "delegated_admin_requested",
    "delegated_admin_granted",
    "cancelled",
    "expired",
)
NEW_STATES = (*OLD_STATES, "sent_to_reseller", "sent_to_customer")
STATE_COLUMNS = (
    ("invitations", "state"),
    ("audit_events", "old_state"),
    ("audit_events", "new_state"),
)


def _states(states: Sequence[str]) -> None:
    listed = ", ".join(f"'{value}'" for value in states)
    for table in ("invitations", "audit_events"):
        with op.batch_alter_table(table, recreate="auto") as batch:
            for t, column in STATE_COLUMNS:
                if t != table:
                    continue
                name = op.f(f"ck_{table}_{column}")
                batch.drop_constraint(name, type_="check")
                batch.create_check_constraint(name, f"{column} IN ({listed})")


def upgrade() -> None:
    _states(NEW_STATES)


def downgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE invitations SET state = 'sent' "
            "WHERE state IN ('sent_to_reseller', 'sent_to_customer')"
        )
    )
    for column in ("old_state", "new_state"):
        op.execute(
            sa.text(
                f"UPDATE audit_events SET {column} = 'sent' "
                f"WHERE {column} IN ('sent_to_reseller', 'sent_to_customer')"
            )
        )
    _states(OLD_STATES)
