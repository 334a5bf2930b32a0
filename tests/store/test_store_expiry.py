"""expire_due: invitations whose link ran out become `expired`, with a controlled clock."""

from __future__ import annotations

from datetime import datetime, timedelta

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
