"""The Graph stand-in (bot.testkit.partner_center.GraphStandIn) refuses what Microsoft Graph
documents it refuses, so tests that pass against it cannot rely on a leniency Graph lacks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from bot.core.partner_center.errors import PartnerCenterError
from bot.core.partner_center.graph import GLOBAL_ADMINISTRATOR_ROLE, GraphGdapClient
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.testkit.partner_center import GRAPH_RELATIONSHIPS, GraphStandIn

CUSTOMER = "4b2a6e33-8791-4386-bd2b-0d55baf25039"
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"


@pytest.fixture(scope="module")
def graph() -> Iterator[GraphStandIn]:
    with GraphStandIn() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def client(graph: GraphStandIn, http: httpx.AsyncClient, **overrides: Any) -> GraphGdapClient:
    settings = PartnerCenterSettings(_env_file=None, **{**graph.settings_overrides(), **overrides})
    return GraphGdapClient(settings, http)


async def test_create_then_lock_in_the_partners_tenant(
    graph: GraphStandIn, http: httpx.AsyncClient
) -> None:
    graph.reset()
    gdap = client(graph, http)
    made = await gdap.create_relationship("INV-1 Contoso", CUSTOMER, [HELPDESK])
    assert made.status == "created" and made.id.endswith(CUSTOMER)
    assert graph.relationships[made.id]["partnerTenantId"] == graph.partner_tenant_id
    locked = await gdap.lock_for_approval(made.id)
    assert (locked.action, locked.status) == ("lockForApproval", "created")
    assert graph.relationships[made.id]["status"] == "approvalPending"
    with pytest.raises(PartnerCenterError) as twice:  # only a `created` one can be locked
        await gdap.lock_for_approval(made.id)
    assert twice.value.status == 400
    with pytest.raises(PartnerCenterError) as unknown:
        await gdap.lock_for_approval("0000-unknown")
    assert unknown.value.status == 404
    with pytest.raises(PartnerCenterError) as again:  # display names are unique per partner
        await gdap.create_relationship("INV-1 Contoso", CUSTOMER, [HELPDESK])
    assert again.value.status == 400
    graph.approve(made.id)
    assert (await gdap.get_relationship(made.id)).status == "approved"


async def test_what_graph_refuses(graph: GraphStandIn, http: httpx.AsyncClient) -> None:
    graph.reset()
    token = await client(graph, http).tokens.graph_token()
    url = graph.origin + GRAPH_RELATIONSHIPS
    good = {
        "displayName": "ok",
        "duration": "P730D",
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": HELPDESK}]},
    }
    bad = [
        {**good, "displayName": "x" * 51},
        {**good, "duration": "P731D"},
        {**good, "duration": "PT1H"},
        {**good, "accessDetails": {"unifiedRoles": []}},
        {**good, "accessDetails": {"unifiedRoles": [{"roleDefinitionId": "helpdesk"}]}},
        {**good, "autoExtendDuration": "P90D"},
        {
            **good,
            "autoExtendDuration": "P180D",
            "accessDetails": {"unifiedRoles": [{"roleDefinitionId": GLOBAL_ADMINISTRATOR_ROLE}]},
        },
        {**good, "customer": {"tenantId": "not-a-guid"}},
    ]
    auth = {"Authorization": f"Bearer {token}"}
    for body in bad:
        assert (await http.post(url, json=body, headers=auth)).status_code == 400, body
    assert (await http.post(url, json=good)).status_code == 401  # no token
    assert (
        await http.post(url, json=good, headers={"Authorization": "Bearer x"})
    ).status_code == 401
    assert graph.relationships == {}
    assert (await http.post(url, json=good, headers=auth)).status_code == 201


async def test_the_token_endpoint_wants_this_apps_credentials(
    graph: GraphStandIn, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PartnerCenterError) as wrong:
        await client(graph, http, partner_center_client_secret="wrong").tokens.graph_token()
    assert wrong.value.status == 401
    other_tenant = "99999999-2222-3333-4444-555555555555"
    with pytest.raises(PartnerCenterError):
        await client(graph, http, partner_tenant_id=other_tenant).tokens.graph_token()
