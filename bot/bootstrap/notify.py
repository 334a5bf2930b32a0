"""Wiring for `mcbot serve` (and the test harness): the webhook route, the optional Partner
Center / Graph clients, and the outbox worker, from settings."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from starlette.routing import Route

from bot.core.connections import legacy_tokens
from bot.core.outbox.options import NotifyOptions, WorkerOptions
from bot.core.outbox.worker import OutboxWorker
from bot.core.partner_center.client import PartnerCenterClient
from bot.core.partner_center.graph import GraphGdapClient
from bot.core.partner_center.settings import PartnerCenterSettings
from bot.core.partner_center.signature import WebhookVerifier
from bot.core.services import Services
from bot.http.webhooks import webhook_route

log = logging.getLogger(__name__)


def worker_client(token: str | None, base_url: str, *, timeout: int = 10) -> AsyncWebClient:
    """The worker's Slack client: no retry handlers at all (no RateLimitErrorRetryHandler:
    a 429 reschedules its row instead of sleeping; other failures are retried by the worker)."""
    return AsyncWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])


class Closing:
    """Closes HTTP clients at shutdown (a `Background` for the lifespan)."""

    def __init__(self, *clients: Any) -> None:
        self.clients = clients

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for client in self.clients:
            await client.aclose()


def notifications(
    services: Services,
    *,
    slack_token: str | None,
    slack_api_url: str,
    bot_settings: Any,
    partner_center: PartnerCenterSettings | None = None,
    verifier: WebhookVerifier | None = None,
    worker: bool | None = None,
) -> tuple[Route, list[Any]]:
    """The webhook route and the background jobs to run in the lifespan. Sets
    `services.notify`, `services.partner_center_settings` (every organization's connection),
    and `services.partner_center` / `services.graph` (the legacy settings' connection of
    PARTNER_ORG_KEY's organization) when they are configured (and none were given)."""
    settings = partner_center if partner_center is not None else PartnerCenterSettings()
    services.notify = NotifyOptions.from_settings(bot_settings)
    services.partner_center_settings = settings
    background: list[Any] = []
    owned: list[Any] = []
    if settings.configured and (services.partner_center is None or services.graph is None):
        import httpx

        http = httpx.AsyncClient()
        owned.append(http)
        tokens = legacy_tokens(services, settings, http)
        if services.partner_center is None:
            services.partner_center = PartnerCenterClient(settings, http, tokens=tokens)
        if services.graph is None:
            services.graph = GraphGdapClient(settings, http, tokens=tokens)
        log.info("Partner Center and Microsoft Graph credentials configured")
    if verifier is None:
        verifier = WebhookVerifier(settings)
        owned.append(verifier)
    if bot_settings.outbox_worker if worker is None else worker:
        background.append(
            OutboxWorker(
                services,
                worker_client(slack_token, slack_api_url),
                WorkerOptions.from_settings(bot_settings),
            )
        )
    background.insert(0, Closing(*owned))  # stopped last
    return webhook_route(services, verifier, settings), background
