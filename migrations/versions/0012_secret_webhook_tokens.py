"""Webhook URL tokens at rest: looked up by their SHA-256, stored encrypted.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

`organizations.webhook_token_hash` (new, unique index): the SHA-256 (hex) of the organization's
callback path token; a delivery to `POST /partner-center/webhooks/{token}` finds its
organization by it (bot/core/outbox/routing.py). Filled here for every existing organization.

`organizations.webhook_token` keeps the token itself, for `mcbot webhook show`, now encrypted
like every secret column (bot/core/store/secrets.py; docs/secrets.md): widened to hold
`enc:` + a Fernet token, and no longer indexed (nothing looks it up). The existing tokens stay
in plaintext here (a migration does not need ENCRYPTION_KEYS); `mcbot secrets reencrypt`
encrypts them, `mcbot secrets status` counts them.

Downgrade: the tokens are written back in plaintext, unique and indexed as revision 0010 had
them; encrypted ones are decrypted with ENCRYPTION_KEYS (the downgrade stops, changing nothing,
when a token is encrypted and no key in the environment reads it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORGANIZATIONS = sa.table(
    "organizations",
    sa.column("id", sa.Integer),
    sa.column("webhook_token", sa.String),
    sa.column("webhook_token_hash", sa.String),
)


def _tokens() -> list[sa.Row[tuple[int, str]]]:
    return list(
        op.get_bind()
        .execute(
            sa.select(ORGANIZATIONS.c.id, ORGANIZATIONS.c.webhook_token).where(
                ORGANIZATIONS.c.webhook_token.is_not(None)
            )
        )
        .all()
    )


def upgrade() -> None:
    op.add_column(
        "organizations", sa.Column("webhook_token_hash", sa.String(length=64), nullable=True)
    )
    rows = _tokens()
    if rows:
        op.get_bind().execute(
            ORGANIZATIONS.update()
            .where(ORGANIZATIONS.c.id == sa.bindparam("row_id"))
            .values(webhook_token_hash=sa.bindparam("hash")),
            [
                {"row_id": row_id, "hash": hashlib.sha256(token.encode()).hexdigest()}
                for row_id, token in rows
            ],
        )
    op.drop_index(op.f("ix_organizations_webhook_token"), table_name="organizations")
    with op.batch_alter_table("organizations", recreate="auto") as batch:
        batch.alter_column(
            "webhook_token",
            existing_type=sa.String(length=64),
            type_=sa.String(length=200),
            existing_nullable=True,
        )
    op.create_index(
        op.f("ix_organizations_webhook_token_hash"),
        "organizations",
        ["webhook_token_hash"],
        unique=True,
    )


def downgrade() -> None:
    from bot.core.settings import EncryptionSettings
    from bot.core.store.secrets import unseal

    rows = _tokens()
    cipher = EncryptionSettings().cipher() if any(t.startswith("enc:") for _, t in rows) else None
    plain = [{"row_id": row_id, "token": unseal(cipher, token)} for row_id, token in rows]
    if plain:
        op.get_bind().execute(
            ORGANIZATIONS.update()
            .where(ORGANIZATIONS.c.id == sa.bindparam("row_id"))
            .values(webhook_token=sa.bindparam("token")),
            plain,
        )
    op.drop_index(op.f("ix_organizations_webhook_token_hash"), table_name="organizations")
    with op.batch_alter_table("organizations", recreate="auto") as batch:
        batch.alter_column(
            "webhook_token",
            existing_type=sa.String(length=200),
            type_=sa.String(length=64),
            existing_nullable=True,
        )
        batch.drop_column("webhook_token_hash")
    op.create_index(
        op.f("ix_organizations_webhook_token"), "organizations", ["webhook_token"], unique=True
    )
