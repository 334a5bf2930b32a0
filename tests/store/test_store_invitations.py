"""bot.core.store.invitations: creating, requesting, permissions, messages, refs, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.core.store.errors import NotAllowedError, NotFoundError, StoreError, TransitionError
from bot.core.store.invitations import (
    DEFAULT_EXPIRY,
    create_invitation,
    fulfil_request,
    request_invitation,
    transition,
)
from bot.core.store.lifecycle import InvitationState
from bot.core.store.lookup import audit_trail, find_by_ref, get_invitation
from bot.core.store.messages import message_locations, record_message
from bot.core.store.models import AuditAction, AuditEvent, Invitation, LinkSource, MessagePurpose
from bot.core.store.refs import normalize_ref
from bot.core.store.testing import Database, FakeClock

S = InvitationState
LINK = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&DAP=false"


def create(
    store: Database,
    clock: FakeClock,
    *,
    provider: str = "contoso-dist",
    reseller: str | None = "fabrikam",
    customer: str = "Litware Inc",
    link: str = LINK,
) -> Invitation:
    with store.factory.begin() as session:
        return create_invitation(
            session, provider=store.orgs[provider],
            reseller=store.orgs[reseller] if reseller else None, customer_name=customer,
            customer_domain="litware.example", link=link, link_source=LinkSource.api,
            created_by_user="U0PROVUSER", created_by_team="T0PROVIDER", clock=clock,
        )  # fmt: skip


def request(
    store: Database, clock: FakeClock, *, reseller: str = "fabrikam", provider: str = "contoso-dist"
) -> Invitation:
    with store.factory.begin() as session:
        return request_invitation(
            session, reseller=store.orgs[reseller], provider=store.orgs[provider],
            customer_name="  Litware   Inc ", requested_by_user="U0RESUSER",
            requested_by_team="T0RESELLER", delegated_admin=True, decision_id="dec-1",
            clock=clock,
        )  # fmt: skip


def move(store: Database, invitation: Invitation, new: InvitationState, actor: str) -> Invitation:
    with store.factory.begin() as session:
        return transition(
            session, invitation.id, new, actor_user=f"U-{actor}", actor_team=f"T-{actor}",
            expected_version=invitation.version, actor_org=store.orgs[actor],
        )  # fmt: skip


def test_create_from_scratch(partners: Database, clock: FakeClock) -> None:
    invitation = create(partners, clock)
    assert invitation.ref.startswith("INV-") and len(invitation.ref) == 9
    assert invitation.state is S.created and invitation.version == 1
    assert invitation.created_at == clock.now
    assert invitation.expires_at == clock.now + DEFAULT_EXPIRY == clock.now + timedelta(days=30)
    with partners.factory() as session:
        (event,) = audit_trail(session, invitation.id)
    assert event.action is AuditAction.create and event.new_state is S.created
    assert (event.user_id, event.team_id, event.at) == ("U0PROVUSER", "T0PROVIDER", clock.now)
    assert event.detail == {"link_source": "api"}


def test_request_then_fulfil(partners: Database, clock: FakeClock) -> None:
    asked = request(partners, clock)
    assert asked.state is S.requested and asked.link is None and asked.expires_at is None
    assert asked.customer_name == "Litware Inc"  # whitespace tidied
    clock.advance(timedelta(hours=2))
    with partners.factory.begin() as session:
        made = fulfil_request(
            session, asked.id, provider=partners.orgs["contoso-dist"], link=LINK,
            link_source=LinkSource.documented_format, created_by_user="U0PROVUSER",
            created_by_team="T0PROVIDER", expected_version=1, clock=clock,
        )  # fmt: skip
    assert made.state is S.created and made.version == 2 and made.link == LINK
    assert made.link_source is LinkSource.documented_format
    assert made.expires_at == clock.now + DEFAULT_EXPIRY
    assert (made.requested_by_user, made.created_by_user) == ("U0RESUSER", "U0PROVUSER")
    assert made.decision_id == "dec-1" and made.delegated_admin
    with partners.factory() as session:
        actions = [(e.action, e.old_state, e.new_state) for e in audit_trail(session, asked.id)]
    assert actions == [
        (AuditAction.request, None, S.requested),
        (AuditAction.fulfil, S.requested, S.created),
    ]


@pytest.mark.parametrize(
    ("reseller", "provider", "code"),
    [
        ("tailspin", "northwind-dist", "not_your_provider"),
        ("contoso-dist", "northwind-dist", "not_a_reseller"),
    ],
)
def test_request_permissions(
    partners: Database, clock: FakeClock, reseller: str, provider: str, code: str
) -> None:
    with pytest.raises(NotAllowedError) as caught:
        request(partners, clock, reseller=reseller, provider=provider)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("provider", "reseller", "code"),
    [
        ("fabrikam", None, "not_a_provider"),
        ("adatum", "fabrikam", "direct_partner_has_no_resellers"),
        ("northwind-dist", "tailspin", "not_your_provider"),
    ],
)
def test_create_permissions(
    partners: Database, clock: FakeClock, provider: str, reseller: str | None, code: str
) -> None:
    with pytest.raises(NotAllowedError) as caught:
        create(partners, clock, provider=provider, reseller=reseller)
    assert caught.value.code == code


def test_direct_partner_creates_for_its_own_customer(partners: Database, clock: FakeClock) -> None:
    invitation = create(partners, clock, provider="adatum", reseller=None)
    assert invitation.reseller_org_id is None


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"link": "http://insecure.example"}, "invalid_link"),
        ({"customer": "  "}, "invalid_customer_name"),
    ],
)
def test_bad_input_is_refused(
    partners: Database, clock: FakeClock, kwargs: dict[str, str], code: str
) -> None:
    with pytest.raises(StoreError) as caught:
        create(partners, clock, **kwargs)
    assert caught.value.code == code


def test_fulfil_only_by_the_provider_asked(partners: Database, clock: FakeClock) -> None:
    asked = request(partners, clock)
    for org, error in (("northwind-dist", NotFoundError), ("fabrikam", NotAllowedError)):
        with partners.factory.begin() as session, pytest.raises(error):
            fulfil_request(
                session, asked.id, provider=partners.orgs[org], link=LINK,
                link_source=LinkSource.api, created_by_user="U1", created_by_team="T1",
                expected_version=1, clock=clock,
            )  # fmt: skip
    with partners.factory.begin() as session, pytest.raises(StoreError) as caught:
        transition(session, asked.id, S.created, actor_user="U1", actor_team="T1",
                   expected_version=1)  # fmt: skip
    assert caught.value.code == "link_required"


def test_reseller_may_only_mark_sent_and_withdraw_its_request(
    partners: Database, clock: FakeClock
) -> None:
    invitation = create(partners, clock)
    with pytest.raises(NotAllowedError):  # only the provider delivers it to the reseller
        move(partners, invitation, S.sent_to_reseller, "fabrikam")
    invitation = move(partners, invitation, S.sent_to_customer, "fabrikam")
    with pytest.raises(TransitionError):  # it cannot be sent to the customer twice
        move(partners, invitation, S.sent_to_customer, "fabrikam")
    with pytest.raises(NotAllowedError) as caught:
        move(partners, invitation, S.cancelled, "fabrikam")
    assert caught.value.code == "not_allowed"
    for stranger in ("tailspin", "northwind-dist", "adatum"):
        with pytest.raises(NotFoundError):
            move(partners, invitation, S.cancelled, stranger)
    assert move(partners, invitation, S.cancelled, "contoso-dist").state is S.cancelled

    asked = request(partners, clock)
    assert move(partners, asked, S.cancelled, "fabrikam").state is S.cancelled


def test_acceptance_stores_tenant_and_gdap_ids(partners: Database, clock: FakeClock) -> None:
    invitation = create(partners, clock)
    tenant = "4B2A6E33-8791-4386-BD2B-0D55BAF25039"
    with partners.factory.begin() as session:
        accepted = transition(
            session, invitation.id, S.accepted, actor_user=None, actor_team=None,
            expected_version=None, customer_tenant_id=tenant,
            detail={"event": "reseller-relationship-accepted-by-customer"}, clock=clock,
        )  # fmt: skip
    assert accepted.customer_tenant_id == tenant.lower()
    with partners.factory.begin() as session:
        transition(
            session,
            invitation.id,
            S.delegated_admin_requested,
            actor_user="U0PROVUSER",
            actor_team="T0PROVIDER",
            expected_version=2,
            gdap_relationship_id="rel-1",
        )
        trail = audit_trail(session, invitation.id)
    assert trail[1].user_id is None
    assert trail[1].detail == {
        "event": "reseller-relationship-accepted-by-customer",
        "customer_tenant_id": tenant.lower(),
    }
    assert trail[2].detail == {"gdap_relationship_id": "rel-1"}
    with partners.factory() as session:
        assert get_invitation(session, invitation.id).gdap_relationship_id == "rel-1"


def test_messages_are_recorded_and_replaced(partners: Database, clock: FakeClock) -> None:
    invitation = create(partners, clock)
    with partners.factory.begin() as session:
        record_message(session, invitation.id, "C0PROVNOTIF", "1.1", MessagePurpose.provider)
        record_message(session, invitation.id, "C0RESNOTIF", "2.1", MessagePurpose.reseller)
        record_message(session, invitation.id, "C0RESNOTIF", "2.2", MessagePurpose.reseller)
    with partners.factory() as session:
        locations = message_locations(get_invitation(session, invitation.id))
    assert [(m.channel, m.ts, m.purpose) for m in locations] == [
        ("C0PROVNOTIF", "1.1", MessagePurpose.provider),
        ("C0RESNOTIF", "2.2", MessagePurpose.reseller),
    ]
    with partners.factory.begin() as session, pytest.raises(NotFoundError):
        record_message(session, invitation.id + 999, "C1", "1.0", MessagePurpose.provider)


def test_find_by_ref(partners: Database, clock: FakeClock) -> None:
    invitation = create(partners, clock)
    code = invitation.ref.removeprefix("INV-")
    assert normalize_ref(f" inv-{code.lower()} ") == invitation.ref
    with partners.factory() as session:
        for typed in (invitation.ref, code.lower()):
            found = find_by_ref(session, typed)
            assert found is not None and found.id == invitation.id
        assert find_by_ref(session, invitation.ref, partners.orgs["fabrikam"]) is not None
        assert find_by_ref(session, invitation.ref, partners.orgs["tailspin"]) is None
        assert find_by_ref(session, "INV-ZZZZZ") is None


def test_audit_events_cannot_be_changed(partners: Database, clock: FakeClock) -> None:
    create(partners, clock)
    with partners.factory() as session:
        event = session.scalars(select(AuditEvent)).one()
        event.user_id = "U0FORGER"
        with pytest.raises(PermissionError, match="append-only"):
            session.flush()
        session.rollback()
        session.delete(session.scalars(select(AuditEvent)).one())
        with pytest.raises(PermissionError, match="append-only"):
            session.flush()
