"""Tried as an attacker without the signing secret (docs/security.md): no request to
`/slack/events` makes the bot call anyone, write anything, or answer 5xx; a signed request with a
body Slack would never send is a 400 before Bolt sees it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote_plus

import pytest
from sqlalchemy import func, select

from bot.core.delivery import is_slack_response_url, stand_in_hosts
from bot.core.store.models import DecisionRecord
from bot.testkit import block_actions_payload, slash_command_body
from bot.testkit.harness import BotHarness


class Victim:
    """Any HTTP server an attacker would like our server to call: counts what reaches it."""

    def __init__(self) -> None:
        hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.hits = hits
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/steal"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def victim() -> Iterator[Victim]:
    v = Victim()
    yield v
    v.close()


def _decisions(bot: BotHarness) -> int:
    with bot.services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(DecisionRecord)) or 0)


def _interaction(victim_url: str) -> bytes:
    payload = block_actions_payload(
        "share_decision", "1", user_id="U0VICTIM", channel_id="C0VICTIM", response_url=victim_url
    )
    return b"payload=" + quote_plus(json.dumps(payload)).encode()


FORGED_HEADERS = [
    {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=0"},  # the reported hole
    {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=" + "0" * 64},
    {"X-Slack-Request-Timestamp": "1e3", "X-Slack-Signature": "v0=" + "0" * 64},
    {"X-Slack-Request-Timestamp": "-1", "X-Slack-Signature": "v0=" + "0" * 64},
    {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=" + "0" * 64},
    {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
    {"X-Slack-Request-Timestamp": str(int(time.time()))},
    {"X-Slack-Signature": "v0=" + "0" * 64},
    {"X-Slack-Request-Timestamp": "٣٤٥", "X-Slack-Signature": "v0=" + "0" * 64},  # unicode digits
    {"X-Slack-Request-Timestamp": "NOW", "X-Slack-Signature": "v1=" + "0" * 64},
    {},
]


@pytest.mark.parametrize("headers", FORGED_HEADERS)
def test_unsigned_interactions_cause_no_call_and_no_write(
    bot: BotHarness, victim: Victim, headers: dict[str, str]
) -> None:
    before = _decisions(bot)
    body = _interaction(victim.url)
    if headers.get("X-Slack-Request-Timestamp") == "NOW":
        headers = {**headers, "X-Slack-Request-Timestamp": str(int(time.time()))}
    hdrs = {b"Content-Type": b"application/x-www-form-urlencoded"}
    hdrs.update({k.encode(): v.encode("utf-8") for k, v in headers.items()})
    response = bot.http.post(f"{bot.url}/slack/events", content=body, headers=hdrs)
    assert response.status_code == 401
    time.sleep(0.3)  # anything the request could have spawned would have run by now
    assert bot.slack.calls() == []
    assert victim.hits == []
    assert _decisions(bot) == before


def test_a_well_formed_but_wrong_signature_is_refused_for_every_kind_of_body(
    bot: BotHarness, victim: Victim
) -> None:
    forged = {
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "1" * 64,
    }
    bodies = [
        _interaction(victim.url),
        slash_command_body(text="assess ea:license as direct"),
        b'{"type":"event_callback","event":{"type":"app_home_opened","user":"U0VICTIM"}}',
        b"\xff\xfe not utf-8",
        b"[" * 50_000,
        b'{"a":' + b"9" * 5_000 + b"}",
        b"payload=" + quote_plus("[" * 50_000).encode(),
    ]
    before = _decisions(bot)
    for body in bodies:
        response = bot.http.post(f"{bot.url}/slack/events", content=body, headers=forged)
        assert response.status_code == 401, body[:40]
    time.sleep(0.3)
    assert bot.slack.calls() == []
    assert victim.hits == []
    assert _decisions(bot) == before


def test_the_same_interaction_signed_is_answered(bot: BotHarness) -> None:
    """The refusals above are the signature's doing: signed, a command goes through."""
    assert bot.post(slash_command_body(text="help")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":' + b"[" * 50_000,
        b'{"type":"block_actions","n":' + b"9" * 5_000 + b"}",
        b'{"type":"block_actions","n":NaN}',
        b"payload=" + quote_plus("[" * 50_000).encode(),
        b"payload=" + quote_plus('{"a":' + "[" * 40 + "]" * 40 + "}").encode(),  # deep, valid
        b"payload=" + quote_plus(json.dumps({"type": "block_actions", "team": "T1"})).encode(),
        b"payload=" + quote_plus(json.dumps({"type": "block_actions", "user": ["U1"]})).encode(),
        b"payload=" + quote_plus(json.dumps({"type": "block_actions", "user": {"id": 7}})).encode(),
        b"payload=" + quote_plus(json.dumps({"type": "block_actions", "actions": "x"})).encode(),
        b"payload="
        + quote_plus(json.dumps({"type": "block_actions", "actions": [{"value": 1}]})).encode(),
        b"payload=" + quote_plus(json.dumps({"type": "view_submission", "view": "v"})).encode(),
        b"payload="
        + quote_plus(
            json.dumps({"type": "block_actions", "response_url": "http://169.254.169.254/x"})
        ).encode(),
        b"payload="
        + quote_plus(json.dumps({"type": "block_actions", "response_url": "not a url"})).encode(),
        b"payload="
        + quote_plus(
            json.dumps(
                {
                    "type": "view_submission",
                    "response_urls": [{"response_url": "https://evil.example/hooks"}],
                }
            )
        ).encode(),
    ],
)
def test_signed_bodies_slack_never_sends_get_400(
    bot: BotHarness, victim: Victim, body: bytes
) -> None:
    response = bot.post(body)
    assert response.status_code == 400
    assert "Traceback" not in response.text
    assert bot.slack.calls() == []


def test_a_signed_payload_with_a_foreign_response_url_is_refused(
    bot: BotHarness, victim: Victim
) -> None:
    response = bot.post(_interaction(victim.url))
    assert response.status_code == 400
    assert victim.hits == []


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.slack.com/commands/T1/1/abc", True),
        ("https://hooks.slack-gov.com/actions/T1/1/abc", True),
        ("http://hooks.slack.com/commands/T1/1/abc", False),  # not https
        ("https://hooks.slack.com:8443/commands", False),
        ("https://hooks.slack.com.evil.example/x", False),
        ("https://evil.example/hooks.slack.com", False),
        ("https://user@hooks.slack.com/x", False),
        ("https://[::1/", False),
        ("http://127.0.0.1:9/x", False),  # loopback is not Slack...
    ],
)
def test_response_url_hosts(url: str, ok: bool) -> None:
    assert is_slack_response_url(url) is ok


def test_a_stand_in_api_url_adds_its_own_host_only() -> None:
    hosts = stand_in_hosts("http://127.0.0.1:5555/api/")
    assert is_slack_response_url("http://127.0.0.1:5555/response/T/1", hosts)  # ...unless it is
    assert not is_slack_response_url("http://127.0.0.1:5556/response/T/1", hosts)
    assert stand_in_hosts("https://slack.com/api/") == frozenset()
