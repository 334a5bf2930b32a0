"""Requests to the app exactly as Slack makes them: raw bodies and their signature headers.

body = slash_command_body(text="help", response_url=slack.response_url())
httpx.post(f"{app_url}/slack/events", content=body, headers=sign(SECRET, body))
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.testkit.identity import (
    DEFAULT_APP_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
    DEFAULT_USER_ID,
    DEFAULT_USER_NAME,
)
from bot.testkit.payloads import (
    VERIFICATION_TOKEN,
    app_home_opened_event,
    block_actions_payload,
    event_callback,
    hooks_url,
    new_trigger_id,
    static_select,
    text_input,
    view_submission_payload,
)

__all__ = [
    "app_home_opened_event",
    "block_actions_payload",
    "event_body",
    "interactivity_body",
    "sign",
    "slash_command_body",
    "static_select",
    "text_input",
    "url_verification_body",
    "view_submission_payload",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sign(
    secret: str,
    body: bytes,
    timestamp: int | None = None,
    content_type: str | None = None,
) -> dict[str, str]:
    """Slack's headers for `body`: signature, timestamp (now unless given) and content type.

    The content type is JSON for a body starting with `{`, else a form, unless given.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    if body.isascii() or _is_utf8(body):
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    else:  # Slack signs raw bytes; slack_sdk only signs text
        mac = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
        signature = "v0=" + mac.hexdigest()
    if signature is None:
        raise ValueError("could not sign the body")
    if content_type is None:
        content_type = JSON if body.lstrip()[:1] == b"{" else FORM
    return {
        "X-Slack-Signature": signature,
        "X-Slack-Request-Timestamp": ts,
        "Content-Type": content_type,
    }


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def slash_command_body(
    command: str = "/multichannel",
    text: str = "",
    user_id: str = DEFAULT_USER_ID,
    team_id: str = DEFAULT_TEAM_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    trigger_id: str | None = None,
    response_url: str | None = None,
    **extra: Any,
) -> bytes:
    """A slash command's form body; every value a string. `extra` adds or overrides fields
    (`user_name`, `channel_name`, `enterprise_id`, `is_enterprise_install=True`, ...)."""
    fields: dict[str, Any] = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": DEFAULT_TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": DEFAULT_CHANNEL_NAME,
        "user_id": user_id,
        "user_name": DEFAULT_USER_NAME if user_id == DEFAULT_USER_ID else user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": DEFAULT_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or hooks_url("commands", team_id),
        "trigger_id": trigger_id or new_trigger_id(),
    }
    fields.update(extra)
    return urlencode({k: _form_value(v) for k, v in fields.items()}).encode("utf-8")


def interactivity_body(payload: dict[str, Any]) -> bytes:
    """The form body Slack posts for interactivity: one field, `payload=<JSON>`."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode("utf-8")


def event_body(
    event: dict[str, Any],
    team_id: str = DEFAULT_TEAM_ID,
    event_id: str | None = None,
    **envelope: Any,
) -> bytes:
    """An Events API `event_callback` JSON body around `event` (fresh event_id unless given).

    `envelope` goes to `payloads.event_callback` (api_app_id, event_time, bot_user_id).
    """
    body = event_callback(event, team_id, event_id, **envelope)
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def url_verification_body(challenge: str) -> bytes:
    """The body Slack sends once to check a new Events API request URL."""
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return json.dumps(body).encode("utf-8")
