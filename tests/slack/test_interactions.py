"""Buttons, the assess modal, the Home tab and the error handler, end to end."""

from __future__ import annotations

import json
from typing import Any

import pytest

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
    ea: list[str] | None = None,
    customer: str | None = "Contoso <!channel>",
) -> dict[str, Any]:
    return {
        "role": {"role": static_select(role)},
        "subscriptions": {"subscriptions": multi(subs if subs is not None else ["ea:license"])},
        "cloud": {"cloud": static_select(cloud)},
        "csp_partner": {"csp_partner": checkboxes(csp or [])},
        "ea_transfer": {"ea_transfer": checkboxes(ea or [])},
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
    # the edition in force: no workspace edition here, so POLICY_EDITION's (current)
    assert "Send the customer your indirect reseller invitation" in shown
    assert "policy edition 2026-11" in shown
    assert "Contoso &lt;!channel&gt;" in shown  # the customer name, escaped
    assert "<!channel>" not in shown


def test_the_form_takes_commerce_a_non_csp_tenant_and_ea_transfer_eligibility(
    bot: BotHarness,
) -> None:
    """The facts `mcbot assess` takes, from the form: SOURCE:KIND:COMMERCE options,
    --customer-non-csp-tenant and --ea-transfer-eligible as checkboxes."""
    view = open_assess(bot, response_url=bot.slack.response_url())
    subs = next(b for b in view["blocks"] if b["block_id"] == "subscriptions")
    values = {o["value"] for g in subs["element"]["option_groups"] for o in g["options"]}
    assert {"csp_partner:license:new", "csp_partner:license:legacy", "ea:usage"} <= values
    values = form(role="direct", subs=["csp_partner:license:legacy", "ea:usage"], ea=["yes"])
    assert submit(bot, values, view=view) == {}
    shown = json.dumps(bot.slack.wait_for("response_url")[0].params["blocks"])
    assert "legacy (traditional) offer" in shown
    assert "Wait for the end of the term" in shown  # a legacy license does not transfer
    assert "Request billing ownership of the customer's direct-EA Azure subscriptions" in shown
    assert "you may request billing ownership of direct-EA Azure" in shown

    bot.slack.reset()
    values = form(role="direct", subs=["ea:license"], csp=["yes", "non_csp_tenant"])
    assert submit(bot, values) == {}
    shown = json.dumps(bot.slack.wait_for("response_url")[0].params["blocks"])
    assert "the tenant to serve is not its CSP tenant" in shown
    assert "Supported" in shown and "Decline" not in shown


def test_form_errors_for_the_new_facts(bot: BotHarness) -> None:
    metadata = AssessOrigin().dump()
    answer = submit(bot, form(csp=["non_csp_tenant"]), metadata)
    assert answer["errors"] == {
        "csp_partner": "A tenant that is not the customer's CSP tenant only applies when the "
        "customer is a CSP partner: tick both, or neither."
    }
    answer = submit(bot, form(subs=["csp_partner:license:nce"], ea=["maybe"]), metadata)
    assert set(answer["errors"]) == {"subscriptions", "ea_transfer"}
    assert bot.slack.calls("chat.postMessage") == []


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


def click_compare(bot: BotHarness, value: str, user_id: str = "U0COMPARE1") -> dict[str, Any]:
    payload = block_actions_payload(
        "compare_editions",
        value,
        user_id=user_id,
        response_url=bot.slack.response_url(),
        is_ephemeral=True,
    )
    assert bot.interact(payload).status_code == 200
    return dict(bot.slack.wait_for("response_url")[0].params)


def compare_button(decision: dict[str, Any]) -> dict[str, Any]:
    actions = next(b for b in decision["blocks"] if b["type"] == "actions")["elements"]
    button = next(e for e in actions if e["action_id"] == "compare_editions")
    assert button["text"]["text"] == "What would the other edition say?"
    return dict(button)


def test_every_answer_can_show_what_the_other_edition_would_say(bot: BotHarness) -> None:
    """The same facts under the other edition, the difference rule by rule with each rule's
    citation (policy/compare.py, as `mcbot assess --compare`), privately to who clicked."""
    decision = ack_json(bot.command("assess csp_partner:license as direct"))  # 2026-11
    shown = click_compare(bot, compare_button(decision)["value"])
    assert shown["response_type"] == "ephemeral" and shown["replace_original"] is False
    text = json.dumps(shown["blocks"], ensure_ascii=False)
    assert "What edition 2017-03 would say" in text
    assert "Under edition 2017-03 this answer differs because:" in text
    assert "the outcome is Not supported instead of Supported" in text
    assert "it adds the step *Wait for the end of the term, or have the customer cancel first*" in (
        text
    )
    assert "Rule `no-license-switch`" in text  # the 2017-03 rule and its words
    assert "Customers cannot switch license-based subscriptions" in text
    assert "it drops the step *Create the transfer request in Partner Center" in text
    assert "Rule `license-partner-transfer`" in text  # the 2026-11 rule and its words
    assert "Partner transfers can only occur if both the source" in text
    footer = next(b for b in decision["blocks"] if b["block_id"] == "footer")
    decision_id = footer["elements"][0]["text"].split("`")[1]
    assert f"`{decision_id}` · policy edition 2026-11" in text and "compared with 2017-03" in text

    # an answer under 2017-03 is compared with the newest edition
    bot.slack.reset()
    decision = ack_json(bot.command("assess csp_partner:license as direct edition 2017-03"))
    text = json.dumps(click_compare(bot, compare_button(decision)["value"])["blocks"])
    assert "What edition 2026-11 would say" in text
    assert "the outcome is Supported instead of Not supported" in text


def test_the_comparison_says_when_nothing_differs_and_speaks_spanish(bot: BotHarness) -> None:
    bot.slack.set_user("U0ESPANOL1", locale="es-ES")
    decision = ack_json(bot.command("assess ea:license as direct cloud china"))
    shown = click_compare(bot, compare_button(decision)["value"], user_id="U0ESPANOL1")
    text = json.dumps(shown["blocks"], ensure_ascii=False)
    assert "Con la edición 2017-03" in text


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        '{"decision_id": "x"}',
        # a decision id that is not ours, an edition this version does not have, bad facts
        '{"decision_id": "<!channel>", "edition": "2017-03", "facts": '
        '{"subscriptions": [{"source": "ea", "kind": "license"}]}}',
        '{"decision_id": "abc", "edition": "2099-01", "facts": '
        '{"subscriptions": [{"source": "ea", "kind": "license"}]}}',
        '{"decision_id": "abc", "edition": "current", "facts": '
        '{"subscriptions": [{"source": "ea", "kind": "license"}]}}',
        '{"decision_id": "abc", "edition": "2017-03", "facts": {"subscriptions": []}}',
        '{"decision_id": "abc", "edition": "2017-03", "facts": '
        '{"subscriptions": [{"source": "ea", "kind": "license", "commerce": "nce"}]}}',
        '{"decision_id": "abc", "edition": "2017-03", "admin": true, "facts": '
        '{"subscriptions": [{"source": "ea", "kind": "license"}]}}',
    ],
)
def test_a_tampered_compare_button_is_out_of_date(bot: BotHarness, value: str) -> None:
    notice = click_compare(bot, value)
    assert notice["text"] == "This button has expired. Run `/multichannel assess` again."
    assert "blocks" not in notice


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
