"""Notifications: the webhook inbox and the Slack outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

`webhook_inbox` holds verified Partner Center deliveries (UNIQUE `dedupe_key`: a repeated
delivery inserts nothing); `outbox` holds the Slack side effects derived from them (UNIQUE
`dedupe_key`). Both are claimed by workers under a lease. Portable: SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("pending", "done", "parked")
EFFECTS = ("update", "reply", "dm", "post")


def _one_of(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _lease_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _at("available_at"),
        _at("locked_until", nullable=True),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("in_doubt", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("event_name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("resource_uri", sa.Text(), nullable=True),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("relationship_id", sa.String(length=100), nullable=True),
        _at("changed_at", nullable=True),
        _at("received_at"),
        sa.Column("pace_key", sa.String(length=120), nullable=False),
        *_lease_columns(),
        _at("processed_at", nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_inbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_webhook_inbox_dedupe_key")),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitations.id"],
            name=op.f("fk_webhook_inbox_invitation_id_invitations"),
        ),
        _one_of("webhook_inbox", "status", STATUSES),
    )
    op.create_index(
        "ix_webhook_inbox_status_pace_key", "webhook_inbox", ["status", "pace_key", "id"]
    )
    op.create_index(
        "ix_webhook_inbox_status_available_at", "webhook_inbox", ["status", "available_at"]
    )
    op.create_index(op.f("ix_webhook_inbox_invitation_id"), "webhook_inbox", ["invitation_id"])

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("effect", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("pace_key", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        *_lease_columns(),
        sa.Column("ratelimited", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("sent_at", nullable=True),
        sa.Column("result_ts", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
        sa.ForeignKeyConstraint(
            ["invitation_id"], ["invitations.id"], name=op.f("fk_outbox_invitation_id_invitations")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["webhook_inbox.id"], name=op.f("fk_outbox_event_id_webhook_inbox")
        ),
        _one_of("outbox", "status", STATUSES),
        _one_of("outbox", "effect", EFFECTS),
    )
    op.create_index("ix_outbox_status_pace_key", "outbox", ["status", "pace_key", "id"])
    op.create_index("ix_outbox_status_available_at", "outbox", ["status", "available_at"])
    op.create_index(op.f("ix_outbox_invitation_id"), "outbox", ["invitation_id"])
    op.create_index(op.f("ix_outbox_event_id"), "outbox", ["event_id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("webhook_inbox")
