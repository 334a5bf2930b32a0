"""The Home tab (what each user may see, refreshed on change) and languages per user."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.testkit import app_home_opened_event
from bot.testkit.flows import (
    PROVIDER_TEAM,
    PROVIDER_USER,
    RESELLER_TEAM,
    RESELLER_USER,
    invite_form,
    request_form,
    submit,
)
from bot.testkit.harness import BotHarness, ack_json


def open_home(bot: BotHarness, user: str, team: str) -> dict[str, Any]:
    before = len(bot.slack.calls("views.publish"))
    assert bot.event(app_home_opened_event(user), team_id=team).status_code == 200
    call = bot.slack.wait_for("views.publish", count=before + 1)[-1]
    assert call.params["user_id"] == user
    return dict(call.params["view"])


def home_text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_home_shows_requests_to_the_provider_and_refreshes(bot: BotHarness) -> None:
    empty = open_home(bot, PROVIDER_USER, PROVIDER_TEAM)
    assert "Contoso Distribution" in home_text(empty)
    assert "Requests waiting for you" not in home_text(empty)

    submit(bot, "request_modal", request_form("Woodgrove"), team=RESELLER_TEAM, user=RESELLER_USER)
    # the provider had opened its Home tab: it is republished with the request and its buttons
    deadline = time.monotonic() + 5
    while True:
        published = [
            c for c in bot.slack.calls("views.publish") if c.params["user_id"] == PROVIDER_USER
        ]
        if len(published) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(published) >= 2
    home = published[-1].params["view"]
    assert "Requests waiting for you" in home_text(home) and "Woodgrove" in home_text(home)
    actions = [
        e["action_id"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert {"inv_fulfil", "inv_decline"} <= set(actions)

    reseller_home = open_home(bot, RESELLER_USER, RESELLER_TEAM)
    assert "Your requests" in home_text(reseller_home) and "Woodgrove" in home_text(reseller_home)
    assert "inv_fulfil" not in home_text(reseller_home)


def test_home_never_shows_another_organizations_invitations(bot: BotHarness) -> None:
    bot.command("invite", team_id=PROVIDER_TEAM, user_id=PROVIDER_USER)
    submit(
        bot,
        "invite_modal",
        invite_form("Litware", reseller="tailspin"),
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
    )
    assert "Litware" in home_text(open_home(bot, PROVIDER_USER, PROVIDER_TEAM))
    assert "Litware" not in home_text(open_home(bot, RESELLER_USER, RESELLER_TEAM))  # Fabrikam
    stranger = home_text(open_home(bot, "U0STRANGER1", "T0STRANGER"))
    assert "Litware" not in stranger and "not in the partner directory" in stranger


def test_home_stays_within_100_blocks(bot: BotHarness) -> None:
    for i in range(40):
        submit(
            bot,
            "invite_modal",
            invite_form(f"Customer {i}", domain=None),
            team=PROVIDER_TEAM,
            user=PROVIDER_USER,
        )
        submit(
            bot,
            "request_modal",
            request_form(f"Request {i}"),
            team=RESELLER_TEAM,
            user=RESELLER_USER,
        )
    home = open_home(bot, PROVIDER_USER, PROVIDER_TEAM)
    assert len(home["blocks"]) <= 100
    assert "more: `/multichannel status`" in home_text(home)


def test_each_user_gets_their_language(bot: BotHarness) -> None:
    bot.slack.set_user("U0MARIA001", locale="es-ES", team_id=PROVIDER_TEAM)
    bot.slack.set_user("U0JOHN0001", locale="en-US", team_id=PROVIDER_TEAM)
    spanish = json.dumps(
        ack_json(
            bot.command(
                "assess csp_partner:license as direct edition 2017-03",
                user_id="U0MARIA001",
                team_id=PROVIDER_TEAM,
            )
        ),
        ensure_ascii=False,
    )
    english = json.dumps(
        ack_json(
            bot.command(
                "assess csp_partner:license as direct edition 2017-03",
                user_id="U0JOHN0001",
                team_id=PROVIDER_TEAM,
            )
        ),
        ensure_ascii=False,
    )
    # citations quote the seed's own Spanish sentence for the Spanish user
    assert "Los clientes no pueden cambiar suscripciones basadas en licencias" in spanish
    assert "Customers cannot switch license-based subscriptions" in english
    assert "Los clientes no pueden" not in english


def test_language_can_be_chosen_per_user_and_per_workspace(bot: BotHarness) -> None:
    bot.slack.set_user("U0JOHN0001", locale="en-US", team_id=PROVIDER_TEAM)
    bot.slack.set_user("U0FRANK001", locale="fr-FR", team_id=PROVIDER_TEAM)

    def says(user: str, text: str = "assess csp_partner:license as direct edition 2017-03") -> str:
        return json.dumps(
            ack_json(bot.command(text, user_id=user, team_id=PROVIDER_TEAM)), ensure_ascii=False
        )

    assert "Los clientes" not in says("U0JOHN0001")
    says("U0JOHN0001", "language es")
    assert "Los clientes no pueden" in says("U0JOHN0001")
    says("U0JOHN0001", "language auto")
    assert "Los clientes" not in says("U0JOHN0001")

    # French is not spoken: the workspace default applies, and only admins may set it
    refused = says(PROVIDER_USER, "language workspace es")
    assert "admins" in refused
    assert "Los clientes" not in says("U0FRANK001")
    says("U0PROVADMIN", "language workspace es")
    assert "Los clientes no pueden" in says("U0FRANK001")
    assert "Los clientes" not in says("U0JOHN0001")  # his Slack language still wins
    assert "`language es`" in says("U0JOHN0001", "language bogus")


def test_a_request_can_be_fulfilled_from_the_home_tab(bot: BotHarness) -> None:
    from bot.testkit import block_actions_payload

    submit(bot, "request_modal", request_form("Woodgrove"), team=RESELLER_TEAM, user=RESELLER_USER)
    home = open_home(bot, PROVIDER_USER, PROVIDER_TEAM)
    button = next(
        e
        for b in home["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "inv_fulfil"
    )
    click = block_actions_payload(
        "inv_fulfil", button["value"], user_id=PROVIDER_USER, team_id=PROVIDER_TEAM, view=home
    )
    assert bot.interact(click).status_code == 200
    provider_msg = bot.slack.messages("C0PROVNOTIF")[-1]
    assert "IndirectResellerRelationship" in json.dumps(provider_msg["blocks"])
    # clicking the same (now outdated) Home button again: told in a DM, no response_url needed
    assert bot.interact(click).status_code == 200
    dm = bot.slack.wait_for("chat.postMessage", count=3)[-1].params
    assert dm["channel"].startswith("D") and "Someone changed this invitation" in dm["text"]
