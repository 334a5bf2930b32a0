"""Visibility and permissions: nobody sees or moves another organization's invitations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.store.access import can_act, can_see, visible_invitations
from bot.core.store.invitations import create_invitation, request_invitation
from bot.core.store.lifecycle import InvitationState
from bot.core.store.models import Invitation, LinkSource
from bot.core.store.testing import Database, FakeClock

S = InvitationState
LINK = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"


@pytest.fixture
def invitations(partners: Database, clock: FakeClock) -> dict[str, Invitation]:
    """One invitation per situation, each a minute newer than the one before."""
    made: dict[str, Invitation] = {}
    plan = [
        ("contoso-dist", "fabrikam", "Fabrikam's customer", "litware.example"),
        ("contoso-dist", "tailspin", "Tailspin's customer", "wingtip.example"),
        ("contoso-dist", None, "Contoso's own customer", "proseware.example"),
        ("northwind-dist", "fabrikam", "Fabrikam via Northwind", "litware.example"),
        ("adatum", None, "Adatum's customer", "fourthcoffee.example"),
    ]
    with partners.factory.begin() as session:
        for provider, reseller, customer, domain in plan:
            clock.advance(timedelta(minutes=1))
            made[customer] = create_invitation(
                session, provider=partners.orgs[provider],
                reseller=partners.orgs[reseller] if reseller else None, customer_name=customer,
                customer_domain=domain, link=LINK, link_source=LinkSource.api,
                created_by_user="U1", created_by_team="T1", clock=clock,
            )  # fmt: skip
        clock.advance(timedelta(minutes=1))
        made["Requested by Tailspin"] = request_invitation(
            session, reseller=partners.orgs["tailspin"], provider=partners.orgs["contoso-dist"],
            customer_name="Requested by Tailspin", requested_by_user="U2",
            requested_by_team="T0TAILSPIN", clock=clock,
        )  # fmt: skip
    return made


@pytest.mark.parametrize(
    ("org", "expected"),
    [
        ("fabrikam", ["Fabrikam via Northwind", "Fabrikam's customer"]),
        ("tailspin", ["Requested by Tailspin", "Tailspin's customer"]),
        ("contoso-dist", ["Requested by Tailspin", "Contoso's own customer",
                          "Tailspin's customer", "Fabrikam's customer"]),
        ("northwind-dist", ["Fabrikam via Northwind"]),
        ("adatum", ["Adatum's customer"]),
    ],
)  # fmt: skip
def test_each_organization_sees_only_its_own(
    partners: Database, invitations: dict[str, Invitation], org: str, expected: list[str]
) -> None:
    with partners.factory() as session:
        seen = visible_invitations(session, partners.orgs[org])
    assert [invitation.customer_name for invitation in seen] == expected  # newest first
    for name, invitation in invitations.items():
        assert can_see(partners.orgs[org], invitation) is (name in expected)


def test_filters(partners: Database, invitations: dict[str, Invitation]) -> None:
    contoso = partners.orgs["contoso-dist"]
    with partners.factory() as session:

        def names(**kwargs: object) -> list[str]:
            found = visible_invitations(session, contoso, **kwargs)  # type: ignore[arg-type]
            return [invitation.customer_name for invitation in found]

        assert names(customer="TAILSPIN") == ["Requested by Tailspin", "Tailspin's customer"]
        assert names(customer="LITWARE.example") == ["Fabrikam's customer"]
        assert names(customer="Adatum") == []  # another organization's customer
        assert names(customer="100%") == []  # LIKE wildcards are literal
        assert names(states=[S.requested]) == ["Requested by Tailspin"]
        assert names(limit=1) == ["Requested by Tailspin"]


def test_can_act(partners: Database, invitations: dict[str, Invitation]) -> None:
    orgs = partners.orgs
    theirs = invitations["Fabrikam's customer"]  # created, contoso for fabrikam
    asked = invitations["Requested by Tailspin"]  # requested, tailspin asked contoso

    assert can_act(orgs["contoso-dist"], theirs, S.cancelled)
    assert can_act(orgs["contoso-dist"], theirs, S.accepted)
    assert not can_act(orgs["contoso-dist"], theirs, S.delegated_admin_granted)  # lifecycle
    assert can_act(orgs["fabrikam"], theirs, S.sent_to_customer)
    assert not can_act(orgs["fabrikam"], theirs, S.cancelled)
    assert not can_act(orgs["fabrikam"], theirs, S.accepted)
    assert not can_act(orgs["tailspin"], theirs, S.sent_to_customer)
    assert not can_act(orgs["northwind-dist"], theirs, S.cancelled)

    assert can_act(orgs["tailspin"], asked, S.cancelled)
    assert not can_act(orgs["tailspin"], asked, S.created)
    assert not can_act(orgs["tailspin"], asked, S.declined)
    assert can_act(orgs["contoso-dist"], asked, S.declined)
    assert not can_act(orgs["fabrikam"], asked, S.cancelled)
