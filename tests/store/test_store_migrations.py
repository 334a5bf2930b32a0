"""The migrations run from an empty database on SQLite and PostgreSQL and build exactly the
schema the models declare."""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.core.store import db
from bot.core.store.lifecycle import InvitationState
from bot.core.store.models import AuditAction, Base, GdapParty, LinkSource, MessagePurpose
from bot.core.store.testing import fresh_postgres_database, postgres_unavailable
from policy.facts import Role

TABLES = {
    "organizations",
    "organization_teams",
    "organization_admins",
    "reseller_providers",
    "invitations",
    "invitation_search_keys",
    "modal_views",
    "slack_installations",
    "slack_bots",
    "slack_oauth_states",
    "invitation_messages",
    "audit_events",
    "decision_records",
    "language_preferences",
    "home_viewers",
    "workspace_editions",
    "webhook_inbox",
    "outbox",
    "join_codes",
    "join_requests",
    "directory_events",
    "partner_center_connections",
    "partner_center_connect_states",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new' / 'mc.sqlite3'}"
        return
    reason = postgres_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as url:
        yield url


def _tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_from_empty_matches_the_models_and_downgrades(empty_url: str) -> None:
    assert db.current_revision(empty_url) is None
    db.upgrade(empty_url)
    assert db.current_revision(empty_url) == db.head_revision()
    assert _tables(empty_url) == TABLES
    engine = db.make_engine(empty_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()

    db.upgrade(empty_url)  # running it again is harmless
    db.downgrade(empty_url, "base")
    assert db.current_revision(empty_url) is None
    assert _tables(empty_url) == set()
    db.upgrade(empty_url)
    assert _tables(empty_url) == TABLES


@pytest.mark.parametrize(
    ("table", "column", "enum"),
    [
        ("organizations", "role", Role),
        ("invitations", "state", InvitationState),
        ("invitations", "link_source", LinkSource),
        ("invitations", "gdap_for", GdapParty),
        ("invitation_messages", "purpose", MessagePurpose),
        ("audit_events", "action", AuditAction),
        ("audit_events", "old_state", InvitationState),
        ("audit_events", "new_state", InvitationState),
    ],
)
def test_check_constraints_list_exactly_the_enum_values(
    sqlite_template: Path, table: str, column: str, enum: type[StrEnum]
) -> None:
    """Adding a member to an enumeration needs a migration: this test says so."""
    engine = db.make_engine(f"sqlite:///{sqlite_template}")
    try:
        with engine.connect() as connection:
            checks = inspect(connection).get_check_constraints(table)
    finally:
        engine.dispose()
    (check,) = [c for c in checks if c["name"] == f"ck_{table}_{column}"]
    assert set(re.findall(r"'([a-z_]+)'", check["sqltext"])) == {m.value for m in enum}


def test_the_head_read_from_the_files_is_alembics() -> None:
    """`mcbot serve` skips importing Alembic when the database is at this head."""
    assert db.shipped_head() == db.head_revision()


def test_0006_backfills_acceptance_times_and_search_keys(empty_url: str) -> None:
    """Invitations made before 0006 get `accepted_at` from their audit trail (else their last
    change) and their search keys, so status searches and the Home find them."""
    from sqlalchemy import text

    db.upgrade(empty_url, "0004")
    engine = db.make_engine(empty_url)
    try:
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO organizations (id, key, name, role, tenant_id, created_at) "
                    "VALUES (1, 'p', 'P', 'direct', 't1', :at)"
                ),
                {"at": "2026-01-01 00:00:00"},
            )
            for i, (name, domain, state) in enumerate(
                [
                    ("Fabrikam  Via Northwind", "fabrikam.example", "accepted"),
                    ("Litware", None, "delegated_admin_granted"),
                    ("Proseware", None, "sent"),
                ],
                start=1,
            ):
                c.execute(
                    text(
                        "INSERT INTO invitations (id, ref, provider_org_id, customer_name, "
                        "customer_domain, delegated_admin, state, created_at, updated_at, "
                        "version) VALUES (:i, :ref, 1, :name, :domain, false, :state, "
                        ":created, :updated, 1)"
                    ),
                    {
                        "i": i,
                        "ref": f"R{i}",
                        "name": name,
                        "domain": domain,
                        "state": state,
                        "created": "2026-01-01 00:00:00",
                        "updated": "2026-03-03 00:00:00",
                    },
                )
            c.execute(
                text(
                    "INSERT INTO audit_events (invitation_id, at, action, old_state, new_state, "
                    "detail) VALUES (1, :at, 'transition', 'sent', 'accepted', '{}')"
                ),
                {"at": "2026-02-02 00:00:00"},
            )
    finally:
        engine.dispose()
    db.upgrade(empty_url)
    engine = db.make_engine(empty_url)
    try:
        with engine.connect() as c:
            accepted = dict(
                c.execute(text("SELECT id, accepted_at FROM invitations ORDER BY id")).all()
            )
            keys = set(c.execute(text("SELECT key, invitation_id FROM invitation_search_keys")))
    finally:
        engine.dispose()
    assert str(accepted[1]).startswith("2026-02-02")  # from the audit trail
    assert str(accepted[2]).startswith("2026-03-03")  # none there: its last change
    assert accepted[3] is None
    assert keys == {
        ("fabrikam via northwind", 1),
        ("via northwind", 1),
        ("northwind", 1),
        ("fabrikam.example", 1),
        ("litware", 2),
        ("proseware", 3),
    }
