from __future__ import annotations

import socket
import uuid

import httpx
import pytest

from bot.core.partner_center.client import PartnerCenterClient
from bot.core.partner_center.errors import (
    InvalidRequest,
    PartnerCenterError,
    PartnerCenterTimeout,
    PartnerCenterUnreachable,
)
from bot.core.partner_center.events import SUBSCRIBED_EVENTS
from bot.core.partner_center.settings import PartnerCenterSettings

from .standin import TOKEN_PATH, Reply, StandIn

CUSTOMER = "4b2a6e33-8791-4386-bd2b-0d55baf25039"
INVITE = (
    "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship"
    "&partnerId=11111111-2222-3333-4444-555555555555&msppId=0&DAP=false"
    "#/BillingAccounts/partner-invitation"
)


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _client(
    settings: PartnerCenterSettings, http: httpx.AsyncClient, sleeps: Sleeps | None = None
) -> PartnerCenterClient:
    return PartnerCenterClient(settings, http, sleep=sleeps or Sleeps())


async def test_relationship_request_url(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply(
        "GET",
        "/pc/v1/customers/relationshiprequests",
        Reply(body={"url": INVITE, "attributes": {"objectType": "RelationshipRequest"}}),
    )
    assert await _client(api_settings, api_http).relationship_request_url() == INVITE
    (call,) = standin.calls("GET", "/pc/v1/customers/relationshiprequests")
    assert call.headers["authorization"] == "Bearer token-1"
    assert call.headers["accept"] == "application/json"
    uuid.UUID(call.headers["ms-requestid"])
    assert standin.calls("POST", TOKEN_PATH)[0].form()["grant_type"] == "refresh_token"


async def test_relationship_request_without_url_is_an_error(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply("GET", "/pc/v1/customers/relationshiprequests", Reply(body={"url": None}))
    with pytest.raises(PartnerCenterError) as caught:
        await _client(api_settings, api_http).relationship_request_url()
    assert caught.value.code == "bad_response"


async def test_token_is_reused_across_calls(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply("GET", f"/pc/v1/customers/{CUSTOMER}", Reply(body={"id": CUSTOMER}), times=3)
    client = _client(api_settings, api_http)
    for _ in range(3):
        await client.get_customer(CUSTOMER)
    assert len(standin.calls("POST", TOKEN_PATH)) == 1
    assert {c.headers["authorization"] for c in standin.calls("GET")} == {"Bearer token-1"}


async def test_get_customer(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply(
        "GET",
        f"/pc/v1/customers/{CUSTOMER}",
        Reply(
            body={
                "id": CUSTOMER,
                "companyProfile": {"companyName": "Contoso", "domain": "contoso.onmicrosoft.com"},
            }
        ),
    )
    customer = await _client(api_settings, api_http).get_customer(CUSTOMER.upper())
    assert (customer.id, customer.company_name, customer.domain) == (
        CUSTOMER,
        "Contoso",
        "contoso.onmicrosoft.com",
    )


async def test_customer_id_is_validated_before_any_request(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await _client(api_settings, api_http).get_customer("../webhooks/v1/registration")
    assert caught.value.reason == "invalid_customer_id"
    assert standin.calls() == []


async def test_indirect_resellers_of_customer(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    item = {
        "id": "r-1",
        "name": "Fabrikam",
        "relationshipType": "is_indirect_cloud_solution_provider_of",
        "mpnId": 4847383,
        "state": "Active",
    }
    other = {"id": "x", "relationshipType": "is_direct_partner_of"}
    standin.reply(
        "GET",
        f"/pc/v1/customers/{CUSTOMER}/relationships",
        Reply(body={"totalCount": 2, "items": [item, other, "junk"]}),
    )
    (reseller,) = await _client(api_settings, api_http).indirect_resellers_of_customer(CUSTOMER)
    assert (reseller.id, reseller.name, reseller.mpn_id, reseller.state) == (
        "r-1",
        "Fabrikam",
        "4847383",
        "Active",
    )


async def test_register_webhook(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    answer = {"SubscriberId": "s", "WebhookUrl": "https://bot.example/pc", "WebhookEvents": []}
    standin.reply("POST", "/pc/webhooks/v1/registration", Reply(body=answer))
    result = await _client(api_settings, api_http).register_webhook(
        "https://bot.example/pc", SUBSCRIBED_EVENTS
    )
    assert result == answer
    (call,) = standin.calls("POST", "/pc/webhooks/v1/registration")
    assert call.json() == {
        "WebhookUrl": "https://bot.example/pc",
        "WebhookEvents": list(SUBSCRIBED_EVENTS),
    }
    assert standin.calls("PUT") == []


@pytest.mark.parametrize(
    "refusal",
    [
        Reply(409, {"code": 409, "description": "Conflict"}),
        Reply(400, {"code": 2100, "description": "Webhook is already registered."}),
    ],
)
async def test_register_webhook_updates_an_existing_registration(
    standin: StandIn,
    api_settings: PartnerCenterSettings,
    api_http: httpx.AsyncClient,
    refusal: Reply,
) -> None:
    standin.reply("POST", "/pc/webhooks/v1/registration", refusal)
    standin.reply("PUT", "/pc/webhooks/v1/registration", Reply(body={"updated": True}))
    result = await _client(api_settings, api_http).register_webhook(
        "https://bot.example/pc", ["test-created"]
    )
    assert result == {"updated": True}
    (put,) = standin.calls("PUT", "/pc/webhooks/v1/registration")
    assert put.json()["WebhookEvents"] == ["test-created"]


async def test_register_webhook_other_400_is_raised(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply(
        "POST",
        "/pc/webhooks/v1/registration",
        Reply(400, {"code": 2001, "description": "Invalid event name"}),
    )
    with pytest.raises(PartnerCenterError) as caught:
        await _client(api_settings, api_http).register_webhook("https://bot.example/pc", ["x"])
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        400,
        "2001",
        "Invalid event name",
    )
    assert standin.calls("PUT") == []


async def test_register_webhook_refuses_http(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await _client(api_settings, api_http).register_webhook("http://bot.example/pc", ["x"])
    assert caught.value.reason == "webhook_url_not_https"


async def test_429_retried_once_after_retry_after(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    path = f"/pc/v1/customers/{CUSTOMER}"
    standin.reply("GET", path, Reply(429, {"code": 429}, {"Retry-After": "7"}))
    standin.reply("GET", path, Reply(body={"id": CUSTOMER}))
    sleeps = Sleeps()
    assert (await _client(api_settings, api_http, sleeps).get_customer(CUSTOMER)).id == CUSTOMER
    assert sleeps.calls == [7.0]
    assert len(standin.calls("GET", path)) == 2


async def test_second_429_is_raised(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    path = f"/pc/v1/customers/{CUSTOMER}"
    standin.reply("GET", path, Reply(429, {"code": 429, "description": "slow down"}), times=3)
    sleeps = Sleeps()
    with pytest.raises(PartnerCenterError) as caught:
        await _client(api_settings, api_http, sleeps).get_customer(CUSTOMER)
    assert caught.value.status == 429
    assert len(sleeps.calls) == 1 and len(standin.calls("GET", path)) == 2


async def test_long_retry_after_is_not_waited(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    path = f"/pc/v1/customers/{CUSTOMER}"
    standin.reply("GET", path, Reply(429, {"code": 429}, {"Retry-After": "3600"}))
    sleeps = Sleeps()
    with pytest.raises(PartnerCenterError) as caught:
        await _client(api_settings, api_http, sleeps).get_customer(CUSTOMER)
    assert caught.value.status == 429 and sleeps.calls == []


async def test_timeout_is_a_clear_error(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    settings = api_settings.model_copy(update={"partner_center_timeout": 0.2})
    standin.reply("GET", f"/pc/v1/customers/{CUSTOMER}", Reply(body={}, delay=1.0))
    with pytest.raises(PartnerCenterTimeout) as caught:
        await _client(settings, api_http).get_customer(CUSTOMER)
    assert (caught.value.status, caught.value.code) == (0, "timeout")


async def test_unreachable_is_a_clear_error(
    api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = api_settings.model_copy(
        update={"azure_ad_token_url": f"http://127.0.0.1:{port}/{{tenant}}/oauth2/v2.0/token"}
    )
    with pytest.raises(PartnerCenterUnreachable) as caught:
        await _client(settings, api_http).get_customer(CUSTOMER)
    assert caught.value.code == "unreachable"


async def test_401_drops_the_cached_token(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    path = f"/pc/v1/customers/{CUSTOMER}"
    standin.reply("GET", path, Reply(401, {"code": 401, "description": "token expired"}))
    standin.reply("GET", path, Reply(body={"id": CUSTOMER}))
    client = _client(api_settings, api_http)
    with pytest.raises(PartnerCenterError) as caught:
        await client.get_customer(CUSTOMER)
    assert caught.value.status == 401
    await client.get_customer(CUSTOMER)
    assert [c.headers["authorization"] for c in standin.calls("GET", path)] == [
        "Bearer token-1",
        "Bearer token-2",
    ]


async def test_error_body_without_microsoft_shape(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply("GET", f"/pc/v1/customers/{CUSTOMER}", Reply(503, "Service Unavailable"))
    with pytest.raises(PartnerCenterError) as caught:
        await _client(api_settings, api_http).get_customer(CUSTOMER)
    assert (caught.value.status, caught.value.code) == (503, "http_503")
