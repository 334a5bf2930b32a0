from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.web.async_client import AsyncWebClient

from bot.testkit import DEFAULT_TOKEN, SlackStandIn


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(tokens=[DEFAULT_TOKEN]) as stand_in:
        yield stand_in


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=slack.base_url, timeout=5)


@pytest.fixture
def async_client(slack: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_TOKEN, base_url=slack.base_url, timeout=5)
