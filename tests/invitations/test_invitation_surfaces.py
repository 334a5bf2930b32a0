"""Invitation surfaces render and validate for every state, side and edge-case input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.snapshots import InvitationView, OrgView
from bot.core.store.lifecycle import InvitationState
from bot.core.store.messages import MessageLocation
from bot.core.store.models import MessagePurpose
from bot.core.ui import surfaces
from bot.core.ui.metadata import InviteContext
from policy import Role
from policy.links import indirect_reseller_link

NASTY = ["W", "<!channel> & <@U1> <https://x.example|y>", "Ñandú 日本語 🎉 " * 6, "x" * 100]
PROVIDER = OrgView(
    1,
    "contoso-dist",
    "Contoso <Distribution> & Co",
    Role.indirect_provider,
    "6f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00",
    "1234567",
    "C0PROV",
)
RESELLER = OrgView(
    2,
    "fabrikam",
    "Fabrikam " + "I" * 90,
    Role.indirect_reseller,
    "9a7c3e55-1d2b-4f6a-b8c9-0e1f2a3b4c5d",
    "7654321",
    None,
)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def view(state: InvitationState, customer: str, *, reseller: bool) -> InvitationView:
    return InvitationView(
        id=7,
        ref="INV-7K3Q9",
        state=state,
        version=3,
        customer_name=customer,
        customer_domain="contoso.onmicrosoft.com",
        customer_tenant_id=None,
        delegated_admin=True,
        link=None
        if state is InvitationState.requested
        else indirect_reseller_link(
            RESELLER.tenant_id, "7654321", PROVIDER.tenant_id, delegated_admin=True
        ),
        link_source="format",
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + timedelta(days=30),
        created_by_user="U0CREATOR1",
        requested_by_user="U0ASKER001",
        decision_id="d" * 36,
        provider=PROVIDER,
        reseller=RESELLER if reseller else None,
        locations=(MessageLocation("C0PROV", "1.2", MessagePurpose.provider),),
    )


@pytest.mark.parametrize("state", list(InvitationState))
@pytest.mark.parametrize("customer", NASTY)
def test_invitation_message_validates(state: InvitationState, customer: str) -> None:
    for side in ("provider", "reseller"):
        for with_reseller in (True, False):
            message = surfaces.invitation_message(
                view(state, customer, reseller=with_reseller), side=side
            )
            shown = json.dumps([b for b in message["blocks"] if b["type"] != "actions"])
            assert "<!channel>" not in shown and "<@U1>" not in shown
            assert "<https://x.example" not in shown
            if state in (InvitationState.created, InvitationState.sent):
                assert "Email to send the customer" in shown


@pytest.mark.parametrize("customer", [None, *NASTY])
def test_invitation_modals_and_lists_validate(customer: str | None) -> None:
    context = InviteContext(customer=customer, decision_id="d" * 36, channel_id="C0123")
    many = [
        OrgView(
            i,
            f"r{i}",
            f"Reseller {i} " + "x" * 80,
            Role.indirect_reseller,
            RESELLER.tenant_id,
            "1",
            None,
        )
        for i in range(150)
    ]
    surfaces.invite_modal(context=context, resellers=many, customer=customer)
    surfaces.invite_modal(context=context, resellers=[], customer=customer)
    surfaces.request_modal(context=context, providers=[PROVIDER], customer=customer)
    surfaces.request_modal(context=context, providers=many[:3], customer=customer, lang="es")
    surfaces.reseller_refusal(context=context, providers=[PROVIDER])
    surfaces.reseller_refusal(context=context, providers=[])
    views = [view(s, customer or "W", reseller=True) for s in InvitationState] * 6
    message = surfaces.status_message(org=PROVIDER, views=views, customer=customer)
    assert len(message["blocks"]) <= 50
    surfaces.status_message(org=PROVIDER, views=[], customer=customer)
    surfaces.admin_message(
        org=PROVIDER,
        teams=["T1", "T2"],
        admins=["U1"],
        providers=[],
        resellers=many,
        counts={"created": 3, "sent": 1},
    )
    surfaces.admin_message(
        org=RESELLER, teams=[], admins=[], providers=[PROVIDER], resellers=[], counts={}
    )


@pytest.mark.parametrize(
    "code",
    [
        "not_in_directory",
        "conflict",
        "invalid_transition",
        "not_allowed",
        "not_found",
        "not_your_reseller",
        "not_your_provider",
        "provider_without_channel",
        "reseller_without_partner_id",
        "no_reseller",
        "nowhere_to_post",
        "admins_only",
        "invitation_created",
        "request_sent",
        "partner_center_error",
    ],
)
def test_notices_validate(code: str) -> None:
    params = {
        "team": "T1",
        "state": "sent",
        "reseller": "<x>",
        "provider": "<y>",
        "admins": "<@U1>",
        "ref": "INV-1",
        "where": "<#C1>",
        "reason": "<boom>",
    }
    message = surfaces.notice_message(code, **params)
    assert message["text"] and message["text"] != code


@pytest.mark.parametrize("customer", NASTY)
def test_home_tab_validates_when_full(customer: str) -> None:
    from bot.core.home import LIMITS, HomeData

    many = [view(s, customer, reseller=True) for s in InvitationState]
    for org in (None, PROVIDER, RESELLER):
        home = HomeData(
            org=org,
            requests=many[: LIMITS["requests"]] * 2,
            waiting=many[:5],
            open=(many * 3)[: LIMITS["open"]],
            accepted=many[: LIMITS["accepted"]],
            more={"requests", "open", "accepted"},
        )
        view_ = surfaces.home_view(home=home)
        assert len(view_["blocks"]) <= 100
