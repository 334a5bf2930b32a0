"""Helpers shared by the notification tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from bot.core.settings import BotSettings
from bot.core.store.models import InboxEvent, JobStatus, OutboxMessage
from bot.testkit.harness import BotHarness

# Fast, but real: short leases and backoff, a small pause per channel.
FAST = {
    "outbox_lease_seconds": 5.0,
    "outbox_channel_interval_seconds": 0.05,
    "outbox_poll_seconds": 0.2,
    "outbox_backoff_seconds": 0.1,
    "outbox_backoff_max_seconds": 0.5,
}


def fast_settings(**overrides: Any) -> BotSettings:
    return BotSettings(_env_file=None, **{**FAST, **overrides})  # type: ignore[call-arg]


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def stored_events(bot: BotHarness) -> int:
    with bot.services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(InboxEvent)) or 0)


def drained(bot: BotHarness) -> bool:
    """Every event processed and every notification sent (none pending or parked)."""
    with bot.services.sessions() as session:
        waiting = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status != JobStatus.done)
        )
        events = session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.status != JobStatus.done)
        )
    return waiting == 0 and events == 0
