"""Events API."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.home import publish_home
from bot.core.services import Services


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_home_opened")
    async def home_opened(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if event.get("tab") != "home":
            return
        team_id = body.get("team_id") or (event.get("view") or {}).get("team_id") or ""
        # Acknowledged first: the Home is read and published after the answer to Slack.
        services.spawn(publish_home(services, client, event["user"], team_id), what="the Home tab")
