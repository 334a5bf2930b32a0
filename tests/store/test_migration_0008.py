"""Migration 0008 (whose GDAP relationship an invitation records) on SQLite and PostgreSQL:
relationships recorded before it were requested "for <reseller>" and are marked so; the new
columns refuse what the models refuse; it downgrades to 0007 keeping the invitation."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.core.store import db

ORG = (
    "INSERT INTO organizations (id, key, name, role, tenant_id, partner_id, created_at) VALUES "
    "(:id, :key, :name, :role, :tenant, :partner, :at)"
)
INVITATION = (
    "INSERT INTO invitations (id, ref, provider_org_id, reseller_org_id, customer_name, "
    "delegated_admin, state, created_at, updated_at, gdap_relationship_id, version) VALUES "
    "(:id, :ref, 1, 2, 'Woodgrove', false, :state, :at, :at, :rel, 3)"
)


def test_0008_marks_earlier_relationships_as_asked_for_the_reseller(url: str) -> None:
    db.upgrade(url, "0007")
    engine = db.make_engine(url)
    try:
        at = "2026-11-30 12:00:00+00:00"
        with engine.begin() as connection:
            for org in (
                {"id": 1, "key": "contoso", "name": "Contoso", "role": "indirect_provider"},
                {"id": 2, "key": "fabrikam", "name": "Fabrikam", "role": "indirect_reseller"},
            ):
                tenant = f"00000000-0000-0000-0000-00000000000{org['id']}"
                values = {**org, "tenant": tenant, "partner": "1234567", "at": at}
                connection.execute(text(ORG), values)
            connection.execute(
                text(INVITATION),
                {
                    "id": 1,
                    "ref": "INV-AAAAA",
                    "state": "delegated_admin_requested",
                    "at": at,
                    "rel": "rel-1",
                },
            )
            connection.execute(
                text(INVITATION),
                {"id": 2, "ref": "INV-BBBBB", "state": "accepted", "at": at, "rel": None},
            )
        db.upgrade(url)
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT id, gdap_for, reseller_gdap_relationship_id, reseller_gdap_granted_at,"
                    " version FROM invitations ORDER BY id"
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            (1, "reseller", None, None, 3),
            (2, None, None, None, 3),
        ]
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text("UPDATE invitations SET gdap_for = 'customer' WHERE id = 2"))
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE invitations SET reseller_gdap_relationship_id = 'rel-2' WHERE id = 2")
            )
        db.downgrade(url, "0007")
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT ref, gdap_relationship_id FROM invitations ORDER BY id")
            ).all()
        assert [tuple(row) for row in kept] == [("INV-AAAAA", "rel-1"), ("INV-BBBBB", None)]
    finally:
        engine.dispose()
