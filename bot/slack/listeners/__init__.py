"""Listeners, one module per kind (commands, actions, views, events), each with register(app).

Thin by rule: acknowledge, parse into a typed command, ask the policy or a service, render a
surface (bot/core/ui/surfaces.py), answer. Nothing here decides policy or words a sentence."""

import logging
from collections.abc import Awaitable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.core.delivery import route_from_body, tell_user
from bot.core.installations import NotInstalled, workspace_client
from bot.core.services import Services

log = logging.getLogger(__name__)


def user_and_team(body: dict[str, Any]) -> tuple[str, str]:
    """The acting user's id and the acting user's own Slack team id, from an action, view or
    command payload.

    Slack Connect: in a channel shared by two workspaces, an interaction payload's `team.id` is
    the workspace the bot was reached through (the channel's host), while `user.team_id` is the
    workspace of the person who clicked. Attribution and permission follow the person, so
    `user.team_id` comes first; `team_id` (slash commands, which carry no user object) and
    `team.id` are the fall-backs when the payload has no user team."""
    user = body.get("user") or {}
    user_id = body.get("user_id") or user.get("id") or ""
    team_id = (
        user.get("team_id")
        or body.get("user_team_id")
        or body.get("team_id")
        or (body.get("team") or {}).get("id")
    )
    return str(user_id), str(team_id or "")


async def save_after_answer(
    client: AsyncWebClient,
    payload: dict[str, Any],
    save: Awaitable[None],
    *,
    what: str,
    failed: dict[str, Any],
) -> None:
    """Save a choice the user was already answered about (answered first, so that the answer
    never waits on the database's write lock); if the database refuses it, tell the user
    (`failed`, a notice) so that a choice that was not saved never passes for one that was."""
    try:
        await save
    except SQLAlchemyError as exc:
        log.warning("%s was not saved: %s", what, exc.__class__.__name__)
        await tell_user(client, failed, **route_from_body(payload))


async def own_client(services: Services, client: AsyncWebClient, team_id: str) -> AsyncWebClient:
    """The client of the acting user's own workspace (Slack Connect: not the channel's)."""
    try:
        return await workspace_client(services.tokens, client, team_id)
    except NotInstalled:
        return client


async def actor(
    services: Services, body: dict[str, Any], client: AsyncWebClient
) -> tuple[str, str, AsyncWebClient, str]:
    """(user id, the user's own team id, that workspace's client, the user's language) of the
    person acting in `body`: what a listener that answers that person privately needs."""
    user_id, team_id = user_and_team(body)
    client = await own_client(services, client, team_id)
    return user_id, team_id, client, await services.language.for_user(client, user_id, team_id)
