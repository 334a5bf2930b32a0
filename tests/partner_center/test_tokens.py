from __future__ import annotations

import time

import httpx
import pytest

from bot.core.partner_center.errors import (
    ConnectionExpired,
    PartnerCenterError,
    PartnerCenterNotConfigured,
)
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.partner_center.tokens import StoredToken, TokenProvider

from .standin import TOKEN_PATH, Reply, StandIn


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_partner_center_token_uses_the_refresh_token_grant(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    tokens = TokenProvider(api_settings, api_http)
    assert await tokens.partner_center_token() == "token-1"
    (call,) = standin.calls("POST", TOKEN_PATH)
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.form() == {
        "grant_type": "refresh_token",
        "client_id": "client-id",
        "client_secret": "client-secret",
        "refresh_token": "refresh-0",
        "scope": "https://api.partnercenter.microsoft.com/.default offline_access",
    }


async def test_graph_token_uses_client_credentials(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    tokens = TokenProvider(api_settings, api_http)
    assert await tokens.graph_token() == "token-1"
    assert standin.calls("POST", TOKEN_PATH)[0].form() == {
        "grant_type": "client_credentials",
        "client_id": "client-id",
        "client_secret": "client-secret",
        "scope": "https://graph.microsoft.com/.default",
    }


async def test_v1_endpoint_gets_a_resource(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    path = TOKEN_PATH.replace("/v2.0", "")
    settings = api_settings.model_copy(
        update={"azure_ad_token_url": f"{standin.origin}/{{tenant}}/oauth2/token"}
    )
    standin.reply("POST", path, Reply(body={"access_token": "v1", "expires_in": "3599"}))
    assert await TokenProvider(settings, api_http).partner_center_token() == "v1"
    assert standin.calls("POST", path)[0].form()["resource"] == (
        "https://api.partnercenter.microsoft.com"
    )


async def test_tokens_are_cached_per_audience_until_shortly_before_expiry(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    clock = Clock()
    tokens = TokenProvider(api_settings, api_http, clock=clock)
    assert await tokens.partner_center_token() == "token-1"
    assert await tokens.partner_center_token() == "token-1"
    assert await tokens.graph_token() == "token-2"
    assert await tokens.graph_token() == "token-2"
    clock.now += 3600 - 301
    assert await tokens.partner_center_token() == "token-1"
    clock.now += 2  # inside the 5-minute margin
    assert await tokens.partner_center_token() == "token-3"
    assert len(standin.calls("POST", TOKEN_PATH)) == 3


async def test_rotated_refresh_token_is_used_in_memory_without_a_store(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    clock = Clock()
    standin.rotate_refresh_token = True
    tokens = TokenProvider(api_settings, api_http, clock=clock)
    await tokens.partner_center_token()
    clock.now += 3600
    await tokens.partner_center_token()
    forms = [call.form() for call in standin.calls("POST", TOKEN_PATH)]
    assert [form["refresh_token"] for form in forms] == ["refresh-0", "refresh-1"]


class MemoryStore:
    """A RefreshTokenStore in a list: every version written, and refusals."""

    def __init__(self, token: str) -> None:
        self.versions = [token]
        self.refusals: list[tuple[str, int]] = []

    async def load(self) -> StoredToken | None:
        return StoredToken(self.versions[-1], len(self.versions))

    async def rotated(self, token: str, seen_version: int) -> bool:
        if seen_version != len(self.versions):
            return False
        self.versions.append(token)
        return True

    async def refused(self, reason: str, seen_version: int) -> None:
        self.refusals.append((reason, seen_version))


async def test_a_store_gets_each_rotated_token_before_it_is_used_and_an_invalid_grant(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    clock = Clock()
    standin.rotate_refresh_token = True
    store = MemoryStore("refresh-0")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    tokens = TokenProvider(api_settings, api_http, clock=clock, store=store, sleep=sleep)
    await tokens.partner_center_token()
    clock.now += 3600
    await tokens.partner_center_token()
    forms = [call.form() for call in standin.calls("POST", TOKEN_PATH)]
    assert [form["refresh_token"] for form in forms] == ["refresh-0", "refresh-1"]
    assert store.versions == ["refresh-0", "refresh-1", "refresh-2"]
    standin.reply(
        "POST",
        TOKEN_PATH,
        Reply(400, {"error": "invalid_grant", "error_description": "AADSTS70008: expired"}),
    )
    clock.now += 3600
    with pytest.raises(ConnectionExpired) as caught:
        await tokens.partner_center_token()
    assert store.refusals == [("invalid_grant: AADSTS70008: expired", 3)]
    assert len(waits) == 4  # the store was read again before the refusal was taken as final
    assert "refresh-" not in str(caught.value)


async def test_token_errors_are_mapped(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply(
        "POST",
        TOKEN_PATH,
        Reply(400, {"error": "invalid_grant", "error_description": "AADSTS70008: expired"}),
    )
    with pytest.raises(PartnerCenterError) as caught:
        await TokenProvider(api_settings, api_http).partner_center_token()
    assert (caught.value.status, caught.value.code) == (400, "invalid_grant")
    assert "AADSTS70008" in caught.value.message


async def test_response_without_token_is_an_error(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    standin.reply("POST", TOKEN_PATH, Reply(body={"expires_in": 3600}))
    with pytest.raises(PartnerCenterError) as caught:
        await TokenProvider(api_settings, api_http).graph_token()
    assert caught.value.code == "bad_token_response"


async def test_missing_refresh_token_is_reported_without_a_request(
    standin: StandIn, api_settings: PartnerCenterSettings, api_http: httpx.AsyncClient
) -> None:
    settings = api_settings.model_copy(update={"partner_center_refresh_token": None})
    with pytest.raises(PartnerCenterNotConfigured) as caught:
        await TokenProvider(settings, api_http).partner_center_token()
    assert caught.value.code == "not_configured"
    assert "PARTNER_CENTER_REFRESH_TOKEN" in caught.value.message
    assert standin.calls() == []
