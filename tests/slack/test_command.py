"""`/multichannel` end to end: signed form posts to the real server on loopback."""

from __future__ import annotations

import time

import pytest

from bot.testkit import slash_command_body
from bot.testkit.harness import BotHarness, ack_json


def texts(message: dict) -> str:
    """All the mrkdwn/plain text of a message's blocks, joined."""
    out = []
    for block in message.get("blocks", []):
        if "text" in block:
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            if isinstance(element.get("text"), str):
                out.append(element["text"])
            elif isinstance(element.get("text"), dict):
                out.append(element["text"]["text"])
    return "\n".join(out)


@pytest.mark.parametrize("text", ["", "help", "  HELP  "])
def test_help(bot: BotHarness, text: str) -> None:
    response = bot.command(text)
    assert response.status_code == 200
    message = ack_json(response)
    assert message["response_type"] == "ephemeral"
    assert "/multichannel assess" in texts(message)
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == ["open_assess_modal"]


def test_unknown_subcommand_gets_help_with_the_closest_match(bot: BotHarness) -> None:
    message = ack_json(bot.command("asess ea:license"))
    assert "I don't know `asess`. Did you mean `assess`?" in texts(message)
    assert "/multichannel assess" in texts(message)


def test_assess_answers_with_the_bots_default_edition(bot: BotHarness) -> None:
    """No workspace edition, no `edition` in the command: POLICY_EDITION's (`current`)."""
    body = texts(ack_json(bot.command("assess ea:license csp_partner:usage as reseller")))
    assert "policy edition 2026-11" in body
    assert "1. Send the customer your indirect reseller invitation" in body
    assert "Rule `reseller-own-invitation`" in body
    assert "Ask your indirect provider for the invitation" not in body


def test_assess_with_arguments_answers_in_the_acknowledgement(bot: BotHarness) -> None:
    response = bot.command("assess ea:license csp_partner:usage as reseller edition 2017-03")
    assert response.status_code == 200
    message = ack_json(response)
    body = texts(message)
    assert message["blocks"][0]["text"]["text"].endswith("Supported")
    # a reseller does not request the relationship itself: its provider's invitation (F7)
    assert "1. Ask your indirect provider for the invitation" in body
    assert "Request a reseller relationship" not in body
    assert "Rule `table-reseller-no-own-invitation`" in body
    assert "policy edition 2017-03" in body
    # no Web API call was needed to answer
    assert bot.slack.calls("chat.postMessage") == []
    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    assert actions["elements"][0]["action_id"] == "share_decision"


def test_assess_without_role_says_what_is_missing(bot: BotHarness) -> None:
    body = texts(ack_json(bot.command("assess ea:license")))
    assert "To answer fully I also need" in body
    assert "as reseller" in body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("assess ea", "`ea` is not `SOURCE:KIND[:COMMERCE]`"),
        ("assess ea:license:", "`ea:license:` is not `SOURCE:KIND[:COMMERCE]`"),
        ("assess csp_partner:license:nce", "Unknown commerce `nce`. Valid values: new, legacy"),
        ("assess ea:license edition 2099-01", "Unknown policy edition `2099-01`"),
        ("assess ea:license edition", "`edition` must be followed by an edition: 2017-03"),
        (
            "assess ea:license edition 2017-03 edition 2026-11",
            "Conflicting editions: 2017-03, 2026-11",
        ),
        ("assess ea:license non-csp-tenant", "add `csp-partner-customer`"),
        ("edition 1999", "Unknown policy edition `1999`"),
        ("assess shop:license", "Unknown source `shop`"),
        ("assess eaa:license", "Did you mean `ea`?"),
        ("assess ea:seats", "Unknown kind `seats`"),
        ("assess ea:license as boss", "Unknown role `boss`"),
        ("assess ea:license as", "`as` must be followed by a role"),
        ("assess ea:license cloud mars", "Unknown cloud `mars`"),
        ("assess as direct", "Name at least one subscription"),
    ],
)
def test_malformed_arguments_get_a_precise_message(
    bot: BotHarness, text: str, expected: str
) -> None:
    response = bot.command(text)
    assert response.status_code == 200
    assert expected in texts(ack_json(response))


def test_user_text_is_escaped(bot: BotHarness) -> None:
    body = texts(ack_json(bot.command("assess <!channel>:license")))
    assert "<!channel>" not in body
    assert "&lt;!channel&gt;" in body
    body = texts(ack_json(bot.command("<https://evil.example|click>")))
    assert "<https://evil.example|click>" not in body


def test_text_containing_payload_is_not_lost(bot: BotHarness) -> None:
    """Bolt 1.30 treats any form body containing "payload" as interactivity (404)."""
    response = bot.command("assess payload:license")
    assert response.status_code == 200
    assert "Unknown source `payload`" in texts(ack_json(response))
    response = bot.command("help payload")
    assert response.status_code == 200


def test_assess_without_arguments_opens_the_modal(bot: BotHarness) -> None:
    response = bot.command("assess")
    assert response.status_code == 200
    assert response.text == ""
    view = bot.slack.wait_for("views.open")[0].params["view"]
    assert view["callback_id"] == "assess_modal"
    ids = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert ids == ["role", "subscriptions", "cloud", "csp_partner", "ea_transfer", "customer"]


def test_forged_and_stale_signatures_get_401(bot: BotHarness) -> None:
    body = slash_command_body(text="help")
    assert bot.post(body, headers={"X-Slack-Signature": "v0=" + "0" * 64}).status_code == 401
    assert bot.post(body, timestamp=int(time.time()) - 600).status_code == 401
    assert bot.http.post(f"{bot.url}/slack/events", content=body).status_code == 401
    # the same body, properly signed, is accepted
    assert bot.post(body).status_code == 200


def test_bad_bodies_get_4xx_not_5xx(bot: BotHarness) -> None:
    url = f"{bot.url}/slack/events"
    # authentication comes first: unsigned, the same bytes are a 401, whatever they hold
    assert bot.http.post(url, content=b"\xff\xfe not utf-8").status_code == 401
    assert bot.post(b"\xff\xfe not utf-8").status_code == 400
    assert bot.post(b"x" * (1024 * 1024 + 1)).status_code == 413
    assert bot.post(b"payload=%7Bnot-json").status_code == 400
    assert bot.post(b"{not json").status_code == 400
    assert bot.post(b"[1, 2]").status_code == 404  # a form with one odd key: nothing to route
    assert bot.post(b"").status_code == 404  # signed, but nothing Bolt can route


def test_decisions_are_logged(bot: BotHarness) -> None:
    from bot.core.store.decisions import recent_decisions

    bot.command("assess open:usage as direct edition 2017-03", user_id="U0LOGGED01")
    records = []
    deadline = time.monotonic() + 5
    while not records and time.monotonic() < deadline:
        with bot.services.sessions.begin() as session:
            records = recent_decisions(session, "U0LOGGED01")
        time.sleep(0.02)
    assert records[0].outcome == "supported"
    assert records[0].steps[0] == "check_azure_service_availability"
    assert records[0].policy_edition == "2017-03"


def test_healthz(bot: BotHarness) -> None:
    assert bot.http.get(f"{bot.url}/healthz").json() == {"status": "ok", "database": "ok"}


def test_a_nul_in_a_command_gets_a_usage_error_not_a_database_error(bot: BotHarness) -> None:
    message = ack_json(bot.command("status a\x00b"))
    assert "control character" in message["text"]
    assert bot.slack.calls("chat.postEphemeral") == []


def test_the_edition_command_outside_the_partner_directory(bot: BotHarness) -> None:
    """Anyone may see which edition answers; only a directory organization's admins set it."""
    shown = texts_of_notice(bot.command("edition"))
    assert "policy edition *2026-11*" in shown and "POLICY_EDITION" in shown
    refused = texts_of_notice(bot.command("edition 2017-03"))
    assert "is not in Multichannel's partner directory" in refused
    assert "policy edition 2026-11" in texts(ack_json(bot.command("assess ea:license as direct")))


def texts_of_notice(response: object) -> str:
    import httpx

    assert isinstance(response, httpx.Response) and response.status_code == 200
    return str(ack_json(response)["text"])
