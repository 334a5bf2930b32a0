"""No token in a log line: Slack tokens (and client secrets) are redacted from every log record
before any handler sees it.

slack_sdk logs request and response bodies at DEBUG, and `oauth.v2.access`'s response body
holds the new workspace's bot token; Bolt logs some responses too. Rather than trusting each
library's log statements, a log record factory rewrites any record whose text carries a
token-shaped string (`xoxb-…`, `xoxe.xoxb-…`, `xoxp-…`, `xapp-…`, …) or a `client_secret`
value. Installed once, by `build_app`."""

from __future__ import annotations

import logging
import re
from typing import Any

TOKEN = re.compile(r"\b(xox[abeposr]|xapp)[-.][-A-Za-z0-9.]+")
SECRET = re.compile(r"(['\"]?client_secret['\"]?\s*[:=]\s*['\"]?)[^'\"&,\s}]+")
REDACTED = "[redacted]"
_installed = False


def redact(text: str) -> str:
    if "xox" not in text and "xapp" not in text and "client_secret" not in text:
        return text
    return SECRET.sub(r"\1" + REDACTED, TOKEN.sub(r"\1-" + REDACTED, text))


def install_token_redaction() -> None:
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # arguments that do not fit the message:
            # logging's own error handling reports them when the record is formatted
            return record
        clean = redact(message)
        if clean is not message and clean != message:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
