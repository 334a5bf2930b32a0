"""expire_due: invitations whose link ran out become `expired`, with a controlled clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.core.store.invitations import DEFAULT_EXPIRY, create_invitation, expire_due, transition
from bot.core.store.lifecycle import InvitationState
from bot.core.store.lookup import audit_trail
from bot.core.store.models import AuditAction, Invitation, LinkSource
from bot.core.store.testing import Database, FakeClock

S = InvitationState
LINK = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"


def _created(
    store: Database, clock: FakeClock, customer: str, expires_in: timedelta = DEFAULT_EXPIRY
) -> Invitation:
    with store.factory.begin() as session:
        return create_invitation(
            session, provider=store.orgs["contoso-dist"], customer_name=customer,
            link=LINK, link_source=LinkSource.api, created_by_user="U0PROVUSER",
            created_by_team="T0PROVIDER", clock=clock, expires_in=expires_in,
        )  # fmt: skip


def _move(store: Database, invitation: Invitation, new: InvitationState) -> None:
    with store.factory.begin() as session:
        transition(session, invitation.id, new, actor_user="U1", actor_team="T1",
                   expected_version=None)  # fmt: skip


def _expire(store: Database, now: datetime) -> list[str]:
    with store.factory.begin() as session:
        return [invitation.customer_name for invitation in expire_due(session, now)]


def test_expiry_follows_the_clock(partners: Database, clock: FakeClock) -> None:
    start = clock.now
    created = _created(partners, clock, "Created")
    sent = _created(partners, clock, "Sent")
    _move(partners, sent, S.sent_to_reseller)
    accepted = _created(partners, clock, "Accepted")
    _move(partners, accepted, S.accepted)
    short = _created(partners, clock, "Short", expires_in=timedelta(days=7))

    assert _expire(partners, start + timedelta(days=7) - timedelta(seconds=1)) == []
    assert _expire(partners, start + timedelta(days=7)) == ["Short"]  # due at expires_at
    assert _expire(partners, start + timedelta(days=29, hours=23)) == []
    assert sorted(_expire(partners, start + timedelta(days=31))) == ["Created", "Sent"]
    assert _expire(partners, start + timedelta(days=400)) == []  # accepted never expires

    with partners.factory() as session:
        (*_, last) = audit_trail(session, created.id)
        assert last.action is AuditAction.expire and last.user_id is None
        assert (last.old_state, last.new_state) == (S.created, S.expired)
        assert last.at == start + timedelta(days=31)
        assert audit_trail(session, short.id)[-1].old_state is S.created
        assert audit_trail(session, accepted.id)[-1].new_state is S.accepted


def test_expire_due_refuses_naive_time(partners: Database) -> None:
    with partners.factory() as session, pytest.raises(ValueError, match="naive"):
        expire_due(session, datetime(2030, 1, 1))


#: sqlite_stat1 of the invitations' indexes in bench/scale.py's seeded 100,000 (ANALYZE)
STATISTICS_AT_100K = {
    "ix_invitations_reseller_accepted_state": "100196 2088 3 1 1",
    "ix_invitations_provider_accepted_state": "100196 33399 3 1 1",
    "ix_invitations_reseller_gdap_relationship_id": "100196 100196",
    "ix_invitations_gdap_relationship_id": "100196 100196",
    "ix_invitations_state_expires": "100196 11133 1",
    "ix_invitations_customer_tenant_id": "100196 3",
    "ix_invitations_provider_created": "100196 33399 1 1",
    "ix_invitations_reseller_org_id": "100196 2088",
    "ix_invitations_reseller_created": "100196 2088 1 1",
    "ix_invitations_reseller_state_created": "100196 2088 234 1 1",
    "ix_invitations_provider_state_created": "100196 33399 3854 1 1",
    "sqlite_autoindex_invitations_1": "100196 1",
}


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_expiry_pass_finds_the_due_invitations_through_their_index(
    partners: Database, clock: FakeClock
) -> None:
    """The pass runs every few minutes: it must read the due invitations from
    ix_invitations_state_expires, never scan the table. With the statistics of 100,000
    invitations (what `ANALYZE` wrote in bench/scale.py's seeded database: ~11,000 rows per
    state), SQLite scanned the whole table in id order, to spare a sort, when the pass asked
    for the due invitations by id (1.35x slower at 100,000 than at 10,000)."""
    from sqlalchemy import event

    _created(partners, clock, "Due")
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM invitations" in statement:
            statements.append((statement, parameters))

    event.listen(partners.engine, "before_cursor_execute", seen)
    try:
        assert _expire(partners, clock.now + timedelta(days=31)) == ["Due"]
    finally:
        event.remove(partners.engine, "before_cursor_execute", seen)
    statement, parameters = statements[0]
    with partners.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        for index, stat in STATISTICS_AT_100K.items():
            connection.exec_driver_sql(
                "UPDATE sqlite_stat1 SET stat = ? WHERE tbl = 'invitations' AND idx = ?",
                (stat, index),
            )
        connection.commit()
        connection.exec_driver_sql("ANALYZE sqlite_schema")  # this connection reloads them
        plan = [
            row[3]
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    assert any("USING INDEX ix_invitations_state_expires" in step for step in plan), plan
    assert not any(step.startswith("SCAN invitations") for step in plan), plan
