"""Where the invitation link comes from: Partner Center's API when configured, else the
documented format (the indirect-reseller link always comes from the format)."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.core.invitations import InvitationProblem, build_link
from bot.core.outbox.options import NotifyOptions
from bot.core.partner_center.client import PartnerCenterClient
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.services import Services
from bot.core.snapshots import OrgView
from bot.core.store.clock import utc_now
from bot.core.store.models import LinkSource, Organization
from policy import Role

API_LINK = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=abc&msppId=0&DAP=false#/BillingAccounts/partner-invitation"
PROVIDER = OrgView(1, "p", "P", Role.direct, "6f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00", None, None)
RESELLER = OrgView(
    2, "r", "R", Role.indirect_reseller, "9a7c3e55-1d2b-4f6a-b8c9-0e1f2a3b4c5d", "42", None
)


def partner_center(seen: list[str]) -> PartnerCenterClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/token"):
            return httpx.Response(
                200, json={"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}
            )
        assert request.headers["authorization"] == "Bearer t"
        return httpx.Response(
            200,
            content=json.dumps(
                {"url": API_LINK, "attributes": {"objectType": "RelationshipRequest"}}
            ),
        )

    settings = PartnerCenterSettings(
        partner_center_api_url="https://pc.test",
        azure_ad_token_url="https://login.test/{tenant}/token",
        partner_tenant_id=PROVIDER.tenant_id,
        partner_center_client_id="app",
        partner_center_client_secret="s",
        partner_center_refresh_token="r",
    )
    return PartnerCenterClient(settings, httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def add_org(services: Services, org: OrgView) -> None:
    with services.sessions.begin() as session:
        session.add(
            Organization(
                id=org.id,
                key=org.key,
                name=org.name,
                role=org.role,
                tenant_id=org.tenant_id,
                partner_id=org.partner_id,
                created_at=utc_now(),
            )
        )


async def test_the_api_link_is_used_when_configured(tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    services = Services.from_url(
        f"sqlite:///{tmp_path}/db.sqlite3", partner_center=partner_center(seen)
    )
    other = OrgView(3, "o", "O", Role.direct, "1f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00", None, None)
    add_org(services, PROVIDER)
    # the legacy settings are the connection of the only organization that is not a reseller
    assert await build_link(services, PROVIDER, None, False) == (API_LINK, LinkSource.api)
    assert "/v1/customers/relationshiprequests" in seen
    # ...and of no other: another direct partner's link is never the deployment's
    add_org(services, other)
    services.notify = NotifyOptions(partner_org_key="p")
    services.connections = None  # resolve again (the resolver keeps answers 30 seconds)
    link, source = await build_link(services, other, None, False)
    assert source is LinkSource.documented_format and f"partnerId={other.tenant_id}" in link
    # an indirect reseller's link is not something the API returns: the documented format
    link, source = await build_link(services, PROVIDER, RESELLER, True)
    assert (
        source is LinkSource.documented_format and "indirectCSPId=" in link and "DAP=true" in link
    )


async def test_without_partner_center_the_format_is_used(tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = Services.from_url(f"sqlite:///{tmp_path}/db.sqlite3")
    link, source = await build_link(services, PROVIDER, None, False)
    assert source is LinkSource.documented_format and f"partnerId={PROVIDER.tenant_id}" in link
    with pytest.raises(InvitationProblem) as info:
        await build_link(
            services,
            PROVIDER,
            OrgView(3, "x", "X", Role.indirect_reseller, RESELLER.tenant_id, None, None),
            False,
        )
    assert info.value.code == "reseller_without_partner_id"
