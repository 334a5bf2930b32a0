"""A Slack request, from raw bytes to a body Bolt may see: authenticated first, then parsed with
bounds, then checked for the shape Bolt and our listeners read. The one place where
`POST /slack/events` decides whether a request is Slack's (docs/security.md).

Order, and why:
1. `authenticate` — the signature over the raw bytes (`X-Slack-Signature`,
   `X-Slack-Request-Timestamp` within 5 minutes). Nothing is parsed before it: a request that
   has not proved it comes from Slack costs a header check, one bounded read and one HMAC.
2. `parse_slack_body` — JSON or form, with bounds: nesting depth, integer size, no NaN.
3. `check_shape` — every field Bolt or a listener reads has the type Slack sends (an object, a
   string, a list of objects), and a `response_url` is Slack's. A signed request that fails is
   answered 400 and goes no further.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from bot.core.delivery import is_slack_response_url

MAX_DEPTH = 32  # Slack's payloads nest about 10 deep (a view's blocks' elements' options)
MAX_INT_DIGITS = 19  # 64-bit ids and timestamps; Slack sends nothing longer as a number
MAX_TIMESTAMP_SKEW = 300  # seconds, as Slack documents


class BadBody(ValueError):
    """The body is not a Slack request we can read (400)."""


class SlackAuthenticator:
    """Checks Slack's request signature; refuses anything malformed instead of raising."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self._secret = signing_secret.encode()
        self._clock = clock

    def headers_look_signed(self, headers: Mapping[str, str]) -> bool:
        """Cheap pre-check before the body is read: both headers present and well formed."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        return (
            0 < len(timestamp) <= 12
            and timestamp.isascii()
            and timestamp.isdigit()
            and signature.startswith("v0=")
            and len(signature) == 67
        )

    def authentic(self, headers: Mapping[str, str], body: bytes) -> bool:
        if not self.headers_look_signed(headers):
            return False
        timestamp = headers["x-slack-request-timestamp"]
        if abs(self._clock() - int(timestamp)) > MAX_TIMESTAMP_SKEW:
            return False
        # Slack's scheme, over the raw bytes. (slack_sdk's SignatureVerifier decodes the body
        # as UTF-8 first and raises on other bytes, and int()s the timestamp unchecked: either
        # would turn a forged request into a 500.)
        mac = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
        signature = headers["x-slack-signature"].encode("latin-1")
        return hmac.compare_digest(b"v0=" + mac.hexdigest().encode(), signature)


# -- parsing ----------------------------------------------------------------------------------


def parse_slack_body(raw: str, content_type: str | None) -> dict[str, Any]:
    """What Bolt's parse_body means to do, without its substring test: JSON bodies (events),
    `payload=<json>` forms (interactivity) and plain forms (slash commands)."""
    if not raw:
        return {}
    if raw.startswith("{") or (content_type or "").startswith("application/json"):
        return _json_object(raw)
    params = parse_form(raw)
    return _json_object(params["payload"]) if params.keys() == {"payload"} else params


def parse_form(raw: str) -> dict[str, str]:
    """An application/x-www-form-urlencoded body as a dict, the last value of a repeated name
    winning: `dict(parse_qsl(raw, keep_blank_values=True))`, at a third of its cost (a slash
    command's fields are mostly plain ids that need no unquoting)."""
    form: dict[str, str] = {}
    for pair in raw.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        form[name] = value
    return form


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadBody(f"a number of {len(text)} digits")
    return int(text)


def _no_constant(name: str) -> Any:
    raise BadBody(f"{name} is not a JSON number Slack sends")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise BadBody(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise BadBody(f"JSON nested deeper than {MAX_DEPTH}") from None
    if not isinstance(value, dict):
        raise BadBody("JSON body is not an object")
    # Counting brackets is done in C; only a body with many walks the tree.
    if text.count("{") + text.count("[") > MAX_DEPTH:
        _check_depth(value)
    return value


def _check_depth(value: Any) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadBody(f"JSON nested deeper than {MAX_DEPTH}")
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)


# -- shape ------------------------------------------------------------------------------------

_OBJECTS = ("team", "user", "channel", "container", "view", "enterprise", "message", "event")
_STRINGS = ("type", "trigger_id", "response_url", "team_id", "user_id", "channel_id", "api_app_id")
_ID_OBJECTS = {"team": ("id", "domain"), "user": ("id", "team_id"), "channel": ("id",)}
_VIEW_STRINGS = ("id", "callback_id", "private_metadata", "hash", "team_id")


def check_shape(body: dict[str, Any], *, extra_hosts: frozenset[str] = frozenset()) -> None:
    """Raise BadBody unless every field that Bolt or a listener reads has Slack's type.
    `extra_hosts`: hosts (host:port) besides Slack's own that may appear in a response_url (a
    local stand-in's, derived from SLACK_API_URL)."""
    for key in _OBJECTS:
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise BadBody(f"`{key}` is not an object")
    for key in _STRINGS:
        if body.get(key) is not None and not isinstance(body[key], str):
            raise BadBody(f"`{key}` is not a string")
    for key, fields in _ID_OBJECTS.items():
        obj = body.get(key) or {}
        for field in fields:
            if obj.get(field) is not None and not isinstance(obj[field], str):
                raise BadBody(f"`{key}.{field}` is not a string")
    view = body.get("view") or {}
    for field in _VIEW_STRINGS:
        if view.get(field) is not None and not isinstance(view[field], str):
            raise BadBody(f"`view.{field}` is not a string")
    if view.get("state") is not None and not isinstance(view["state"], dict):
        raise BadBody("`view.state` is not an object")
    actions = body.get("actions")
    if actions is not None and not (
        isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    ):
        raise BadBody("`actions` is not a list of objects")
    for action in actions or ():
        for field in ("action_id", "block_id", "value"):
            if action.get(field) is not None and not isinstance(action[field], str):
                raise BadBody(f"`actions[].{field}` is not a string")
    urls = [body.get("response_url")] + [
        u.get("response_url") if isinstance(u, dict) else u for u in body.get("response_urls") or ()
    ]
    for url in urls:
        if url is not None and not (
            isinstance(url, str) and is_slack_response_url(url, extra_hosts)
        ):
            raise BadBody("`response_url` is not one of Slack's")
