"""One outbox row against the Slack Web API, with the answer classified for the worker.

- 2xx `ok`: Sent (the ts of the message);
- HTTP 429: RateLimited (Retry-After seconds; the row is rescheduled, nobody sleeps);
- HTTP 5xx, Slack's transient errors, connection errors and timeouts: Transient (backoff);
- any other Slack error (`channel_not_found`, `not_in_channel`, `invalid_blocks`, ...) and a
  message we cannot render: Permanent (the row is parked).

Posts carry Slack message metadata naming the outbox row. A row claimed again after a crash
(`in_doubt`: its last worker may have sent it without recording so) is first looked for in
the channel's history (`conversations.history` / `conversations.replies`, scopes
`channels:history`, `groups:history`, `im:history`): a post with its metadata, or for an update
the message already showing exactly this. Found, it is done without sending again. When that
lookup is not possible, the row is sent again (at least once, in that narrow case; an update
repeated is harmless).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.installations import NotInstalled, Workspace
from bot.core.outbox import queue
from bot.core.services import Services
from bot.core.store.models import OutboxEffect, OutboxMessage

log = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "multichannel_outbox"
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
HISTORY_LIMIT = 200
# Slack's answers for a token of a workspace the app left (uninstalled, revoked, deactivated)
WORKSPACE_GONE = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed"})


def not_installed_reason(team_id: str | None) -> str:
    if not team_id:
        return "no Slack workspace is recorded for this notification's channel"
    return (
        f"the app is not installed in Slack workspace {team_id}: install it there "
        "(/slack/install), then retry"
    )


def uninstalled_reason(team_id: str | None, error: str | None = None) -> str:
    said = f" (Slack answered {error})" if error else ""
    return queue.uninstalled_reason(
        f"{team_id or 'its workspace'}{said}: reinstall it there (/slack/install), then retry"
    )


HISTORY_SLACK = timedelta(minutes=5)  # look a little before the row was queued


@dataclass(frozen=True)
class Sent:
    ts: str | None
    note: str = "sent"  # "sent", "found" (already posted), "superseded" (a newer update)


@dataclass(frozen=True)
class RateLimited:
    retry_after: float
    error: str = "ratelimited"


@dataclass(frozen=True)
class Transient:
    error: str


@dataclass(frozen=True)
class Permanent:
    error: str


Outcome = Sent | RateLimited | Transient | Permanent


def classify(exc: SlackApiError) -> Outcome:
    response = exc.response
    status = int(getattr(response, "status_code", 200) or 200)
    error = str(response.get("error") or f"http_{status}")
    if status == 429:
        return RateLimited(retry_after_seconds(getattr(response, "headers", {}) or {}))
    if status >= 500 or error in TRANSIENT_ERRORS:
        return Transient(f"{error} (HTTP {status})")
    return Permanent(error)


def retry_after_seconds(headers: Any) -> float:
    for name, value in dict(headers).items():
        if str(name).lower() == "retry-after":
            try:
                return max(1.0, float(value[0] if isinstance(value, list) else value))
            except (TypeError, ValueError):
                break
    return 1.0


class SlackSender:
    def __init__(self, services: Services, client: AsyncWebClient) -> None:
        self.services = services
        self.client = client

    async def _token(self, row: OutboxMessage) -> dict[str, Any] | Permanent:
        """The `token=` of the row's workspace (distributed mode; {} with one workspace's
        token, which the client carries); Permanent when the app is not installed there."""
        tokens = self.services.tokens
        if tokens is None or not tokens.distributed:
            return {}
        try:
            return {"token": await tokens.bot_token(Workspace(row.team_id, row.enterprise_id))}
        except NotInstalled:
            return Permanent(not_installed_reason(row.team_id))

    def prepare(self, row: OutboxMessage, superseded: bool = False) -> dict[str, Any] | Sent:
        """The message to send (rendered when the row was queued). `Sent(note="superseded")`
        for an update a newer queued update of the same message makes useless (`superseded`:
        found when the row was claimed, `notify.SUPERSEDED`)."""
        if superseded and row.effect is OutboxEffect.update:
            return Sent(row.ts, note="superseded")
        return dict(row.payload["message"])

    async def deliver(self, row: OutboxMessage, message: dict[str, Any]) -> Outcome:
        """One Web API call (after a history lookup for a post in doubt), with the token of
        the workspace the row's channel belongs to."""
        auth = await self._token(row)
        if isinstance(auth, Permanent):
            return auth
        try:
            return await self._deliver(row, message, auth)
        except SlackApiError as exc:
            outcome = classify(exc)
            if isinstance(outcome, Permanent) and outcome.error in WORKSPACE_GONE:
                return Permanent(uninstalled_reason(row.team_id, outcome.error))
            return outcome
        except (aiohttp.ClientError, TimeoutError, OSError, SlackClientError) as exc:
            return Transient(f"{type(exc).__name__}: {exc}"[:300])

    async def _deliver(
        self, row: OutboxMessage, message: dict[str, Any], auth: dict[str, Any]
    ) -> Outcome:
        if row.effect is OutboxEffect.update:
            if row.in_doubt and await self._already_updated(row, message, auth):
                return Sent(row.ts, note="found")
            response = await self.client.chat_update(
                **auth,
                channel=row.channel,
                ts=row.ts or "",
                text=message["text"],
                blocks=message["blocks"],
            )
            return Sent(_ts(response) or row.ts)
        if row.in_doubt:
            found = await self._already_posted(row, auth)
            if isinstance(found, RateLimited):
                return found
            if found is not None:
                return Sent(found, note="found")
        response = await self.client.chat_postMessage(
            **auth,
            channel=row.channel,
            thread_ts=row.thread_ts,
            text=message["text"],
            blocks=message["blocks"],
            unfurl_links=False,
            unfurl_media=False,
            metadata={
                "event_type": METADATA_EVENT_TYPE,
                "event_payload": {"outbox_id": row.id},
            },
        )
        return Sent(_ts(response))

    async def _already_updated(
        self, row: OutboxMessage, message: dict[str, Any], auth: dict[str, Any]
    ) -> bool:
        """The message already shows exactly this (an update is harmless to repeat, but a
        crash must not make it go out twice when we can tell)."""
        try:
            response = await self.client.conversations_history(
                **auth, channel=row.channel, latest=row.ts, inclusive=True, limit=1
            )
        except SlackApiError:
            return False
        shown = next(iter(response.get("messages") or []), None) or {}
        same = shown.get("text") == message["text"] and shown.get("blocks") == message["blocks"]
        return bool(shown.get("ts") == row.ts and same)

    async def _already_posted(
        self, row: OutboxMessage, auth: dict[str, Any]
    ) -> str | RateLimited | None:
        """The ts of the message this row already posted, if Slack shows one."""
        try:
            channel = row.channel
            if row.effect is OutboxEffect.dm:
                opened = await self.client.conversations_open(**auth, users=row.channel)
                channel = opened["channel"]["id"]
            if row.effect is OutboxEffect.reply and row.thread_ts:
                response = await self.client.conversations_replies(
                    **auth,
                    channel=channel,
                    ts=row.thread_ts,
                    limit=HISTORY_LIMIT,
                    include_all_metadata=True,
                )
            else:
                oldest = (row.created_at - HISTORY_SLACK).timestamp()
                response = await self.client.conversations_history(
                    **auth,
                    channel=channel,
                    oldest=f"{oldest:.6f}",
                    limit=HISTORY_LIMIT,
                    include_all_metadata=True,
                )
        except SlackApiError as exc:
            outcome = classify(exc)
            if isinstance(outcome, RateLimited):
                return outcome
            log.warning(
                "outbox %s: cannot check whether it was already posted (%s); posting it again",
                row.id,
                exc.response.get("error"),
            )
            return None
        for message in response.get("messages") or []:
            payload = ((message.get("metadata") or {}).get("event_payload")) or {}
            if str(payload.get("outbox_id")) == str(row.id):
                return str(message.get("ts") or "") or None
        return None


def _ts(response: Any) -> str | None:
    value = response.get("ts") if response is not None else None
    return str(value) if value else None
