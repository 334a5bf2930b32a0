"""Buttons, the assess modal, the Home tab and the error handler, end to end."""

from __future__ import annotations

import json
from typing import Any

from bot.core.ui.metadata import AssessOrigin
from bot.testkit import (
    app_home_opened_event,
    block_actions_payload,
    static_select,
    text_input,
    view_submission_payload,
)
from bot.testkit.harness import BotHarness, ack_json


def multi(values: list[str]) -> dict[str, Any]:
    return {
        "type": "multi_static_select",
        "selected_options": [
            {"text": {"type": "plain_text", "text": v}, "value": v} for v in values
        ],
    }


def checkboxes(values: list[str]) -> dict[str, Any]:
    return {"type": "checkboxes", "selected_options": [{"value": v} for v in values]}


def form(
    *,
    role: str | None = "indirect_reseller",
    subs: list[str] | None = None,
    cloud: str = "global",
    csp: list[str] | None = None,
    customer: str | None = "Contoso <!channel>",
) -> dict[str, Any]:
    return {
        "role": {"role": static_select(role)},
        "subscriptions": {"subscriptions": multi(subs if subs is not None else ["ea:license"])},
        "cloud": {"cloud": static_select(cloud)},
        "csp_partner": {"csp_partner": checkboxes(csp or [])},
        "customer": {"customer": text_input(customer)},
    }


def open_assess(
    bot: BotHarness, *, channel_id: str = "C0ASKED001", response_url: str | None = None
) -> dict[str, Any]:
    """`/multichannel assess` with no facts: the bot opens the form (and remembers where)."""
    bot.command("assess", channel_id=channel_id, response_url=response_url)
    call = [c for c in bot.slack.calls("views.open") if c.response][-1]
    return dict(call.response["view"])


def submit(
    bot: BotHarness,
    values: dict[str, Any],
    metadata: str | None = None,
    *,
    view: dict[str, Any] | None = None,
    user_id: str | None = None,
) -> dict[str, Any]:
    """Submit the assess form the bot opened (opened now when `view` is None), sending back
    `metadata` as its private_metadata (default: what the bot put there)."""
    view = view or open_assess(bot, response_url=bot.slack.response_url())
    sent = view.get("private_metadata", "") if metadata is None else metadata
    extra = {"user_id": user_id} if user_id else {}
    payload = view_submission_payload("assess_modal", values, sent, view_id=view["id"], **extra)
    response = bot.interact(payload)
    assert response.status_code == 200
    return ack_json(response)


def test_modal_submission_posts_the_decision_where_it_was_asked(bot: BotHarness) -> None:
    assert submit(bot, form(subs=["ea:license", "csp_partner:usage"])) == {}
    posted = bot.slack.wait_for("response_url")[0].params
    assert posted["response_type"] == "ephemeral"
    shown = json.dumps([b for b in posted["blocks"] if b["type"] != "actions"])
    assert "Ask your indirect provider for the invitation" in shown
    assert "Contoso &lt;!channel&gt;" in shown  # the customer name, escaped
    assert "<!channel>" not in shown


def test_a_modal_the_bot_did_not_open_for_this_user_answers_in_a_dm(bot: BotHarness) -> None:
    """Its context is the server's, kept for the user it was opened for: another user's
    submission of the same view gets no channel and no response_url from it."""
    view = open_assess(bot, response_url=bot.slack.response_url())
    bot.slack.reset()
    bot.slack.set_user("U0SOMEONE2")  # a person of the workspace (none exists unless set)
    assert submit(bot, form(), view=view, user_id="U0SOMEONE2") == {}
    bot.slack.wait_for("conversations.open")
    message = bot.slack.wait_for("chat.postMessage")[0].params
    assert message["channel"].startswith("D")
    assert "Supported" in message["text"]


def test_modal_validation_errors_go_to_the_right_block(bot: BotHarness) -> None:
    metadata = AssessOrigin().dump()
    answer = submit(bot, form(subs=[]), metadata)
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {"subscriptions": "Pick at least one subscription."}
    answer = submit(bot, form(subs=["ea:forever"], customer="   ", role="emperor"), metadata)
    assert set(answer["errors"]) == {"subscriptions", "customer", "role"}
    assert bot.slack.calls("chat.postMessage") == []


def test_a_forged_private_metadata_is_ignored(bot: BotHarness) -> None:
    """The answer goes where the modal was opened, whatever the submission's metadata says."""
    forged = AssessOrigin(channel_id="C0ELSEWHERE", response_url="https://hooks.slack.com/x/1/2")
    assert submit(bot, form(), forged.dump()) == {}
    posted = bot.slack.wait_for("response_url")
    assert posted and bot.slack.calls("chat.postEphemeral") == []


def test_share_in_channel_posts_the_decision_visibly(bot: BotHarness) -> None:
    decision = ack_json(bot.command("assess ea:usage as direct"))
    button = next(b for b in decision["blocks"] if b["type"] == "actions")["elements"][0]
    payload = block_actions_payload(
        "share_decision",
        button["value"],
        user_id="U0SHARER01",
        response_url=bot.slack.response_url(),
        is_ephemeral=True,
    )
    assert bot.interact(payload).status_code == 200
    shared = bot.slack.wait_for("response_url")[0].params
    assert shared["response_type"] == "in_channel"
    assert shared["replace_original"] is False
    text = json.dumps(shared["blocks"])
    assert "Shared by <@U0SHARER01>" in text
    assert "share_decision" not in text  # no buttons on the shared copy
    # the same decision id as the one the user saw
    footer = next(b for b in decision["blocks"] if b["block_id"] == "footer")
    shared_footer = next(b for b in shared["blocks"] if b["block_id"] == "footer")
    assert footer == shared_footer


def test_a_tampered_share_button_is_refused_politely(bot: BotHarness) -> None:
    payload = block_actions_payload(
        "share_decision", '{"decision_id": "x"}', response_url=bot.slack.response_url()
    )
    assert bot.interact(payload).status_code == 200
    notice = bot.slack.wait_for("response_url")[0].params
    assert "expired" in notice["text"]


def test_assess_button_opens_the_modal(bot: BotHarness) -> None:
    payload = block_actions_payload(
        "open_assess_modal", "help", response_url=bot.slack.response_url()
    )
    assert bot.interact(payload).status_code == 200
    view = bot.slack.wait_for("views.open")[0].params["view"]
    origin = AssessOrigin.model_validate_json(view["private_metadata"])
    assert origin.response_url == payload["response_url"]


def test_home_tab_is_published(bot: BotHarness) -> None:
    assert bot.event(app_home_opened_event("U0HOME0001")).status_code == 200
    call = bot.slack.wait_for("views.publish")[0]
    assert call.params["user_id"] == "U0HOME0001"
    assert call.params["view"]["type"] == "home"


def test_an_unexpected_failure_shows_a_reference_and_answers_200(bot: BotHarness, caplog) -> None:  # type: ignore[no-untyped-def]
    bot.slack.fail_next("views.open", error="internal_error")
    response = bot.command("assess")
    assert response.status_code == 200
    apology = bot.slack.wait_for("response_url")[0].params
    assert "Sorry, something went wrong" in apology["text"]
    reference = apology["text"].split("`")[1]
    assert reference.startswith("ERR-")
    assert any(reference in r.getMessage() for r in caplog.records)
