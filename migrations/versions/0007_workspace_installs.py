"""Workspace installations (distributed mode) and invitation states that say to whom an
invitation was sent.

- `slack_installations`, `slack_bots`, `slack_oauth_states`: slack_sdk's own tables for its
  SQLAlchemyInstallationStore and SQLAlchemyOAuthStateStore, as its builders declare them, but
  with token columns of 1000 characters (they hold Fernet-encrypted tokens) and an index on
  `slack_oauth_states.state` (the column `consume` looks up).
- `outbox.team_id` / `outbox.enterprise_id`: the workspace whose token sends a notification.

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


TOKEN = sa.String(length=1000)


def _installation_tables() -> None:
    op.create_table(
        "slack_installations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("app_id", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("enterprise_name", sa.String(length=200), nullable=True),
        sa.Column("enterprise_url", sa.String(length=200), nullable=True),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("team_name", sa.String(length=200), nullable=True),
        sa.Column("bot_token", TOKEN, nullable=True),
        sa.Column("bot_id", sa.String(length=32), nullable=True),
        sa.Column("bot_user_id", sa.String(length=32), nullable=True),
        sa.Column("bot_scopes", sa.String(length=1000), nullable=True),
        sa.Column("bot_refresh_token", TOKEN, nullable=True),
        sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("user_token", TOKEN, nullable=True),
        sa.Column("user_scopes", sa.String(length=1000), nullable=True),
        sa.Column("user_refresh_token", TOKEN, nullable=True),
        sa.Column("user_token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("incoming_webhook_url", sa.String(length=200), nullable=True),
        sa.Column("incoming_webhook_channel", sa.String(length=200), nullable=True),
        sa.Column("incoming_webhook_channel_id", sa.String(length=200), nullable=True),
        sa.Column("incoming_webhook_configuration_url", sa.String(length=200), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("token_type", sa.String(length=32), nullable=True),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_installations")),
    )
    op.create_index(
        "slack_installations_idx",
        "slack_installations",
        ["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
    )
    op.create_table(
        "slack_bots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("app_id", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("enterprise_name", sa.String(length=200), nullable=True),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("team_name", sa.String(length=200), nullable=True),
        sa.Column("bot_token", TOKEN, nullable=True),
        sa.Column("bot_id", sa.String(length=32), nullable=True),
        sa.Column("bot_user_id", sa.String(length=32), nullable=True),
        sa.Column("bot_scopes", sa.String(length=1000), nullable=True),
        sa.Column("bot_refresh_token", TOKEN, nullable=True),
        sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_bots")),
    )
    op.create_index(
        "slack_bots_idx",
        "slack_bots",
        ["client_id", "enterprise_id", "team_id", "installed_at"],
    )
    op.create_table(
        "slack_oauth_states",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("state", sa.String(length=200), nullable=False),
        sa.Column("expire_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_oauth_states")),
    )
    op.create_index("ix_slack_oauth_states_state", "slack_oauth_states", ["state"])


def upgrade() -> None:
    _states(NEW_STATES)
    _installation_tables()
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("team_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("enterprise_id", sa.String(length=32), nullable=True))
    op.create_index("ix_outbox_team_id_status", "outbox", ["team_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_team_id_status", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("enterprise_id")
        batch.drop_column("team_id")
    op.drop_index("ix_slack_oauth_states_state", table_name="slack_oauth_states")
    op.drop_table("slack_oauth_states")
    op.drop_index("slack_bots_idx", table_name="slack_bots")
    op.drop_table("slack_bots")
    op.drop_index("slack_installations_idx", table_name="slack_installations")
    op.drop_table("slack_installations")
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
