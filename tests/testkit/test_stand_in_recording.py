"""Calls are recorded with decoded params, can be waited for, and survive concurrent clients."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.parse
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.web.async_client import AsyncWebClient

from bot.testkit import DEFAULT_TOKEN, SlackStandIn

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]


def test_json_body_params_are_recorded(slack: SlackStandIn, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="hi", blocks=BLOCKS, thread_ts="1.000001")
    call = slack.last("chat.postMessage")
    assert call.params == {"channel": "C1", "text": "hi", "blocks": BLOCKS, "thread_ts": "1.000001"}
    assert call.token == DEFAULT_TOKEN
    assert call.headers["content-type"].startswith("application/json")
    assert call.status == 200 and call.ok and call.response["ts"]


def test_form_body_json_strings_are_decoded(slack: SlackStandIn, client: WebClient) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": BLOCKS}
    client.api_call(
        "views.open", params={"trigger_id": "1.2.3", "view": json.dumps(view)}
    )  # a form body: slack_sdk's `params=`
    call = slack.last("views.open")
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert call.params["view"] == view
    assert call.ok


def test_blocks_sent_as_a_json_string_in_json_are_decoded(
    slack: SlackStandIn, client: WebClient
) -> None:
    client.chat_postMessage(channel="C1", text="x", blocks=json.dumps(BLOCKS))
    assert slack.last("chat.postMessage").params["blocks"] == BLOCKS


def test_text_that_looks_like_json_stays_a_string(slack: SlackStandIn, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text='{"not": "decoded"}')
    assert slack.last("chat.postMessage").params["text"] == '{"not": "decoded"}'


async def test_async_query_string_params_are_recorded(
    slack: SlackStandIn, async_client: AsyncWebClient
) -> None:
    await async_client.users_info(user="U0ALICE001", include_locale=True)
    call = slack.last("users.info")
    assert call.params == {"user": "U0ALICE001", "include_locale": "1"}


def test_get_requests_are_accepted(slack: SlackStandIn) -> None:
    query = urllib.parse.urlencode({"channel": "C1", "token": DEFAULT_TOKEN})
    with urllib.request.urlopen(f"{slack.base_url}conversations.info?{query}", timeout=5) as r:
        assert json.load(r)["channel"]["id"] == "C1"
    assert slack.last("conversations.info").token == DEFAULT_TOKEN


def test_multipart_form_is_parsed(slack: SlackStandIn, client: WebClient) -> None:
    client.api_call(
        "chat.postMessage",
        data={"channel": "C1", "text": "multi", "blocks": json.dumps(BLOCKS)},
        files={"file": b"bytes"},
    )
    call = slack.last("chat.postMessage")
    assert call.headers["content-type"].startswith("multipart/form-data")
    assert (call.params["text"], call.params["blocks"], call.params["file"]) == (
        "multi",
        BLOCKS,
        b"bytes",
    )


def test_invalid_json_body_is_answered_not_crashed(slack: SlackStandIn) -> None:
    request = urllib.request.Request(
        f"{slack.base_url}chat.postMessage",
        data=b"{not json",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {DEFAULT_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=5) as r:
        assert json.load(r) == {"ok": False, "error": "invalid_json"}
    assert slack.last("chat.postMessage").error == "invalid_json"


def test_calls_filter_last_and_clear(slack: SlackStandIn, client: WebClient) -> None:
    client.auth_test()
    client.chat_postMessage(channel="C1", text="a")
    client.chat_postMessage(channel="C2", text="b")
    methods = [c.method for c in slack.calls()]
    assert methods == ["auth.test", "chat.postMessage", "chat.postMessage"]
    assert [c.params["text"] for c in slack.calls("chat.postMessage")] == ["a", "b"]
    assert slack.last("chat.postMessage").params["channel"] == "C2"
    slack.clear()
    assert slack.calls() == []
    with pytest.raises(LookupError, match=r"chat\.postMessage"):
        slack.last("chat.postMessage")


def test_wait_for_blocks_until_calls_arrive(slack: SlackStandIn, client: WebClient) -> None:
    def post_later() -> None:
        time.sleep(0.1)
        for text in ("a", "b"):
            client.chat_postMessage(channel="C1", text=text)

    worker = threading.Thread(target=post_later)
    started = time.monotonic()
    worker.start()
    calls = slack.wait_for("chat.postMessage", count=2, timeout=5)
    worker.join()
    assert [c.params["text"] for c in calls] == ["a", "b"]
    assert time.monotonic() - started >= 0.1


def test_wait_for_times_out_with_what_it_saw(slack: SlackStandIn, client: WebClient) -> None:
    client.auth_test()
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"got 0.*auth\.test"):
        slack.wait_for("chat.postMessage", timeout=0.2)
    assert time.monotonic() - started >= 0.2  # it waited the timeout out


def test_concurrent_threads_get_unique_ts(slack: SlackStandIn) -> None:
    clients = [WebClient(token=DEFAULT_TOKEN, base_url=slack.base_url) for _ in range(20)]
    stamps: list[str] = []
    lock = threading.Lock()

    def post(index: int, wc: WebClient) -> None:
        for n in range(10):
            ts = wc.chat_postMessage(channel=f"C{index:03d}", text=str(n))["ts"]
            with lock:
                stamps.append(ts)

    threads = [threading.Thread(target=post, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) == len(set(stamps)) == 200
    assert len(slack.calls("chat.postMessage", delivered=True)) == 200
    assert slack.stats.by_method["chat.postMessage"].delivered == 200


async def test_many_concurrent_async_posts(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token=DEFAULT_TOKEN, base_url=slack.base_url)
    answers = await asyncio.gather(
        *(client.chat_postMessage(channel=f"C{i % 20:03d}", text=str(i)) for i in range(200))
    )
    assert len({a["ts"] for a in answers}) == 200
    assert slack.stats.delivered == 200


def test_starting_twice_is_refused(slack: SlackStandIn) -> None:
    with pytest.raises(RuntimeError):
        slack.start()


def test_explicit_start_and_stop() -> None:
    stand_in = SlackStandIn().start()
    try:
        client = WebClient(token="xoxb-any", base_url=stand_in.base_url)
        assert client.auth_test()["ok"]
    finally:
        stand_in.stop()
    assert "stopped" in repr(stand_in)
