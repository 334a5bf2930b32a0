from __future__ import annotations

import httpx
import pytest

from bot.core.partner_center.errors import InvalidRequest, PartnerCenterError
from bot.core.partner_center.graph import (
    GLOBAL_ADMINISTRATOR_ROLE,
    GraphGdapClient,
    approval_url,
    duration_days,
)
from bot.core.partner_center.settings import PartnerCenterSettings

from .standin import TOKEN_PATH, Reply, StandIn

PATH = "/graph/v1.0/tenantRelationships/delegatedAdminRelationships"
CUSTOMER_TENANT = "4b2a6e33-8791-4386-bd2b-0d55baf25039"
HELPDESK_ADMIN = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
RELATIONSHIP = "5d027261-d21f-4aa9-b7db-7fa1f56fb163-8777b240-c6f0-4469-9e98-a3205431b836"


def _client(settings: PartnerCenterSettings, http: httpx.AsyncClient) -> GraphGdapClient:
    return GraphGdapClient(settings, http)


async def test_create_relationship(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply(
        "POST",
        PATH,
        Reply(201, {"id": RELATIONSHIP, "status": "created", "displayName": "Contoso helpdesk"}),
    )
    relationship = await _client(api_settings, api_http).create_relationship(
        "Contoso helpdesk", CUSTOMER_TENANT.upper(), [HELPDESK_ADMIN]
    )
    assert (relationship.id, relationship.status) == (RELATIONSHIP, "created")
    (call,) = standin.calls("POST", PATH)
    assert call.headers["authorization"] == "Bearer token-1"
    assert call.json() == {
        "displayName": "Contoso helpdesk",
        "duration": "P730D",
        "customer": {"tenantId": CUSTOMER_TENANT},
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": HELPDESK_ADMIN}]},
        "autoExtendDuration": "P180D",
    }
    assert standin.calls("POST", TOKEN_PATH)[0].form()["grant_type"] == "client_credentials"


async def test_global_administrator_disables_auto_extension(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply("POST", PATH, Reply(201, {"id": RELATIONSHIP, "status": "created"}))
    await _client(api_settings, api_http).create_relationship(
        "All access", None, [HELPDESK_ADMIN, GLOBAL_ADMINISTRATOR_ROLE], duration="P1Y"
    )
    body = standin.calls("POST", PATH)[0].json()
    assert body["autoExtendDuration"] == "PT0S"
    assert body["duration"] == "P1Y"
    assert "customer" not in body


async def test_lock_for_approval(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    path = f"{PATH}/{RELATIONSHIP}/requests"
    standin.reply(
        "POST", path, Reply(201, {"id": "req-1", "action": "lockForApproval", "status": "created"})
    )
    request = await _client(api_settings, api_http).lock_for_approval(RELATIONSHIP)
    assert (request.id, request.action, request.status) == ("req-1", "lockForApproval", "created")
    assert standin.calls("POST", path)[0].json() == {"action": "lockForApproval"}


async def test_get_relationship(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply(
        "GET", f"{PATH}/{RELATIONSHIP}", Reply(body={"id": RELATIONSHIP, "status": "active"})
    )
    assert (await _client(api_settings, api_http).get_relationship(RELATIONSHIP)).status == "active"


@pytest.mark.parametrize(
    ("name", "tenant", "roles", "duration", "reason"),
    [
        ("x" * 51, None, [HELPDESK_ADMIN], "P730D", "display_name_too_long"),
        ("   ", None, [HELPDESK_ADMIN], "P730D", "display_name_empty"),
        ("ok", None, [], "P730D", "no_roles"),
        ("ok", None, ["helpdesk"], "P730D", "invalid_role_definition_id"),
        ("ok", "contoso.com", [HELPDESK_ADMIN], "P730D", "invalid_customer_tenant_id"),
        ("ok", None, [HELPDESK_ADMIN], "P731D", "duration_out_of_range"),
        ("ok", None, [HELPDESK_ADMIN], "P0D", "duration_out_of_range"),
        ("ok", None, [HELPDESK_ADMIN], "730 days", "bad_duration"),
        ("ok", None, [HELPDESK_ADMIN], "P", "bad_duration"),
    ],
)
async def test_invalid_requests_are_refused_before_sending(
    standin: StandIn,
    api_settings: PartnerCenterSettings,
    api_http: httpx.AsyncClient,
    name: str,
    tenant: str | None,
    roles: list[str],
    duration: str,
    reason: str,
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await _client(api_settings, api_http).create_relationship(name, tenant, roles, duration)
    assert caught.value.reason == reason
    assert standin.calls() == []


async def test_fifty_characters_are_allowed(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply("POST", PATH, Reply(201, {"id": RELATIONSHIP, "status": "created"}))
    await _client(api_settings, api_http).create_relationship("x" * 50, None, [HELPDESK_ADMIN])


async def test_graph_error_body_is_mapped(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply(
        "POST",
        PATH,
        Reply(
            400,
            {"error": {"code": "Request_BadRequest", "message": "displayName must be unique"}},
        ),
    )
    with pytest.raises(PartnerCenterError) as caught:
        await _client(api_settings, api_http).create_relationship("dup", None, [HELPDESK_ADMIN])
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        400,
        "Request_BadRequest",
        "displayName must be unique",
    )


def test_relationship_id_is_validated() -> None:
    with pytest.raises(InvalidRequest) as caught:
        approval_url("../../me")
    assert caught.value.reason == "invalid_relationship_id"


def test_approval_url() -> None:
    assert approval_url(RELATIONSHIP) == (
        "https://admin.microsoft.com/AdminPortal/Home#/partners/invitation/"
        f"granularAdminRelationships/{RELATIONSHIP}"
    )


@pytest.mark.parametrize(
    ("duration", "days"), [("P730D", 730), ("P2Y", 730), ("P1D", 1), ("P1Y6M", 545), ("P2W", 14)]
)
def test_duration_days(duration: str, days: int) -> None:
    assert duration_days(duration) == days
