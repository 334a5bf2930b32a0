"""Options of the notification feature, from `BotSettings` (plain data: no I/O, no imports of
the rest of the bot, so `bot.core.services` can hold them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_GDAP_ROLE_IDS = (
    "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",  # Directory Readers
    "729827e3-9c14-49f7-bb1b-9608f156bbb8",  # Helpdesk Administrator
)


@dataclass(frozen=True)
class NotifyOptions:
    """What the event processing and the GDAP button need."""

    partner_org_key: str | None = None
    gdap_role_ids: tuple[str, ...] = DEFAULT_GDAP_ROLE_IDS
    gdap_duration: str = "P730D"
    max_attempts: int = 8

    @classmethod
    def from_settings(cls, settings: Any) -> NotifyOptions:
        return cls(
            partner_org_key=settings.partner_org_key or None,
            gdap_role_ids=tuple(settings.gdap_role_ids),
            gdap_duration=settings.gdap_duration,
            max_attempts=settings.outbox_max_attempts,
        )


@dataclass(frozen=True)
class WorkerOptions:
    """How the worker claims, paces and retries."""

    lease_seconds: float = 60.0
    max_attempts: int = 8
    channel_interval_seconds: float = 1.0
    concurrency: int = 64
    event_concurrency: int | None = None  # events in flight; None: 2 batches per event thread
    poll_seconds: float = 1.0
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    stop_grace_seconds: float = 10.0
    event_threads: int | None = None  # threads processing events; None: 1 SQLite, 2 PostgreSQL

    @classmethod
    def from_settings(cls, settings: Any) -> WorkerOptions:
        return cls(
            lease_seconds=settings.outbox_lease_seconds,
            max_attempts=settings.outbox_max_attempts,
            channel_interval_seconds=settings.outbox_channel_interval_seconds,
            concurrency=settings.outbox_concurrency,
            poll_seconds=settings.outbox_poll_seconds,
            backoff_seconds=settings.outbox_backoff_seconds,
            backoff_max_seconds=settings.outbox_backoff_max_seconds,
        )
