"""No secret in a log line: tokens, client secrets, passwords and webhook URL tokens are
redacted from every log record before any handler sees it (docs/secrets.md).

slack_sdk logs request and response bodies at DEBUG, and `oauth.v2.access`'s response body
holds the new workspace's bot token; Bolt logs some responses too; uvicorn's access log holds
each request's path, and an organization's webhook URL ends with its secret token. Rather than
trusting each library's log statements, a log record factory rewrites any record whose text
carries:
- a Slack token (`xoxb-…`, `xoxe.xoxb-…`, `xoxp-…`, `xapp-…`, …);
- the value of a secret-named field (`client_secret`, `refresh_token`, `access_token`,
  `id_token`, `code_verifier`, `client_assertion`, `password`, `signing_secret`,
  `encryption_keys`; form, JSON or `key=value`), or an `Authorization: Bearer` value;
- the password of a URL (`postgresql://user:PASSWORD@host`);
- the token of a webhook URL (`/partner-center/webhooks/TOKEN`);
- the `code` and `state` of an OAuth redirect's query (`/slack/oauth_redirect?code=…`,
  `/partner-center/connect/callback?code=…&state=…`).
A record's string arguments are redacted one by one (its format and argument tuple stay, as
uvicorn's access log formatter needs); a message still carrying a secret is replaced by its
redacted text. Installed once, by `build_app` and by `mcbot`."""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
SECRET_NAMES = (
    "client_secret|refresh_token|access_token|id_token|code_verifier|client_assertion"
    "|password|signing_secret|encryption_keys"
)
RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(xox[abeposr]|xapp)[-.][-A-Za-z0-9.]+"), r"\1-" + REDACTED),
    (
        re.compile(rf"(['\"]?\b(?:{SECRET_NAMES})['\"]?\s*[:=]\s*['\"]?)[^'\"&,\s}}]+", re.I),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(\bBearer\s+)[-A-Za-z0-9._~+/=]+", re.I), r"\1" + REDACTED),
    (re.compile(r"(://[^:/@\s'\"]+:)[^@\s/'\"]+@"), r"\1" + REDACTED + "@"),
    (re.compile(r"(/partner-center/webhooks/)[A-Za-z0-9_-]+"), r"\1" + REDACTED),
    # an OAuth redirect's query (Slack's /slack/oauth_redirect, Entra's connect callback)
    (re.compile(r"([?&](?:code|state)=)[^&\s'\"]+"), r"\1" + REDACTED),
)
_HINTS = ("xox", "xapp", "=", ":", "bearer", "/partner-center/webhooks/")
_installed = False


def redact(text: str) -> str:
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return text
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    return text


def _clean(record: logging.LogRecord) -> None:
    if isinstance(record.args, tuple):
        record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
    try:
        message = record.getMessage()
    except (TypeError, ValueError, KeyError):  # arguments that do not fit the message:
        # logging's own error handling reports them when the record is formatted
        return
    clean = redact(message)
    if clean != message:  # a secret in a non-string argument (a dict, bytes...)
        record.msg, record.args = clean, None


def install_token_redaction() -> None:
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _clean(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
