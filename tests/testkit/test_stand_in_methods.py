"""Every Web API method the stand-in knows answers like Slack, through real slack_sdk clients."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.testkit import DEFAULT_BOT_USER_ID, DEFAULT_TEAM_ID, SlackStandIn

TS = re.compile(r"^\d{10}\.\d{6}$")
MODAL = {
    "type": "modal",
    "callback_id": "ask",
    "title": {"type": "plain_text", "text": "Ask"},
    "private_metadata": '{"case": 7}',
    "blocks": [{"type": "section", "block_id": "intro", "text": {"type": "mrkdwn", "text": "x"}}],
}
HOME = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return str(raised.value.response["error"])


def test_base_url_ends_with_api_slash(slack: SlackStandIn) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", slack.base_url)


def test_auth_test(client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["team_id"] == DEFAULT_TEAM_ID
    assert answer["user_id"] == DEFAULT_BOT_USER_ID
    assert answer["bot_id"].startswith("B")
    assert answer["url"].startswith("https://") and answer["team"]
    assert "chat:write" in answer.headers["x-oauth-scopes"]


def test_post_message_returns_increasing_unique_ts(client: WebClient) -> None:
    first = client.chat_postMessage(channel="C1", text="one")
    second = client.chat_postMessage(channel="C2", text="two")
    assert first["channel"] == "C1" and TS.match(first["ts"])
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "one"
    assert first["message"]["bot_id"] and first["message"]["ts"] == first["ts"]


def test_post_message_to_a_user_lands_in_their_dm(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U0ALICE001", text="psst")
    opened = client.conversations_open(users="U0ALICE001")
    assert posted["channel"].startswith("D")
    assert opened["channel"]["id"] == posted["channel"]


def test_post_message_argument_errors(slack: SlackStandIn, client: WebClient) -> None:
    assert error_of(lambda: client.api_call("chat.postMessage", json={"text": "x"})) == (
        "channel_not_found"
    )
    no_text = {"channel": "C1"}
    assert error_of(lambda: client.api_call("chat.postMessage", json=no_text)) == "no_text"
    assert error_of(lambda: client.chat_postMessage(channel="#nowhere", text="x")) == (
        "channel_not_found"
    )
    many = [{"type": "divider"}] * 51
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="x", blocks=many)) == (
        "invalid_blocks"
    )
    slack.set_channel("C0ARCHIVE1", is_archived=True)
    slack.set_channel("C0OUTSIDE1", is_member=False)
    assert error_of(lambda: client.chat_postMessage(channel="C0ARCHIVE1", text="x")) == (
        "is_archived"
    )
    assert error_of(lambda: client.chat_postMessage(channel="C0OUTSIDE1", text="x")) == (
        "not_in_channel"
    )


def test_channel_name_resolves_to_its_id(slack: SlackStandIn, client: WebClient) -> None:
    slack.set_channel("C0DESK0001", name="desk")
    assert client.chat_postMessage(channel="#desk", text="x")["channel"] == "C0DESK0001"


def test_post_ephemeral(client: WebClient) -> None:
    answer = client.chat_postEphemeral(channel="C1", user="U0ALICE001", text="only you")
    assert TS.match(answer["message_ts"])
    assert error_of(lambda: client.api_call("chat.postEphemeral", json={"channel": "C1"})) == (
        "user_not_found"
    )


def test_update_changes_the_stored_message(slack: SlackStandIn, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="pending")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*done*"}}]
    updated = client.chat_update(channel="C1", ts=posted["ts"], text="done", blocks=blocks)
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C1", posted["ts"], "done")
    stored = slack.message("C1", posted["ts"])
    assert stored is not None and stored["text"] == "done" and stored["blocks"] == blocks
    assert [m["text"] for m in slack.messages("C1")] == ["done"]
    missing = error_of(lambda: client.chat_update(channel="C1", ts="1.000001", text="x"))
    assert missing == "message_not_found"


def test_get_permalink(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="x")
    answer = client.chat_getPermalink(channel="C1", message_ts=posted["ts"])
    assert answer["permalink"].endswith("/archives/C1/p" + posted["ts"].replace(".", ""))


def test_views_open_update_push(slack: SlackStandIn, client: WebClient) -> None:
    opened = client.views_open(trigger_id="1.2.abc", view=MODAL)["view"]
    assert re.fullmatch(r"V[0-9A-Z]+", opened["id"]) and opened["hash"]
    assert opened["callback_id"] == "ask" and opened["private_metadata"] == '{"case": 7}'
    assert opened["blocks"] == MODAL["blocks"] and opened["state"] == {"values": {}}

    changed = {**MODAL, "blocks": [{"type": "divider"}]}
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    stored = slack.view(opened["id"])
    assert stored is not None and stored["blocks"] == [{"type": "divider"}]
    stale = error_of(
        lambda: client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)
    )
    assert stale == "hash_conflict"

    pushed = client.views_push(trigger_id="1.2.def", view=MODAL)["view"]
    assert pushed["id"] != opened["id"]


def test_trigger_id_opens_one_view_only(client: WebClient) -> None:
    client.views_open(trigger_id="9.9.once", view=MODAL)
    assert error_of(lambda: client.views_open(trigger_id="9.9.once", view=MODAL)) == (
        "exchanged_trigger_id"
    )


def test_views_argument_errors(client: WebClient) -> None:
    no_title = {"type": "modal", "blocks": []}
    assert error_of(lambda: client.views_open(trigger_id="1", view=no_title)) == (
        "invalid_arguments"
    )
    too_many = {**MODAL, "blocks": [{"type": "divider"}] * 101}
    assert error_of(lambda: client.views_open(trigger_id="2", view=too_many)) == (
        "invalid_arguments"
    )
    assert error_of(lambda: client.views_update(external_id="nope", view=MODAL)) == "not_found"


def test_views_publish_keeps_one_home_per_user(client: WebClient) -> None:
    first = client.views_publish(user_id="U0ALICE001", view=HOME)["view"]
    second = client.views_publish(user_id="U0ALICE001", view=HOME)["view"]
    other = client.views_publish(user_id="U0BOB00001", view=HOME)["view"]
    assert first["id"] == second["id"] != other["id"]
    assert first["type"] == "home" and first["blocks"] == HOME["blocks"]


def test_users_info_locale(slack: SlackStandIn, client: WebClient) -> None:
    slack.set_user("U0MARIA001", locale="es-ES", name="maria", tz="Europe/Madrid")
    user = client.users_info(user="U0MARIA001", include_locale=True)["user"]
    assert (user["id"], user["name"], user["locale"], user["tz"]) == (
        "U0MARIA001",
        "maria",
        "es-ES",
        "Europe/Madrid",
    )
    assert user["team_id"] == DEFAULT_TEAM_ID and user["real_name"]
    default = client.users_info(user="U0OTHER001", include_locale=True)["user"]
    assert default["locale"] == "en-US"
    # Like Slack: no locale unless asked for.
    assert "locale" not in client.users_info(user="U0MARIA001")["user"]
    assert error_of(lambda: client.users_info(user="not-a-user")) == "user_not_found"


def test_set_user_keeps_unset_fields(slack: SlackStandIn) -> None:
    slack.set_user("U0MARIA001", locale="es-ES")
    user = slack.set_user("U0MARIA001", name="maria")
    assert (user.locale, user.name) == ("es-ES", "maria")


def test_conversations_open_is_stable_per_user_set(client: WebClient) -> None:
    first = client.conversations_open(users="U0ALICE001")
    again = client.conversations_open(users=["U0ALICE001"])
    other = client.conversations_open(users="U0BOB00001")
    group = client.conversations_open(users="U0ALICE001,U0BOB00001")
    assert first["channel"]["id"].startswith("D") and not first["already_open"]
    assert again["channel"]["id"] == first["channel"]["id"] and again["already_open"]
    assert other["channel"]["id"] != first["channel"]["id"]
    assert group["channel"]["id"].startswith("G")
    assert error_of(lambda: client.api_call("conversations.open", params={})) == (
        "users_list_not_supplied"
    )


def test_conversations_info(slack: SlackStandIn, client: WebClient) -> None:
    slack.set_channel("C0DESK0001", name="desk", is_private=True)
    channel = client.conversations_info(channel="C0DESK0001")["channel"]
    assert (channel["id"], channel["name"], channel["is_private"]) == ("C0DESK0001", "desk", True)
    dm = client.conversations_open(users="U0ALICE001")["channel"]["id"]
    im = client.conversations_info(channel=dm)["channel"]
    assert im["is_im"] and im["user"] == "U0ALICE001"
    assert error_of(lambda: client.conversations_info(channel="nope")) == "channel_not_found"


def test_a_channel_the_bot_is_not_in(slack: SlackStandIn, client: WebClient) -> None:
    """A public channel: visible, `is_member` false, posting refused with `not_in_channel`.
    A private channel the bot was not invited to does not exist for it: `channel_not_found`
    for conversations.info and for chat.postMessage, as Slack answers."""
    slack.set_channel("C0PUBLIC01", name="lobby", is_member=False)
    slack.set_channel("G0SECRET01", name="secret", is_private=True, is_member=False)
    public = client.conversations_info(channel="C0PUBLIC01")["channel"]
    assert (public["is_member"], public["is_private"]) == (False, False)
    assert error_of(lambda: client.chat_postMessage(channel="C0PUBLIC01", text="x")) == (
        "not_in_channel"
    )
    for call in (
        lambda: client.conversations_info(channel="G0SECRET01"),
        lambda: client.chat_postMessage(channel="G0SECRET01", text="x"),
        lambda: client.chat_postEphemeral(channel="G0SECRET01", user="U0ALICE001", text="x"),
        lambda: client.chat_update(channel="G0SECRET01", ts="1.2", text="x"),
    ):
        assert error_of(call) == "channel_not_found"
    slack.set_channel("G0SECRET01", is_member=True)  # /invite @Multichannel
    assert client.conversations_info(channel="G0SECRET01")["channel"]["is_member"] is True


def test_unknown_method(client: WebClient) -> None:
    assert error_of(lambda: client.api_call("chat.teleport", json={})) == "unknown_method"


def test_wrong_or_missing_token(slack: SlackStandIn) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=slack.base_url)
    anonymous = WebClient(base_url=slack.base_url)
    assert error_of(wrong.auth_test) == "invalid_auth"
    assert error_of(anonymous.auth_test) == "not_authed"
    slack.set_tokens(None)
    assert wrong.auth_test()["ok"] is True


def test_register_answers_an_extra_method(slack: SlackStandIn, client: WebClient) -> None:
    slack.register("chat.delete", lambda p: {"ok": True, "channel": p["channel"], "ts": p["ts"]})
    assert client.chat_delete(channel="C1", ts="1.2")["ts"] == "1.2"


def test_response_url_posts_are_recorded(slack: SlackStandIn) -> None:
    url = slack.response_url("abc")
    assert url.startswith(slack.url) and url.endswith("/response/abc")
    body = json.dumps({"text": "done", "replace_original": True}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    call = slack.last("response_url")
    assert call.params == {"text": "done", "replace_original": True}
    assert call.path == "/response/abc"


async def test_async_client_reaches_every_method(
    slack: SlackStandIn, async_client: AsyncWebClient
) -> None:
    slack.set_user("U0MARIA001", locale="es-ES")
    assert (await async_client.auth_test())["team_id"] == DEFAULT_TEAM_ID
    posted = await async_client.chat_postMessage(channel="C1", text="a", blocks=[])
    await async_client.chat_update(channel="C1", ts=posted["ts"], text="b")
    await async_client.chat_postEphemeral(channel="C1", user="U0MARIA001", text="c")
    await async_client.chat_getPermalink(channel="C1", message_ts=posted["ts"])
    view = (await async_client.views_open(trigger_id="t1", view=MODAL))["view"]
    await async_client.views_update(view_id=view["id"], view=MODAL)
    await async_client.views_push(trigger_id="t2", view=MODAL)
    await async_client.views_publish(user_id="U0MARIA001", view=HOME)
    user = (await async_client.users_info(user="U0MARIA001", include_locale=True))["user"]
    assert user["locale"] == "es-ES"
    dm = (await async_client.conversations_open(users="U0MARIA001"))["channel"]["id"]
    assert (await async_client.conversations_info(channel=dm))["channel"]["is_im"]
    methods = [c.method for c in slack.calls()]
    assert methods == [
        "auth.test",
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "chat.getPermalink",
        "views.open",
        "views.update",
        "views.push",
        "views.publish",
        "users.info",
        "conversations.open",
        "conversations.info",
    ]
    assert all(c.ok for c in slack.calls())


def test_response_url_takes_five_posts(slack: SlackStandIn) -> None:
    url = slack.response_url()
    statuses = []
    for n in range(6):
        body = json.dumps({"text": str(n)}).encode()
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                statuses.append(answer.status)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)
    assert statuses == [200] * 5 + [404]
    assert slack.last("response_url").error == "used_url"


def test_bot_user_is_a_bot(client: WebClient) -> None:
    assert client.users_info(user=DEFAULT_BOT_USER_ID)["user"]["is_bot"] is True
