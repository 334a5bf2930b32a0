"""Turn a Web API request (query string + JSON, form or multipart body) into one params dict.

slack_sdk's `WebClient` sends JSON for most write methods, a form body for `params=` methods
(`auth.test`, `users.info`, ...) and multipart for uploads; `AsyncWebClient` puts `params=`
in the query string. Slack accepts all of them, so the stand-in does too.
"""

from __future__ import annotations

import json
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

# Fields Slack takes as JSON; form bodies carry them as JSON strings.
JSON_FIELDS = frozenset(
    {
        "attachments",
        "blocks",
        "metadata",
        "options",
        "option_groups",
        "unfurls",
        "user_auth_blocks",
        "view",
    }
)


class BadRequestBody(ValueError):
    """The body cannot be parsed as the content type it claims."""


def parse_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Merge query-string and body parameters; body values win over the query string."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    params.update(parse_body(body, content_type))
    return decode_json_fields(params)


def parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    if not body.strip():
        return {}
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or (not media_type and body.lstrip()[:1] == b"{"):
        return _parse_json_object(body)
    if media_type == "multipart/form-data":
        return _parse_multipart(body, content_type)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequestBody(f"form body is not UTF-8: {e}") from e
    return dict(parse_qsl(text, keep_blank_values=True))


def decode_json_fields(params: dict[str, Any]) -> dict[str, Any]:
    """Decode the JSON-string values of JSON_FIELDS; leave anything unparsable as sent."""
    decoded = dict(params)
    for key in JSON_FIELDS & decoded.keys():
        value = decoded[key]
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                decoded[key] = json.loads(value)
            except json.JSONDecodeError:
                continue  # Slack would answer invalid_blocks / invalid_arguments; handlers do.
    return decoded


def _parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadRequestBody(f"invalid JSON body: {e}") from e
    if not isinstance(value, dict):
        raise BadRequestBody("JSON body is not an object")
    return value


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise BadRequestBody("multipart body without parts")
    params: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        params[name] = _part_value(part)
    return params


def _part_value(part: Message) -> str | bytes:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    if part.get_filename() is not None:
        return data
    return data.decode(part.get_content_charset() or "utf-8", errors="replace")
