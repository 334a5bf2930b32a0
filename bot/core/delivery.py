"""Show a message privately to one user, by the best route available."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)


#: Where Slack's response_urls point (commercial and GovSlack). Anything else in a payload or in
#: metadata is not Slack's, and is never called.
SLACK_RESPONSE_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})


class DeliveryError(RuntimeError):
    """Slack refused the message (the response names why)."""


def is_slack_response_url(url: str, extra_hosts: frozenset[str] = frozenset()) -> bool:
    """An https URL on Slack's response hosts; `extra_hosts` (host:port) adds a local stand-in
    (http allowed there: tests run on loopback)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.lower()
    except ValueError:
        return False
    if parts.username or parts.password or len(url) > 2000:
        return False
    if parts.scheme == "https" and parts.hostname in SLACK_RESPONSE_HOSTS and parts.port is None:
        return True
    return netloc in extra_hosts and parts.scheme in ("http", "https")


@lru_cache(maxsize=16)
def stand_in_hosts(api_url: str) -> frozenset[str]:
    """The host:port of a Slack Web API base URL that is not Slack's (a local stand-in): its
    response_urls are accepted too. Slack's own base URL adds nothing."""
    parts = urlsplit(api_url)
    if (
        parts.hostname is None
        or parts.hostname == "slack.com"
        or parts.hostname.endswith(".slack.com")
    ):
        return frozenset()
    return frozenset({parts.netloc.lower()})


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
    if response_url and not is_slack_response_url(response_url, stand_in_hosts(client.base_url)):
        log.warning("not calling a response_url that is not Slack's: %.80r", response_url)
        response_url = None
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
    """user / channel / response_url of a command, action or view payload (a field of another
    type than Slack's counts as absent)."""
    user, channel = body.get("user"), body.get("channel")
    found = {
        "user": body.get("user_id") or (user.get("id") if isinstance(user, dict) else None),
        "channel": body.get("channel_id")
        or (channel.get("id") if isinstance(channel, dict) else None),
        "response_url": body.get("response_url"),
    }
    return {k: v if isinstance(v, str) else None for k, v in found.items()}


async def reply(client: AsyncWebClient, body: dict[str, Any], message: dict[str, Any]) -> None:
    """Answer the user behind an action or view payload privately: through its response_url
    when it has one (a message), else in a DM (a click in the Home tab or a modal has none)."""
    await tell_user(client, message, **route_from_body(body))
