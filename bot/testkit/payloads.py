"""Builders for the payloads Slack sends an app, in Slack's own shapes.

Interactivity payloads (`block_actions`, `view_submission`) and Events API events. Turn them
into request bodies with `bot.testkit.signing` (`interactivity_body`, `event_body`).
Every trigger_id and event_id is fresh unless given: Slack never repeats them.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

from bot.testkit.identity import (
    DEFAULT_APP_ID,
    DEFAULT_BOT_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    DEFAULT_USER_NAME,
)

VERIFICATION_TOKEN = "testkit-verification-token"  # deprecated by Slack; apps ignore it
_counter = itertools.count(1)


def new_trigger_id() -> str:
    return f"{next(_counter)}.{int(time.time())}.{secrets.token_hex(16)}"


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()


def new_ts() -> str:
    return f"{time.time():.6f}"


def hooks_url(kind: str, team_id: str = DEFAULT_TEAM_ID) -> str:
    """A response_url shaped like Slack's; use SlackStandIn.response_url() to receive it."""
    return f"https://hooks.slack.com/{kind}/{team_id}/{next(_counter)}/{secrets.token_hex(12)}"


def user_object(user_id: str, team_id: str, user_name: str | None = None) -> dict[str, str]:
    name = user_name or (DEFAULT_USER_NAME if user_id == DEFAULT_USER_ID else user_id.lower())
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def text_input(value: str | None) -> dict[str, Any]:
    """A `plain_text_input` element's entry in `state.values`."""
    return {"type": "plain_text_input", "value": value}


def static_select(value: str | None, text: str | None = None) -> dict[str, Any]:
    """A `static_select` element's entry in `state.values` (None: nothing selected)."""
    if value is None:
        return {"type": "static_select", "selected_option": None}
    option = {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
    return {"type": "static_select", "selected_option": option}


def _action(action_type: str, action_id: str, block_id: str, value: str) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": new_ts(),
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": value, "emoji": True}
        action["value"] = value
    elif action_type in ("static_select", "overflow", "radio_buttons"):
        action["selected_option"] = static_select(value)["selected_option"]
    else:
        action["value"] = value
    return action


def block_actions_payload(
    action_id: str,
    value: str,
    user_id: str = DEFAULT_USER_ID,
    team_id: str = DEFAULT_TEAM_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    message_ts: str | None = None,
    trigger_id: str | None = None,
    response_url: str | None = None,
    block_id: str = "actions",
    *,
    action_type: str = "button",
    message: dict[str, Any] | None = None,
    is_ephemeral: bool = False,
    view: dict[str, Any] | None = None,
    state_values: dict[str, Any] | None = None,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    api_app_id: str = DEFAULT_APP_ID,
    user_name: str | None = None,
    user_team_id: str | None = None,
) -> dict[str, Any]:
    """A click on a button (or a select choice) in a message, or in a view if `view` is given.

    `user_team_id`: the clicking user's own workspace when it differs from `team_id` (a Slack
    Connect channel hosted by `team_id`): `team.id` is the host's, `user.team_id` the actor's.

    In a message: `container.type` "message", `channel`, `message` (unless ephemeral) and
    `response_url`; `message_ts` defaults to a new ts. In a view (modal or App Home):
    `container.type` "view", the `view`, and no channel or response_url, as Slack sends.
    """
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_object(user_id, user_team_id or team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {},
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        view_id = str(view.get("id", ""))
        payload["container"] = {"type": "view", "view_id": view_id}
        payload["view"] = view
    else:
        ts = message_ts or (message or {}).get("ts") or new_ts()
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": channel_id, "name": channel_name}
        if not is_ephemeral:
            payload["message"] = message or bot_message(ts, team_id=team_id)
        payload["response_url"] = response_url or hooks_url("actions", team_id)
    payload["state"] = {"values": state_values or {}}
    payload["actions"] = [_action(action_type, action_id, block_id, value)]
    return payload


def bot_message(ts: str, text: str = "", team_id: str = DEFAULT_TEAM_ID) -> dict[str, Any]:
    """The `message` of a block_actions payload: a message the bot posted."""
    return {
        "type": "message",
        "user": DEFAULT_BOT_USER_ID,
        "bot_id": DEFAULT_BOT_ID,
        "app_id": DEFAULT_APP_ID,
        "text": text,
        "team": team_id,
        "ts": ts,
        "blocks": [],
    }


def view_submission_payload(
    callback_id: str,
    state_values: dict[str, Any],
    private_metadata: str = "",
    user_id: str = DEFAULT_USER_ID,
    team_id: str = DEFAULT_TEAM_ID,
    view_id: str = "V0MCVIEW01",
    *,
    trigger_id: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    title: str = "Multichannel",
    view_hash: str | None = None,
    external_id: str = "",
    root_view_id: str | None = None,
    previous_view_id: str | None = None,
    response_urls: list[dict[str, Any]] | None = None,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    api_app_id: str = DEFAULT_APP_ID,
    user_name: str | None = None,
) -> dict[str, Any]:
    """A modal submitted; `state_values` is `{block_id: {action_id: element_state}}`."""
    view = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": blocks or [],
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": state_values},
        "hash": view_hash or f"{int(time.time())}.{secrets.token_hex(4)}",
        "title": {"type": "plain_text", "text": title, "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "previous_view_id": previous_view_id,
        "root_view_id": root_view_id or view_id,
        "app_id": api_app_id,
        "external_id": external_id,
        "app_installed_team_id": team_id,
        "bot_id": DEFAULT_BOT_ID,
    }
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": user_object(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": view,
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def app_home_opened_event(
    user_id: str = DEFAULT_USER_ID,
    channel: str = "D0MCHOME01",
    tab: str = "home",
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `app_home_opened` event; `view` is present once a Home view was published."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel,
        "tab": tab,
        "event_ts": new_ts(),
    }
    if view is not None:
        event["view"] = view
    return event


def event_callback(
    event: dict[str, Any],
    team_id: str = DEFAULT_TEAM_ID,
    event_id: str | None = None,
    *,
    api_app_id: str = DEFAULT_APP_ID,
    event_time: int | None = None,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
) -> dict[str, Any]:
    """The Events API envelope around `event`."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }
