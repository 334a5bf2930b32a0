"""Migration 0010 (webhooks per organization) on SQLite and PostgreSQL: every organization that
existed before it gets its own unguessable callback token; events keep their organization
unset (the legacy URL's); it downgrades to 0008 keeping the organizations."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.core.outbox.routing import TOKEN_SHAPE
from bot.core.store import db

ORG = (
    "INSERT INTO organizations (id, key, name, role, tenant_id, partner_id, created_at) VALUES "
    "(:id, :key, :name, 'direct', :tenant, '1234567', '2026-11-30 12:00:00+00:00')"
)


def test_0010_gives_every_existing_organization_its_own_token(url: str) -> None:
    db.upgrade(url, "0008")
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            for n in (1, 2, 3):
                tenant = f"00000000-0000-0000-0000-00000000000{n}"
                connection.execute(
                    text(ORG), {"id": n, "key": f"org-{n}", "name": f"Org {n}", "tenant": tenant}
                )
        db.upgrade(url, "0010")
        with engine.connect() as connection:
            tokens = connection.execute(
                text("SELECT webhook_token, webhook_registered_url FROM organizations")
            ).all()
        assert len({t for t, _ in tokens}) == 3
        assert all(TOKEN_SHAPE.match(t) for t, _ in tokens)
        assert all(registered is None for _, registered in tokens)
        first = tokens[0][0]
        with pytest.raises(IntegrityError), engine.begin() as connection:  # UNIQUE
            connection.execute(
                text("UPDATE organizations SET webhook_token = :t WHERE webhook_token <> :t"),
                {"t": first},
            )
        db.downgrade(url, "0008")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM organizations")).scalar() == 3
    finally:
        engine.dispose()
