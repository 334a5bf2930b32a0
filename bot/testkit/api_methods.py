"""What each Web API method answers: argument checks as Slack makes them, then a realistic body.

A handler takes the workspace and the decoded params and returns the body without `ok`;
it raises SlackError for `{"ok": false, "error": ...}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.testkit.workspace import SlackError, Workspace

Handler = Callable[[Workspace, dict[str, Any]], dict[str, Any]]

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
MESSAGE_TEXT_LIMIT = 40_000
PRIVATE_METADATA_LIMIT = 3000
ID_LIMIT = 255
MAX_CONVERSATION_USERS = 8


def is_true(value: Any) -> bool:
    return value is True or value == 1 or str(value).lower() in ("1", "true")


def _required(params: dict[str, Any], name: str, error: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise SlackError(error)
    return str(value)


def check_blocks(blocks: Any, limit: int, error: str) -> None:
    if blocks is None:
        return
    if not isinstance(blocks, list) or len(blocks) > limit:
        raise SlackError(error)
    block_ids: set[str] = set()
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise SlackError(error)
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > ID_LIMIT or block_id in block_ids:
                raise SlackError(error)
            block_ids.add(block_id)


def _has_content(params: dict[str, Any]) -> bool:
    return any(params.get(k) not in (None, "", []) for k in ("text", "blocks", "attachments"))


def _message_fields(params: dict[str, Any]) -> dict[str, Any]:
    text = str(params.get("text") or "")
    if len(text) > MESSAGE_TEXT_LIMIT:
        raise SlackError("msg_too_long")
    check_blocks(params.get("blocks"), MESSAGE_BLOCK_LIMIT, "invalid_blocks")
    fields: dict[str, Any] = {"text": text}
    for key in ("blocks", "attachments", "metadata"):
        if params.get(key) not in (None, ""):
            fields[key] = params[key]
    return fields


# chat ---------------------------------------------------------------------


def _visible(ws: Workspace, params: dict[str, Any]) -> Any:
    """The channel, as the bot sees it: a private channel it was not invited to does not exist
    for it (Slack answers `channel_not_found`, not `not_in_channel`)."""
    channel = ws.channel(_required(params, "channel", "channel_not_found"))
    if channel.is_private and not channel.is_member and channel.dm_user is None:
        raise SlackError("channel_not_found")
    return channel


def chat_post_message(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = _visible(ws, params)
    if channel.is_archived:
        raise SlackError("is_archived")
    if not channel.is_member:
        raise SlackError("not_in_channel")
    if not _has_content(params):
        raise SlackError("no_text")
    message: dict[str, Any] = {
        "type": "message",
        "user": ws.team.bot_user_id,
        "bot_id": ws.team.bot_id,
        "app_id": ws.team.app_id,
        "team": ws.team.id,
        **_message_fields(params),
    }
    if params.get("thread_ts"):
        message["thread_ts"] = str(params["thread_ts"])
    posted = ws.post(channel.id, message)
    return {"channel": channel.id, "ts": posted["ts"], "message": posted}


def chat_post_ephemeral(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = _visible(ws, params)
    ws.user(_required(params, "user", "user_not_found"))
    if channel.is_archived:
        raise SlackError("is_archived")
    if not _has_content(params):
        raise SlackError("no_text")
    _message_fields(params)
    return {"message_ts": ws.next_ts()}


def chat_update(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = _visible(ws, params)
    ts = _required(params, "ts", "message_not_found")
    if not _has_content(params):
        raise SlackError("no_text")
    updated = ws.update(channel.id, ts, _message_fields(params))
    return {"channel": channel.id, "ts": ts, "text": updated.get("text", ""), "message": updated}


def chat_get_permalink(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = ws.channel(_required(params, "channel", "channel_not_found"))
    ts = _required(params, "message_ts", "message_not_found")
    permalink = f"{ws.team.url}archives/{channel.id}/p{ts.replace('.', '')}"
    return {"channel": channel.id, "permalink": permalink}


# views --------------------------------------------------------------------


def _view(params: dict[str, Any], view_type: str) -> dict[str, Any]:
    view = params.get("view")
    if not isinstance(view, dict) or view.get("type") != view_type:
        raise SlackError("invalid_arguments")
    check_blocks(view.get("blocks", []), VIEW_BLOCK_LIMIT, "invalid_arguments")
    if len(str(view.get("private_metadata", ""))) > PRIVATE_METADATA_LIMIT:
        raise SlackError("invalid_arguments")
    if len(str(view.get("callback_id", ""))) > ID_LIMIT:
        raise SlackError("invalid_arguments")
    if view_type == "modal" and not isinstance(view.get("title"), dict):
        raise SlackError("invalid_arguments")
    return view


def _check_hash(params: dict[str, Any], current: dict[str, Any] | None) -> None:
    expected = params.get("hash")
    if expected and current is not None and current.get("hash") != expected:
        raise SlackError("hash_conflict")


def views_open(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    ws.exchange_trigger(_required(params, "trigger_id", "invalid_arguments"))
    return {"view": ws.save_view(None, _view(params, "modal"))}


def views_push(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    ws.exchange_trigger(_required(params, "trigger_id", "invalid_arguments"))
    return {"view": ws.save_view(None, _view(params, "modal"))}


def views_update(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    view = _view(params, "modal")
    view_id = params.get("view_id") or None
    external_id = params.get("external_id") or None
    if view_id is None and external_id is None:
        raise SlackError("invalid_arguments")
    current = ws.view(str(view_id)) if view_id else ws.view_by_external_id(str(external_id))
    if view_id is None and current is None:
        raise SlackError("not_found")
    _check_hash(params, current)
    target_id = str(view_id) if view_id else str(current["id"] if current else "")
    return {"view": ws.save_view(target_id, view)}


def views_publish(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    user = ws.user(_required(params, "user_id", "invalid_arguments"))
    view = _view(params, "home")
    view_id = ws.home_view_id(user.id)
    _check_hash(params, ws.view(view_id))
    return {"view": ws.save_view(view_id, view)}


# users and conversations --------------------------------------------------


def users_info(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    user = ws.user(_required(params, "user", "user_not_found"))
    return {"user": user.to_api(include_locale=is_true(params.get("include_locale")))}


def conversations_open(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("channel"):
        channel = ws.channel(str(params["channel"]))
        body: dict[str, Any] = {"no_op": True, "already_open": True}
    else:
        raw = params.get("users")
        listed = raw if isinstance(raw, list) else str(raw or "").split(",")
        users = [str(u).strip() for u in listed if str(u).strip()]
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > MAX_CONVERSATION_USERS:
            raise SlackError("too_many_users")
        for user_id in users:
            ws.user(user_id)
        channel_id, existed = ws.open_dm(users)
        channel = ws.channel(channel_id)
        body = {"no_op": existed, "already_open": existed}
    if is_true(params.get("return_im")):
        body["channel"] = channel.to_api(include_locale=False)
    else:
        body["channel"] = {"id": channel.id}
    return body


def conversations_info(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    channel = _visible(ws, params)
    return {"channel": channel.to_api(include_locale=is_true(params.get("include_locale")))}


# auth ---------------------------------------------------------------------


def auth_test(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": ws.team.url,
        "team": ws.team.name,
        "user": ws.team.bot_name,
        "team_id": ws.team.id,
        "user_id": ws.team.bot_user_id,
        "bot_id": ws.team.bot_id,
        "is_enterprise_install": False,
        **({"enterprise_id": ws.team.enterprise_id} if ws.team.enterprise_id else {}),
    }


def api_test(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("error"):
        raise SlackError(str(params["error"]))
    return {"args": {k: v for k, v in params.items() if k != "token"}}


METHODS: dict[str, Handler] = {
    "api.test": api_test,
    "auth.test": auth_test,
    "oauth.v2.access": lambda ws, params: {},  # answered by SlackStandIn (app credentials)
    "chat.getPermalink": chat_get_permalink,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "conversations.info": conversations_info,
    "conversations.open": conversations_open,
    "users.info": users_info,
    "views.open": views_open,
    "views.publish": views_publish,
    "views.push": views_push,
    "views.update": views_update,
}

# Methods Slack answers without a token.
NO_AUTH_METHODS = frozenset({"api.test", "oauth.v2.access"})
