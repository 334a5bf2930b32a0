"""Show a message privately to one user, by the best route available."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)


class DeliveryError(RuntimeError):
    """Slack refused the message (the response names why)."""


async def tell_user(
    client: AsyncWebClient,
    message: dict[str, Any],
    *,
    user: str | None,
    channel: str | None = None,
    response_url: str | None = None,
) -> None:
    """Through the response_url when there is one (it works in any channel, even where the bot
    is not a member), else ephemeral in the channel, else a DM from the bot."""
    if response_url:
        result = await AsyncWebhookClient(response_url, timeout=10).send_dict(message)
        if result.status_code != 200:
            raise DeliveryError(f"response_url answered {result.status_code}: {result.body}")
        return
    text, blocks = message["text"], message.get("blocks")
    if user and channel and not channel.startswith("D"):
        await client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
        return
    if user:
        dm = await client.conversations_open(users=user)
        await client.chat_postMessage(channel=dm["channel"]["id"], text=text, blocks=blocks)
        return
    raise DeliveryError("no user, channel or response_url to deliver to")


def route_from_body(body: dict[str, Any]) -> dict[str, str | None]:
    """user / channel / response_url of a command, action or view payload."""
    return {
        "user": body.get("user_id") or (body.get("user") or {}).get("id"),
        "channel": body.get("channel_id") or (body.get("channel") or {}).get("id"),
        "response_url": body.get("response_url"),
    }


async def reply(client: AsyncWebClient, body: dict[str, Any], message: dict[str, Any]) -> None:
    """Answer the user behind an action or view payload privately: through its response_url
    when it has one (a message), else in a DM (a click in the Home tab or a modal has none)."""
    await tell_user(client, message, **route_from_body(body))
