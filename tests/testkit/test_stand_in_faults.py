"""Scripted failures, forced 429s and per-channel rate limits, seen through slack_sdk."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.testkit import DEFAULT_TOKEN, SlackStandIn
from bot.testkit.faults import RateLimiter


def test_fail_next_with_status(slack: SlackStandIn, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="C1", text="x")
        assert raised.value.response.status_code == 500
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    calls = slack.calls("chat.postMessage")
    assert [c.status for c in calls] == [500, 500, 200]
    assert [c.delivered for c in calls] == [False, False, True]
    assert calls[0].server_error and calls[0].params["text"] == "x"
    assert slack.stats.server_errors == 2 and slack.stats.delivered == 1


def test_fail_next_with_slack_error(slack: SlackStandIn, client: WebClient) -> None:
    slack.fail_next("views.open", error="expired_trigger_id")
    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="1", view={"type": "modal"})
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "expired_trigger_id"
    assert slack.last("views.open").error == "expired_trigger_id"
    assert slack.stats.api_errors == 1


def test_faults_only_touch_their_method(slack: SlackStandIn, client: WebClient) -> None:
    slack.fail_next("chat.update", status=503)
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


def test_force_429_answers_retry_after(slack: SlackStandIn, client: WebClient) -> None:
    slack.force_429("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="x")
    response = raised.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response["error"] == "ratelimited"
    assert slack.last("chat.postMessage").ratelimited
    assert slack.stats.ratelimited == 1
    assert slack.messages() == []


def test_force_429_needs_whole_seconds(slack: SlackStandIn) -> None:
    with pytest.raises(ValueError):
        slack.force_429("chat.postMessage", retry_after=0)


def test_rate_limit_per_channel(slack: SlackStandIn, client: WebClient) -> None:
    slack.rate_limit("chat.postMessage", per_channel_per_second=1.0, burst=1)
    assert client.chat_postMessage(channel="C1", text="first")["ok"]
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="too soon")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    # Another channel has its own bucket.
    assert client.chat_postMessage(channel="C2", text="other")["ok"]
    slack.no_rate_limit("chat.postMessage")
    assert client.chat_postMessage(channel="C1", text="free")["ok"]


def test_rate_limit_refills_at_the_rate(slack: SlackStandIn, client: WebClient) -> None:
    slack.rate_limit("chat.postMessage", per_channel_per_second=5.0, burst=2)
    results = [_posted(client, "C1") for _ in range(3)]
    assert results == [True, True, False]
    time.sleep(0.25)  # one token back after 200 ms
    assert _posted(client, "C1")
    assert not _posted(client, "C1")


def test_parallel_channels_are_limited_independently(slack: SlackStandIn) -> None:
    slack.rate_limit("chat.postMessage", per_channel_per_second=1.0, burst=1)
    outcomes: dict[str, list[bool]] = {}
    lock = threading.Lock()

    def burst(channel: str) -> None:
        wc = WebClient(token=DEFAULT_TOKEN, base_url=slack.base_url)
        result = [_posted(wc, channel), _posted(wc, channel)]
        with lock:
            outcomes[channel] = result

    threads = [threading.Thread(target=burst, args=(f"C{i:03d}",)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(result == [True, False] for result in outcomes.values()), outcomes
    stats = slack.stats.by_method["chat.postMessage"]
    assert (stats.delivered, stats.ratelimited) == (20, 20)


async def test_retry_handlers_get_through_429(slack: SlackStandIn) -> None:
    """Sync and async clients with slack_sdk's 429 handlers, run together to save a second."""
    slack.rate_limit("chat.postMessage", per_channel_per_second=1.0, burst=1)
    slack.force_429("views.publish", retry_after=1)
    sync_client = WebClient(
        token=DEFAULT_TOKEN,
        base_url=slack.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    async_client = AsyncWebClient(
        token=DEFAULT_TOKEN,
        base_url=slack.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    home = {"type": "home", "blocks": []}

    def two_posts() -> list[str]:
        return [sync_client.chat_postMessage(channel="C1", text=t)["ts"] for t in ("a", "b")]

    started = time.monotonic()
    stamps, published = await asyncio.gather(
        asyncio.to_thread(two_posts),
        async_client.views_publish(user_id="U0ALICE001", view=home),
    )
    elapsed = time.monotonic() - started
    assert len(set(stamps)) == 2 and published["ok"]
    assert 1.0 <= elapsed < 4.0
    posts = slack.calls("chat.postMessage")
    assert [c.status for c in posts] == [200, 429, 200]
    assert posts[2].at - posts[1].at >= 1.0
    assert [c.status for c in slack.calls("views.publish")] == [429, 200]
    assert slack.stats.ratelimited == 2


def test_token_bucket_arithmetic() -> None:
    limiter = RateLimiter()
    limiter.limit("chat.postMessage", per_channel_per_second=0.5, burst=3)
    admitted = [limiter.admit("chat.postMessage", "C1", now=100.0) for _ in range(4)]
    assert admitted[:3] == [None, None, None]
    refused = admitted[3]
    assert refused is not None and refused.status == 429 and refused.retry_after == 2
    assert limiter.admit("chat.postMessage", "C1", now=101.0) is not None
    assert limiter.admit("chat.postMessage", "C1", now=102.0) is None
    assert limiter.admit("chat.postMessage", "C2", now=102.0) is None
    assert limiter.admit("chat.update", "C1", now=102.0) is None
    # A long pause refills to the burst, not beyond.
    later = [limiter.admit("chat.postMessage", "C1", now=1000.0) for _ in range(4)]
    assert [a is None for a in later] == [True, True, True, False]


def _posted(client: WebClient, channel: str) -> bool:
    try:
        return bool(client.chat_postMessage(channel=channel, text="x")["ok"])
    except SlackApiError as e:
        assert e.response.status_code == 429
        return False
