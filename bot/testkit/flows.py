"""Helpers for driving invitation flows end to end against a BotHarness with the example
partner directory (docs/partners.example.yaml): a provider (Contoso, team T0PROVIDER) and its
reseller (Fabrikam, T0RESELLER). Used by tests/invitations and tests/notify."""

from __future__ import annotations

from typing import Any

from bot.core.ui.metadata import InviteContext
from bot.testkit.harness import BotHarness, ack_json
from bot.testkit.payloads import (
    block_actions_payload,
    static_select,
    text_input,
    view_submission_payload,
)

PROVIDER_TEAM, RESELLER_TEAM, DIRECT_TEAM = "T0PROVIDER", "T0RESELLER", "T0ADATUM"
PROVIDER_USER, RESELLER_USER = "U0PROVUSER1", "U0RESUSER01"
CONTOSO_TENANT = "6f1d2c9e-8a4b-4c1e-9f3a-2b7d5e8c1a00"
FABRIKAM_TENANT = "9a7c3e55-1d2b-4f6a-b8c9-0e1f2a3b4c5d"


def invite_form(
    customer: str = "Woodgrove Bank",
    *,
    domain: str | None = "woodgrove.com",
    tenant: str | None = None,
    reseller: str | None = None,
    delegated_admin: bool = False,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "customer": {"customer": text_input(customer)},
        "domain": {"domain": text_input(domain)},
        "tenant": {"tenant": text_input(tenant)},
        "delegated_admin": {
            "delegated_admin": {
                "type": "checkboxes",
                "selected_options": [{"value": "yes"}] if delegated_admin else [],
            }
        },
    }
    if reseller is not None:
        values["reseller"] = {"reseller": static_select(reseller)}
    return values


def request_form(
    customer: str = "Woodgrove Bank", provider: str | None = "contoso-dist"
) -> dict[str, Any]:
    return {
        "provider": {"provider": static_select(provider)},
        "customer": {"customer": text_input(customer)},
        "domain": {"domain": text_input(None)},
        "delegated_admin": {"delegated_admin": {"type": "checkboxes", "selected_options": []}},
    }


def submit(
    bot: BotHarness,
    callback: str,
    values: dict[str, Any],
    *,
    team: str,
    user: str,
    channel: str | None = "C0ASKHERE1",
) -> dict[str, Any]:
    metadata = InviteContext(channel_id=channel).dump()
    response = bot.interact(
        view_submission_payload(callback, values, metadata, user_id=user, team_id=team)
    )
    assert response.status_code == 200
    return ack_json(response)


def click(
    bot: BotHarness, message: dict[str, Any], action_id: str, *, team: str, user: str
) -> None:
    button = next(
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    payload = block_actions_payload(
        action_id,
        button["value"],
        user_id=user,
        team_id=team,
        response_url=bot.slack.response_url(),
    )
    assert bot.interact(payload).status_code == 200


def latest(bot: BotHarness, channel: str) -> dict[str, Any]:
    """The current content of the bot's last message in `channel` (after chat.update)."""
    messages = bot.slack.messages(channel)
    assert messages, f"no message in {channel}"
    return messages[-1]


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


def state_of(message: dict[str, Any]) -> str:
    return str(message["blocks"][0]["text"]["text"])
