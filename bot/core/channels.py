"""Is a notification channel one the bot can post in, with the token of the workspace that
will post there? Checked with Slack (`conversations.info`) when a channel is chosen, rather
than trusted: in Slack (the Home tab's settings modal, the set-up form) with the choosing
workspace's token, and by `mcbot partners import` for a channel another workspace hosts
(`notification_channel_host`) with that workspace's token.

What Slack says (docs/slack-app.md quotes it): `conversations.info` answers
`channel_not_found` for a channel the token's workspace cannot see; `is_member` says whether
the bot is in it; `is_ext_shared` marks a Slack Connect channel ("part of a Shared Channel
with a remote organization")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.installations import NotInstalled, Tokens, workspace_client

#: why a channel was refused (codes the templates word)
CHANNEL_NOT_FOUND = "channel_not_found"
NOT_IN_CHANNEL = "not_in_channel"
ARCHIVED = "channel_archived"
NOT_EXT_SHARED = "channel_not_shared"
MISSING_SCOPE = "missing_scope"  # installed before the app asked for channels:read
CHANNEL_ERROR = "channel_error"  # anything else Slack answered (rate limit, outage...)
HOST_NOT_INSTALLED = "host_not_installed"
SEVERAL_TEAMS = "channel_several_teams"  # shared with more than one other workspace


async def channel_problem(
    client: AsyncWebClient, channel: str, *, shared: bool = False
) -> str | None:
    """None when the bot, with `client`'s workspace token, sees `channel` (not archived) and
    is a member (and, with `shared`, the channel is a Slack Connect channel); else why not,
    one of the codes above."""
    found = await _info(client, channel)
    return found if isinstance(found, str) else _problem(found, shared=shared)


async def _info(client: AsyncWebClient, channel: str) -> dict[str, Any] | str:
    """The channel as `conversations.info` describes it to `client`'s workspace, or why not."""
    try:
        answer = await client.conversations_info(channel=channel)
    except SlackApiError as exc:
        error = exc.response.get("error")
        return error if error in (CHANNEL_NOT_FOUND, MISSING_SCOPE) else CHANNEL_ERROR
    found: dict[str, Any] = answer.get("channel") or {}
    return found


def _problem(found: dict[str, Any], *, shared: bool) -> str | None:
    if found.get("is_archived"):
        return ARCHIVED
    # A public channel is refused too, although `chat:write.public` would let the bot post
    # there: after a crash the outbox reads the channel's history to post each notification
    # once, which needs membership (docs/slack-app.md).
    if not found.get("is_member"):
        return NOT_IN_CHANNEL
    if shared and not found.get("is_ext_shared"):
        return NOT_EXT_SHARED
    return None


async def external_team(
    client: AsyncWebClient, channel: str, own_team: str
) -> tuple[str | None, str | None]:
    """(None, the other workspace's team id) when `channel` is a Slack Connect channel the
    bot is in, shared between `own_team` (`client`'s workspace) and exactly one other
    workspace; else (why not, None). Slack lists a shared channel's workspaces in
    `connected_team_ids`."""
    found = await _info(client, channel)
    if isinstance(found, str):
        return found, None
    problem = _problem(found, shared=True)
    if problem is not None:
        return problem, None
    others = sorted({str(t) for t in found.get("connected_team_ids") or []} - {own_team})
    if not others:
        return NOT_EXT_SHARED, None
    if len(others) > 1:
        return SEVERAL_TEAMS, None
    return None, others[0]


@dataclass(frozen=True)
class HostedChannel:
    """An organization's notification channel hosted by another workspace."""

    org: str
    channel: str
    host_team: str


async def hosted_channel_problems(
    tokens: Tokens, client: AsyncWebClient, hosted: list[HostedChannel]
) -> list[tuple[HostedChannel, str]]:
    """Each hosted channel the bot cannot post in with its host workspace's token, and why."""
    problems: list[tuple[HostedChannel, str]] = []
    for item in hosted:
        try:
            host_client = await workspace_client(tokens, client, item.host_team)
        except NotInstalled:
            problems.append((item, HOST_NOT_INSTALLED))
            continue
        problem = await channel_problem(host_client, item.channel, shared=True)
        if problem is not None:
            problems.append((item, problem))
    return problems
