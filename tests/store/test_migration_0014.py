"""Migration 0014 (the directory's audit trail) on SQLite and PostgreSQL: existing join codes
become provider codes, `directory_events` accepts only the known actions, and it downgrades
to 0010 keeping the codes."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.core.store import db

ORG = (
    "INSERT INTO organizations (id, key, name, role, tenant_id, partner_id, created_at) VALUES "
    "(1, 'contoso', 'Contoso', 'indirect_provider', '00000000-0000-0000-0000-000000000001', "
    "'1234567', '2026-11-30 12:00:00+00:00')"
)
CODE = (
    "INSERT INTO join_codes (code_hash, provider_org_id, created_by_user, created_at, expires_at)"
    " VALUES ('abc', 1, 'U0ADMIN', '2026-11-30 12:00:00+00:00', '2026-12-07 12:00:00+00:00')"
)
EVENT = (
    "INSERT INTO directory_events (at, org_key, action, source, detail) VALUES "
    "('2026-11-30 12:00:00+00:00', 'contoso', :action, 'import', '{}')"
)


def test_0014_keeps_existing_join_codes_as_provider_codes(url: str) -> None:
    db.upgrade(url, "0013")
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(ORG))
            connection.execute(text(CODE))
        db.upgrade(url, "0014")
        with engine.begin() as connection:
            purposes = connection.execute(text("SELECT purpose FROM join_codes")).scalars().all()
            assert purposes == ["provider"]
            connection.execute(text(EVENT), {"action": "provider_left"})
        with pytest.raises(IntegrityError), engine.begin() as connection:  # CHECK
            connection.execute(text(EVENT), {"action": "deleted"})
        db.downgrade(url, "0013")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM join_codes")).scalar() == 1
    finally:
        engine.dispose()
