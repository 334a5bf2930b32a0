from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.testkit.harness import BotHarness


@pytest.fixture(scope="module")
def bot() -> Iterator[BotHarness]:
    """The real app on uvicorn (loopback), a Slack stand-in, a fresh SQLite database."""
    with BotHarness() as harness:
        yield harness


@pytest.fixture(autouse=True)
def _clean_slack(bot: BotHarness) -> None:
    bot.slack.reset()
