"""Invitations end to end, with two organizations in different Slack teams: a provider
(Contoso, T0PROVIDER) and its reseller (Fabrikam, T0RESELLER)."""

from __future__ import annotations

import json

from bot.core.ui.metadata import InviteContext
from bot.testkit.flows import (
    CONTOSO_TENANT,
    DIRECT_TEAM,
    FABRIKAM_TENANT,
    PROVIDER_TEAM,
    PROVIDER_USER,
    RESELLER_TEAM,
    RESELLER_USER,
    buttons,
    click,
    invite_form,
    latest,
    request_form,
    state_of,
    submit,
)
from bot.testkit.harness import BotHarness, ack_json


def test_direct_partner_creates_an_invitation(bot: BotHarness) -> None:
    """Under edition 2017-03 (chosen by the workspace's admin) the invitation may ask for
    delegated admin (DAP=true); under 2026-11 it may not (tests/invitations/test_editions.py)."""
    bot.command("edition 2017-03", team_id=DIRECT_TEAM, user_id="U0ADATUMADM")
    response = bot.command("invite Woodgrove", team_id=DIRECT_TEAM, user_id="U0ADATUMUSR")
    assert response.status_code == 200 and response.text == ""
    view = bot.slack.wait_for("views.open")[0].params["view"]
    assert view["callback_id"] == "invite_modal"
    assert "reseller" not in [b["block_id"] for b in view["blocks"]]  # a direct partner has none
    customer = next(b for b in view["blocks"] if b["block_id"] == "customer")
    assert customer["element"]["initial_value"] == "Woodgrove"

    assert (
        submit(
            bot,
            "invite_modal",
            invite_form(delegated_admin=True),
            team=DIRECT_TEAM,
            user="U0ADATUMUSR",
        )
        == {}
    )
    message = latest(bot, "C0MCDESK01")
    text = json.dumps(message["blocks"])
    assert "created" in state_of(message)
    assert (
        "invType=ResellerRelationship&amp;partnerId=5c4b3a29-1807-4f6e-9d5c-4b3a29180f6e&amp;msppId=0&amp;DAP=true"
        in text
    )
    assert "Woodgrove Bank" in text and "<@U0ADATUMUSR>" in text
    assert buttons(message) == ["inv_sent_customer", "inv_cancel"]


def test_provider_creates_for_a_reseller_and_sends_it(bot: BotHarness) -> None:
    bot.command("invite", team_id=PROVIDER_TEAM, user_id=PROVIDER_USER)
    view = bot.slack.wait_for("views.open")[0].params["view"]
    reseller_block = next(b for b in view["blocks"] if b["block_id"] == "reseller")
    assert {o["value"] for o in reseller_block["element"]["options"]} == {"fabrikam", "tailspin"}

    submit(
        bot,
        "invite_modal",
        invite_form(reseller="fabrikam"),
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
    )
    message = latest(bot, "C0MCDESK01")
    text = json.dumps(message["blocks"])
    assert "invType=IndirectResellerRelationship" in text
    assert (
        f"partnerId={FABRIKAM_TENANT}&amp;msppId=7654321&amp;indirectCSPId={CONTOSO_TENANT}" in text
    )
    assert buttons(message) == ["inv_send_reseller", "inv_sent_customer", "inv_cancel"]

    bot.slack.clear()
    click(bot, message, "inv_send_reseller", team=PROVIDER_TEAM, user=PROVIDER_USER)
    provider_copy = latest(bot, "C0MCDESK01")  # updated in place
    assert "sent to the reseller" in state_of(provider_copy)
    # what can still happen: no second "Send to reseller"
    assert buttons(provider_copy) == ["inv_sent_customer", "inv_cancel"]
    reseller_copy = latest(bot, "C0RESNOTIF")
    assert "sent to the reseller" in state_of(reseller_copy)
    assert buttons(reseller_copy) == ["inv_sent_customer"]  # the reseller may only forward
    # one click: the reseller's copy posted once, the provider's updated once
    assert [c.params["channel"] for c in bot.slack.calls("chat.postMessage")] == ["C0RESNOTIF"]
    assert [c.params["channel"] for c in bot.slack.calls("chat.update")] == ["C0MCDESK01"]
    # the reseller forwards it to the customer; both copies follow, each updated once
    bot.slack.clear()
    click(bot, reseller_copy, "inv_sent_customer", team=RESELLER_TEAM, user=RESELLER_USER)
    updates = sorted(c.params["channel"] for c in bot.slack.calls("chat.update"))
    assert updates == ["C0MCDESK01", "C0RESNOTIF"]
    for channel in ("C0MCDESK01", "C0RESNOTIF"):
        assert "sent to the customer" in state_of(latest(bot, channel))
    assert buttons(latest(bot, "C0MCDESK01")) == ["inv_cancel"]
    assert buttons(latest(bot, "C0RESNOTIF")) == []


def test_reseller_asks_provider_creates_in_one_step(bot: BotHarness) -> None:
    # under 2017-03 (the reseller's workspace chose it) the reseller tries to create one: the
    # policy's refusal, with its citation (2026-11: tests/invitations/test_editions.py)
    bot.command("edition 2017-03", team_id=RESELLER_TEAM, user_id="U0RESADMIN")
    refusal = ack_json(
        bot.command("invite Woodgrove", team_id=RESELLER_TEAM, user_id=RESELLER_USER)
    )
    text = json.dumps(refusal["blocks"])
    assert "table-reseller-no-own-invitation" in text
    assert "cannot create their own CSP invitations" in text
    assert buttons(refusal) == ["ask_provider_for_invitation"]
    assert bot.slack.calls("views.open") == []

    click(bot, refusal, "ask_provider_for_invitation", team=RESELLER_TEAM, user=RESELLER_USER)
    modal = bot.slack.wait_for("views.open")[0].params["view"]
    assert modal["callback_id"] == "request_modal"
    assert (
        submit(bot, "request_modal", request_form(), team=RESELLER_TEAM, user=RESELLER_USER) == {}
    )

    provider_msg = latest(bot, "C0PROVNOTIF")
    assert "requested" in state_of(provider_msg)
    assert buttons(provider_msg) == ["inv_fulfil", "inv_decline"]
    reseller_msg = latest(bot, "C0MCDESK01")
    assert buttons(reseller_msg) == ["inv_cancel"]

    bot.slack.clear()
    click(bot, provider_msg, "inv_fulfil", team=PROVIDER_TEAM, user=PROVIDER_USER)
    # "Create invitation": each copy updated once (no second update of the same content)
    updates = sorted(c.params["channel"] for c in bot.slack.calls("chat.update"))
    assert updates == ["C0MCDESK01", "C0PROVNOTIF"]
    provider_msg, reseller_msg = latest(bot, "C0PROVNOTIF"), latest(bot, "C0MCDESK01")
    assert buttons(provider_msg) == ["inv_sent_customer", "inv_cancel"]
    for message in (provider_msg, reseller_msg):
        assert "sent to the reseller" in state_of(message)
        assert "IndirectResellerRelationship" in json.dumps(message["blocks"])
    assert buttons(reseller_msg) == ["inv_sent_customer"]


def test_two_clicks_at_once_one_wins(bot: BotHarness) -> None:
    bot.command("invite", team_id=PROVIDER_TEAM, user_id=PROVIDER_USER)
    submit(bot, "invite_modal", invite_form(), team=PROVIDER_TEAM, user=PROVIDER_USER)
    stale = latest(bot, "C0MCDESK01")
    click(bot, stale, "inv_sent_customer", team=PROVIDER_TEAM, user=PROVIDER_USER)
    # a second person clicks Cancel on the message as it was before the first click
    click(bot, stale, "inv_cancel", team=PROVIDER_TEAM, user="U0OTHERUSER")
    notice = bot.slack.calls("response_url")[-1].params
    assert "Someone changed this invitation just before you" in notice["text"]
    assert "sent" in state_of(latest(bot, "C0MCDESK01"))


def test_impossible_and_foreign_moves_are_refused(bot: BotHarness) -> None:
    bot.command("invite", team_id=PROVIDER_TEAM, user_id=PROVIDER_USER)
    submit(
        bot,
        "invite_modal",
        invite_form(reseller="fabrikam"),
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
    )
    message = latest(bot, "C0MCDESK01")
    # another organization's user clicks the provider's Cancel button
    click(bot, message, "inv_cancel", team="T0NORTHWIND", user="U0NWUSER01")
    assert "cannot find that invitation" in bot.slack.calls("response_url")[-1].params["text"]
    # the reseller may not cancel the provider's invitation
    click(bot, message, "inv_cancel", team=RESELLER_TEAM, user=RESELLER_USER)
    assert "cannot do that" in bot.slack.calls("response_url")[-1].params["text"]
    click(bot, message, "inv_cancel", team=PROVIDER_TEAM, user=PROVIDER_USER)
    cancelled = latest(bot, "C0MCDESK01")
    assert "cancelled" in state_of(cancelled) and buttons(cancelled) == []
    # cancelling again (an old copy of the message) is refused clearly
    click(bot, message, "inv_cancel", team=PROVIDER_TEAM, user=PROVIDER_USER)
    assert "cancelled" in bot.slack.calls("response_url")[-1].params["text"]


def test_status_shows_only_what_each_organization_may_see(bot: BotHarness) -> None:
    bot.command("invite", team_id=PROVIDER_TEAM, user_id=PROVIDER_USER)
    submit(
        bot,
        "invite_modal",
        invite_form("Woodgrove", reseller="fabrikam"),
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
    )
    bot.command("invite", team_id=PROVIDER_TEAM, user_id=PROVIDER_USER)
    submit(
        bot,
        "invite_modal",
        invite_form("Litware", domain="litware.com", reseller="tailspin"),
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
    )
    bot.command("invite", team_id=DIRECT_TEAM, user_id="U0ADATUMUSR")
    submit(
        bot,
        "invite_modal",
        invite_form("Proseware", domain=None),
        team=DIRECT_TEAM,
        user="U0ADATUMUSR",
    )

    def status(team: str, customer: str = "") -> str:
        return json.dumps(ack_json(bot.command(f"status {customer}", team_id=team)))

    provider = status(PROVIDER_TEAM)
    assert "Woodgrove" in provider and "Litware" in provider and "Proseware" not in provider
    reseller = status(RESELLER_TEAM)
    assert "Woodgrove" in reseller and "Litware" not in reseller and "Proseware" not in reseller
    direct = status(DIRECT_TEAM)
    assert "Proseware" in direct and "Woodgrove" not in direct
    assert "Litware" not in status(PROVIDER_TEAM, "wood")
    assert "Multichannel's partner directory" in status("T0STRANGER")


def test_admin_is_for_admins_only(bot: BotHarness) -> None:
    denied = json.dumps(
        ack_json(bot.command("admin", team_id=PROVIDER_TEAM, user_id=PROVIDER_USER))
    )
    assert "Only your organization's Multichannel admins" in denied and "U0PROVADMIN" in denied
    allowed = json.dumps(
        ack_json(bot.command("admin", team_id=PROVIDER_TEAM, user_id="U0PROVADMIN"))
    )
    assert "Contoso Distribution" in allowed and "Fabrikam IT" in allowed
    answer = ack_json(bot.command("admin", team_id=PROVIDER_TEAM, user_id="U0PROVADMIN"))
    org_text = next(b for b in answer["blocks"] if b["block_id"] == "admin_org")["text"]["text"]
    lines = org_text.splitlines()
    admins = next(line for line in lines if line.startswith("Admins: "))
    assert "Resellers" not in admins  # its own line, not run into the admins
    assert any(line.startswith("Resellers: ") for line in lines)


def test_invalid_invite_form_gets_errors_on_the_right_blocks(bot: BotHarness) -> None:
    bot.command("invite", team_id=PROVIDER_TEAM, user_id=PROVIDER_USER)
    answer = submit(
        bot,
        "invite_modal",
        invite_form("  ", domain="not a domain", tenant="1234", reseller="northwind-dist"),
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
    )
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"customer", "domain", "tenant", "reseller"}


def test_outsider_is_told_who_can_add_them(bot: BotHarness) -> None:
    answer = json.dumps(ack_json(bot.command("invite", team_id="T0STRANGER")))
    assert "T0STRANGER" in answer and "mcbot partners import" in answer


def test_expired_invitations_update_their_message(bot: BotHarness) -> None:
    import asyncio
    from dataclasses import replace
    from datetime import timedelta

    from slack_sdk.web.async_client import AsyncWebClient

    from bot.core import invitations
    from bot.core.store.clock import utc_now

    bot.command("invite", team_id=PROVIDER_TEAM, user_id=PROVIDER_USER)
    submit(bot, "invite_modal", invite_form(), team=PROVIDER_TEAM, user=PROVIDER_USER)
    later = replace(bot.services, clock=lambda: utc_now() + timedelta(days=31))
    client = AsyncWebClient(token="xoxb-test-token", base_url=bot.slack.base_url)
    assert asyncio.run(invitations.expire(later, client)) == 1
    expired = latest(bot, "C0MCDESK01")
    assert "expired" in state_of(expired) and buttons(expired) == []
    assert asyncio.run(invitations.expire(later, client)) == 0


def test_decision_buttons_start_the_invitation(bot: BotHarness) -> None:
    decision = ack_json(
        bot.command("assess ea:license", team_id=PROVIDER_TEAM, user_id=PROVIDER_USER)
    )
    # role from the directory
    assert buttons(decision) == ["share_decision", "compare_editions", "create_invitation"]
    click(bot, decision, "create_invitation", team=PROVIDER_TEAM, user=PROVIDER_USER)
    modal = bot.slack.wait_for("views.open")[0].params["view"]
    assert modal["callback_id"] == "invite_modal"
    assert InviteContext.model_validate_json(modal["private_metadata"]).decision_id

    decision = ack_json(
        bot.command(
            "assess ea:license edition 2017-03", team_id=RESELLER_TEAM, user_id=RESELLER_USER
        )
    )
    assert buttons(decision) == [
        "share_decision",
        "compare_editions",
        "ask_provider_for_invitation",
    ]
    # under 2026-11 the reseller sends its own invitation, or asks its provider here
    current = ack_json(
        bot.command("assess ea:license", team_id=RESELLER_TEAM, user_id=RESELLER_USER)
    )
    assert "Send the customer your indirect reseller invitation" in json.dumps(current)
    assert buttons(current) == ["share_decision", "compare_editions", "ask_provider_for_invitation"]
    click(bot, decision, "ask_provider_for_invitation", team=RESELLER_TEAM, user=RESELLER_USER)
    modal = bot.slack.wait_for("views.open", count=2)[1].params["view"]
    assert modal["callback_id"] == "request_modal"
    provider_block = next(b for b in modal["blocks"] if b["block_id"] == "provider")
    assert {o["value"] for o in provider_block["element"]["options"]} == {
        "contoso-dist",
        "northwind-dist",
    }


def test_a_replayed_submission_creates_one_invitation(bot: BotHarness) -> None:
    """The same signed view_submission three times: acted on once; the user is told the
    form was submitted already."""
    from bot.core.store.models import Invitation
    from bot.testkit.flows import open_modal
    from bot.testkit.payloads import view_submission_payload

    view = open_modal(bot, "invite_modal", team=PROVIDER_TEAM, user=PROVIDER_USER)
    payload = view_submission_payload(
        "invite_modal",
        invite_form("Replayed Ltd", reseller="fabrikam"),
        view.get("private_metadata", ""),
        user_id=PROVIDER_USER,
        team_id=PROVIDER_TEAM,
        view_id=view["id"],
    )
    for _ in range(3):
        assert bot.interact(payload).status_code == 200
    notices = bot.slack.wait_for("chat.postEphemeral", count=2)
    assert all("submitted already" in c.params["text"] for c in notices[-2:])
    with bot.services.sessions() as session:
        made = session.query(Invitation).filter_by(customer_name="Replayed Ltd").count()
    assert made == 1


def test_slack_connect_clicks_act_as_the_clicking_users_organization(bot: BotHarness) -> None:
    """A channel shared by the provider (host) and its reseller: every payload carries the
    provider's `team.id`, while `user.team_id` is the clicking user's workspace. The reseller's
    click is the reseller's, never the provider's."""
    click_request = ack_json(
        bot.command("invite Woodgrove", team_id=RESELLER_TEAM, user_id=RESELLER_USER)
    )
    click(bot, click_request, "ask_provider_for_invitation", team=RESELLER_TEAM, user=RESELLER_USER)
    submit(bot, "request_modal", request_form(), team=RESELLER_TEAM, user=RESELLER_USER)
    provider_msg = latest(bot, "C0PROVNOTIF")
    assert buttons(provider_msg) == ["inv_fulfil", "inv_decline"]

    # the reseller's user clicks the provider's "Create invitation" in the shared channel
    click(
        bot,
        provider_msg,
        "inv_fulfil",
        team=RESELLER_TEAM,
        user=RESELLER_USER,
        channel_team=PROVIDER_TEAM,
    )
    assert "cannot do that" in bot.slack.calls("response_url")[-1].params["text"]
    assert "requested" in state_of(latest(bot, "C0PROVNOTIF"))  # nothing moved

    # the provider's own user, in the same shared channel, may
    click(
        bot,
        provider_msg,
        "inv_fulfil",
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
        channel_team=PROVIDER_TEAM,
    )
    assert "sent" in state_of(latest(bot, "C0PROVNOTIF"))


def test_slack_connect_a_provider_user_in_a_resellers_channel_acts_as_the_provider(
    bot: BotHarness,
) -> None:
    """The other way round: the reseller hosts the shared channel and the provider's user
    clicks there; the payload's `team.id` is the reseller's, the action is the provider's."""
    bot.command("invite", team_id=PROVIDER_TEAM, user_id=PROVIDER_USER)
    submit(
        bot,
        "invite_modal",
        invite_form(reseller="fabrikam"),
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
    )
    message = latest(bot, "C0MCDESK01")
    click(
        bot,
        message,
        "inv_cancel",
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
        channel_team=RESELLER_TEAM,
    )
    assert "cancelled" in state_of(latest(bot, "C0MCDESK01"))
