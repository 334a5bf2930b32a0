"""Migration 0013 (shared notification channels) on SQLite and PostgreSQL: existing
organizations keep their channel, reached with their own workspace's token (no host); a host
can be recorded; it downgrades to 0010 keeping the organizations and their channels."""

from __future__ import annotations

from sqlalchemy import inspect, text

from bot.core.store import db

ORG = (
    "INSERT INTO organizations (id, key, name, role, tenant_id, partner_id, "
    "notification_channel, created_at) VALUES (:id, :key, :name, 'indirect_reseller', :tenant, "
    "'1234567', :channel, '2026-11-30 12:00:00+00:00')"
)


def test_0013_adds_the_hosting_workspace_and_downgrades_keeping_the_channels(url: str) -> None:
    db.upgrade(url, "0012")
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:
            for n in (1, 2):
                connection.execute(
                    text(ORG),
                    {
                        "id": n,
                        "key": f"org-{n}",
                        "name": f"Org {n}",
                        "tenant": f"00000000-0000-0000-0000-00000000000{n}",
                        "channel": f"C0CHAN000{n}",
                    },
                )
        db.upgrade(url, "0013")
        with engine.begin() as connection:
            rows = connection.execute(
                text("SELECT notification_channel, notification_channel_team FROM organizations")
            ).all()
            assert sorted(rows) == [("C0CHAN0001", None), ("C0CHAN0002", None)]
            connection.execute(
                text(
                    "UPDATE organizations SET notification_channel_team = 'T0HOST0001' WHERE id = 2"
                )
            )
        db.downgrade(url, "0012")
        columns = {c["name"] for c in inspect(engine).get_columns("organizations")}
        assert "notification_channel_team" not in columns
        with engine.connect() as connection:
            channels = connection.execute(
                text("SELECT notification_channel FROM organizations ORDER BY id")
            ).scalars()
            assert list(channels) == ["C0CHAN0001", "C0CHAN0002"]
    finally:
        engine.dispose()
