from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.partner_center.signature import WebhookVerifier
from bot.testkit.partner_center import WebhookSigner

from .standin import TENANT, StandIn


@pytest.fixture(scope="session")
def signer() -> Iterator[WebhookSigner]:
    with WebhookSigner() as instance:
        yield instance


@pytest.fixture
def webhook_settings(signer: WebhookSigner) -> PartnerCenterSettings:
    return PartnerCenterSettings(_env_file=None, **signer.settings_overrides())


@pytest.fixture
async def cert_http(signer: WebhookSigner) -> AsyncIterator[httpx.AsyncClient]:
    async with signer.http_client() as client:
        yield client


@pytest.fixture
def verifier(
    webhook_settings: PartnerCenterSettings, cert_http: httpx.AsyncClient
) -> WebhookVerifier:
    return WebhookVerifier(webhook_settings, http=cert_http)


@pytest.fixture(scope="session")
def standin_server() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.close()


@pytest.fixture
def standin(standin_server: StandIn) -> StandIn:
    standin_server.reset()
    return standin_server


@pytest.fixture
def api_settings(standin: StandIn) -> PartnerCenterSettings:
    return PartnerCenterSettings(
        _env_file=None,
        partner_center_api_url=f"{standin.origin}/pc",
        graph_api_url=f"{standin.origin}/graph",
        azure_ad_token_url=f"{standin.origin}/{{tenant}}/oauth2/v2.0/token",
        partner_tenant_id=TENANT,
        partner_center_client_id="client-id",
        partner_center_client_secret="client-secret",
        partner_center_refresh_token="refresh-0",
        partner_center_timeout=2.0,
    )


@pytest.fixture
async def api_http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
