"""A directory admin's Partner Center buttons in the Home tab: "Connect Partner Center" (a
one-time sign-in link to Microsoft Entra ID, bot/core/pc_connect.py) and "Register webhook"
(bot/core/webhook_registration.py). Permission is checked server-side on every click."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import pc_connect
from bot.core.delivery import tell_user
from bot.core.org_admin import AdminRefused, admin_org
from bot.core.partner_center.errors import InvalidRequest, PartnerCenterError
from bot.core.services import Services
from bot.core.ui import surfaces
from bot.core.webhook_registration import register_org_webhook
from bot.slack.listeners import actor


def register(app: AsyncApp, services: Services) -> None:
    @app.action("pc_connect")
    async def connect(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)
        try:
            started = await pc_connect.start(services, team_id=team_id, user_id=user_id)
        except (AdminRefused, pc_connect.ConnectRefused) as refused:
            await tell_user(client, surfaces.notice_message(refused.code, lang=lang), user=user_id)
            return
        message = surfaces.pc_connect_message(url=started.url, org=started.org, lang=lang)
        await tell_user(client, message, user=user_id)

    @app.action("pc_connect_open")
    async def link_opened(ack: AsyncAck) -> None:
        await ack()  # a link button: the browser opens the URL, nothing to do here

    @app.action("pc_register_webhook")
    async def register_webhook(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user_id, team_id, client, lang = await actor(services, body, client)

        def tell(code: str, **params: str) -> Any:
            notice = surfaces.notice_message(code, lang=lang, **params)
            return tell_user(client, notice, user=user_id)

        try:
            org_id = await services.run(lambda s: admin_org(s, team_id, user_id).id)
        except AdminRefused as refused:
            await tell(refused.code)
            return
        settings = services.partner_center_settings
        base = settings.public_base_url if settings is not None else None
        if not base or not base.startswith("https://"):
            await tell("webhook_no_public_url")
            return
        try:
            done = await register_org_webhook(services, org_id, base)
        except (PartnerCenterError, InvalidRequest) as exc:
            await tell("webhook_refused", reason=str(exc)[:300])
            return
        if done.outcome == "no_connection":
            await tell("webhook_no_connection", org=done.name, key=done.key)
            return
        await tell("webhook_registered", org=done.name, url=done.url)
