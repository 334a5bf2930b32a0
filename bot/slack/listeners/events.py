"""Events API."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.home import publish_home
from bot.core.services import Services

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    tokens = services.tokens
    if tokens is not None and tokens.installations is not None:
        _register_uninstall(app, services, tokens.installations)

    @app.event("app_home_opened")
    async def home_opened(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if event.get("tab") != "home":
            return
        team_id = body.get("team_id") or (event.get("view") or {}).get("team_id") or ""
        # Acknowledged first: the Home is read and published after the answer to Slack.
        services.spawn(publish_home(services, client, event["user"], team_id), what="the Home tab")


def _register_uninstall(app: AsyncApp, services: Services, installations: Any) -> None:
    """Distributed mode: `app_uninstalled` / `tokens_revoked` remove the workspace's
    installation (Bolt's own handlers) and park its pending notifications, with the reason,
    until it installs the app again (bot/slack/oauth.py resumes them)."""
    from slack_bolt.context.async_context import AsyncBoltContext
    from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners

    from bot.core.outbox.queue import park_workspace, uninstalled_reason

    revocation = AsyncTokenRevocationListeners(installations)

    async def park(team_id: str | None, enterprise_id: str | None) -> None:
        if not team_id:
            return
        name = await _team_name(services, team_id)
        reason = uninstalled_reason(name)
        parked = await services.run(
            lambda session: park_workspace(session, team_id, reason, enterprise_id=enterprise_id)
        )
        log.warning(
            "the app was uninstalled from Slack workspace %s: %d pending notification(s) parked",
            team_id,
            parked,
        )

    @app.event("app_uninstalled")
    async def app_uninstalled(context: AsyncBoltContext) -> None:
        await revocation.handle_app_uninstalled_events(context)
        await park(context.team_id, context.enterprise_id)

    @app.event("tokens_revoked")
    async def tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        await revocation.handle_tokens_revoked_events(event, context)
        if (event.get("tokens") or {}).get("bot"):
            await park(context.team_id, context.enterprise_id)


async def _team_name(services: Services, team_id: str) -> str:
    """The workspace as people know it: its organization's name and the team id."""
    from bot.core.store.directory import org_for_team

    def load(session: Any) -> str:
        org = org_for_team(session, team_id)
        return f"{org.name} ({team_id})" if org is not None else team_id

    return await services.run(load)
