"""Signed request bodies, checked by slack_sdk's verifier and by a real Bolt app."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import Ack, App, BoltRequest, Respond
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.testkit import (
    DEFAULT_CHANNEL_ID,
    DEFAULT_TEAM_ID,
    DEFAULT_TOKEN,
    DEFAULT_USER_ID,
    SlackStandIn,
    app_home_opened_event,
    block_actions_payload,
    event_body,
    interactivity_body,
    sign,
    slash_command_body,
    static_select,
    text_input,
    view_submission_payload,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLASH_FIELDS = {
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
}


def verify(body: bytes, headers: dict[str, str]) -> bool:
    return SignatureVerifier(SECRET).is_valid_request(body, headers)


def test_signature_is_valid() -> None:
    body = slash_command_body(text="help")
    headers = sign(SECRET, body)
    assert verify(body, headers)
    assert headers["X-Slack-Signature"].startswith("v0=")
    assert abs(int(headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_tampered_body_fails() -> None:
    body = slash_command_body(text="help")
    headers = sign(SECRET, body)
    assert not verify(body.replace(b"help", b"hack"), headers)


def test_wrong_secret_fails() -> None:
    body = slash_command_body()
    assert not verify(body, sign("another-secret", body))


def test_stale_timestamp_fails() -> None:
    body = slash_command_body()
    assert not verify(body, sign(SECRET, body, timestamp=int(time.time()) - 6 * 60))
    assert verify(body, sign(SECRET, body, timestamp=int(time.time()) - 4 * 60))


def test_json_bodies_get_a_json_content_type() -> None:
    body = event_body(app_home_opened_event(DEFAULT_USER_ID))
    assert sign(SECRET, body)["Content-Type"] == "application/json"


def test_slash_command_body_has_slacks_fields_as_strings() -> None:
    body = slash_command_body(
        text="gdap & more",
        response_url="http://127.0.0.1:1/response/x",
        trigger_id="1.2.3",
        is_enterprise_install=True,
        enterprise_id="E0MCORG001",
    )
    form = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=True)
    assert form.keys() >= SLASH_FIELDS
    assert all(len(values) == 1 for values in form.values())
    fields = {k: v[0] for k, v in form.items()}
    assert fields["command"] == "/multichannel" and fields["text"] == "gdap & more"
    assert fields["is_enterprise_install"] == "true" and fields["enterprise_id"] == "E0MCORG001"
    assert (fields["team_id"], fields["user_id"]) == (DEFAULT_TEAM_ID, DEFAULT_USER_ID)
    assert fields["response_url"] == "http://127.0.0.1:1/response/x"


def test_empty_text_is_kept() -> None:
    form = parse_qs(slash_command_body().decode(), keep_blank_values=True)
    assert form["text"] == [""]


def test_trigger_and_event_ids_are_fresh() -> None:
    bodies = [parse_qs(slash_command_body().decode()) for _ in range(2)]
    assert bodies[0]["trigger_id"] != bodies[1]["trigger_id"]
    events = [json.loads(event_body(app_home_opened_event())) for _ in range(2)]
    assert events[0]["event_id"] != events[1]["event_id"]


def test_interactivity_body_is_one_payload_field() -> None:
    payload = block_actions_payload("approve", "case-7")
    form = parse_qs(interactivity_body(payload).decode())
    assert list(form) == ["payload"]
    assert json.loads(form["payload"][0]) == payload


def test_block_actions_payload_shape() -> None:
    payload = block_actions_payload("approve", "case-7", message_ts="1700000000.000100")
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == DEFAULT_USER_ID and payload["team"]["id"] == DEFAULT_TEAM_ID
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": DEFAULT_CHANNEL_ID,
        "is_ephemeral": False,
    }
    assert payload["message"]["ts"] == "1700000000.000100"
    assert payload["response_url"].startswith("https://hooks.slack.com/actions/")
    (action,) = payload["actions"]
    assert (action["action_id"], action["value"], action["type"]) == ("approve", "case-7", "button")

    in_view = block_actions_payload("pick", "v", view={"id": "V0MCVIEW01", "type": "home"})
    assert in_view["container"] == {"type": "view", "view_id": "V0MCVIEW01"}
    assert "response_url" not in in_view and "channel" not in in_view

    select = block_actions_payload("lang", "es-ES", action_type="static_select")
    assert select["actions"][0]["selected_option"]["value"] == "es-ES"


def test_view_submission_payload_shape() -> None:
    state = {"tenant": {"tenant_id": text_input("contoso")}, "role": {"pick": static_select("r")}}
    payload = view_submission_payload("gdap_request", state, '{"case": 7}', view_id="V0MCVIEW01")
    view = payload["view"]
    assert payload["type"] == "view_submission"
    assert (view["id"], view["callback_id"], view["private_metadata"]) == (
        "V0MCVIEW01",
        "gdap_request",
        '{"case": 7}',
    )
    assert view["state"]["values"]["tenant"]["tenant_id"]["value"] == "contoso"
    assert payload["response_urls"] == [] and payload["trigger_id"]


def test_event_body_envelope() -> None:
    body = json.loads(event_body(app_home_opened_event("U0ALICE001"), event_id="Ev0001"))
    assert body["type"] == "event_callback" and body["event_id"] == "Ev0001"
    assert body["team_id"] == DEFAULT_TEAM_ID and body["authorizations"][0]["is_bot"]
    assert body["event"]["type"] == "app_home_opened" and body["event"]["user"] == "U0ALICE001"
    assert body["event"]["tab"] == "home"


def _dispatch(app: App, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    response = app.dispatch(BoltRequest(body=body.decode(), headers=dict(headers)))
    return response.status, response.body


def _bolt_app(slack: SlackStandIn) -> App:
    client = WebClient(token=DEFAULT_TOKEN, base_url=slack.base_url)
    return App(signing_secret=SECRET, client=client, process_before_response=True)


def test_bolt_accepts_our_requests_and_talks_to_the_stand_in(slack: SlackStandIn) -> None:
    app = _bolt_app(slack)
    seen: dict[str, Any] = {}

    @app.command("/multichannel")
    def command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        seen["text"] = command["text"]
        respond(text=f"got {command['text']}")

    @app.action("approve")
    def approve(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.chat_update(channel=body["channel"]["id"], ts=body["message"]["ts"], text="ok")

    @app.view("gdap_request")
    def submit(ack: Ack, view: dict[str, Any]) -> None:
        ack(response_action="errors", errors={"tenant": "unknown tenant"})

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    command_body = slash_command_body(text="help", response_url=slack.response_url("cmd"))
    assert _dispatch(app, command_body, sign(SECRET, command_body))[0] == 200
    assert seen["text"] == "help"
    assert slack.wait_for("response_url")[0].params["text"] == "got help"

    posted = WebClient(token=DEFAULT_TOKEN, base_url=slack.base_url).chat_postMessage(
        channel=DEFAULT_CHANNEL_ID, text="pending"
    )
    click = interactivity_body(block_actions_payload("approve", "1", message_ts=posted["ts"]))
    assert _dispatch(app, click, sign(SECRET, click))[0] == 200
    assert slack.wait_for("chat.update")[0].ok
    assert slack.messages(DEFAULT_CHANNEL_ID)[0]["text"] == "ok"

    state = {"tenant": {"tenant_id": text_input("nope")}}
    submission = interactivity_body(view_submission_payload("gdap_request", state))
    status, answer = _dispatch(app, submission, sign(SECRET, submission))
    assert status == 200
    assert json.loads(answer) == {
        "response_action": "errors",
        "errors": {"tenant": "unknown tenant"},
    }

    event = event_body(app_home_opened_event("U0ALICE001"))
    assert _dispatch(app, event, sign(SECRET, event))[0] == 200
    assert slack.wait_for("views.publish")[0].params["user_id"] == "U0ALICE001"
    assert slack.calls("auth.test"), "Bolt checks the token against the stand-in"


def test_bolt_rejects_tampered_and_stale_requests(slack: SlackStandIn) -> None:
    app = _bolt_app(slack)
    app.command("/multichannel")(lambda ack: ack())
    body = slash_command_body(text="help")
    assert _dispatch(app, body, sign(SECRET, body))[0] == 200
    assert _dispatch(app, body.replace(b"help", b"hack"), sign(SECRET, body))[0] == 401
    stale = sign(SECRET, body, timestamp=int(time.time()) - 600)
    assert _dispatch(app, body, stale)[0] == 401
