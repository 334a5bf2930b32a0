"""Helpers for driving invitation flows end to end against a BotHarness with the example
partner directory (docs/partners.example.yaml): a provider (Contoso, team T0PROVIDER) and its
reseller (Fabrikam, T0RESELLER). Used by tests/invitations and tests/notify."""

from __future__ import annotations

from typing import Any

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


def open_modal(bot: BotHarness, callback: str, *, team: str, user: str) -> dict[str, Any]:
    """Have the bot open `callback` for this user the way a person would: `invite` for the
    create-invitation modal; `invite`, then "Ask my provider", for the request modal."""
    if callback == "invite_modal":
        bot.command("invite", team_id=team, user_id=user)
    elif callback == "request_modal":
        refusal = ack_json(bot.command("invite", team_id=team, user_id=user))
        click(bot, refusal, "ask_provider_for_invitation", team=team, user=user)
    else:
        raise ValueError(f"open {callback} through its own flow")
    return opened_view(bot, callback)


def _submitted(bot: BotHarness, view_id: str) -> bool:
    """Whether the bot acted on a submission of this view already (its own record)."""
    from bot.core.store.models import ModalView

    with bot.services.sessions() as session:
        row = session.get(ModalView, view_id)
        return row is not None and row.submitted_at is not None


def opened_view(bot: BotHarness, callback: str) -> dict[str, Any]:
    """The view the bot last opened with `callback` (as views.open answered it)."""
    for call in reversed(bot.slack.calls("views.open")):
        view = call.response.get("view") if call.response else None
        if view and view.get("callback_id") == callback:
            return dict(view)
    raise AssertionError(f"the bot opened no {callback}")


def submit(
    bot: BotHarness,
    callback: str,
    values: dict[str, Any],
    *,
    team: str,
    user: str,
) -> dict[str, Any]:
    """Submit the modal the bot opened with `callback`, with its view id and metadata as Slack
    sends them back (the bot keeps the modal's context server-side under that id). When no such
    modal is open and unsubmitted, it is opened first, as a person would."""
    try:
        view = opened_view(bot, callback)
    except AssertionError:
        view = None
    if view is None or _submitted(bot, view["id"]):
        view = open_modal(bot, callback, team=team, user=user)
    payload = view_submission_payload(
        callback,
        values,
        view.get("private_metadata", ""),
        user_id=user,
        team_id=team,
        view_id=view["id"],
    )
    response = bot.interact(payload)
    assert response.status_code == 200
    return ack_json(response)


def click(
    bot: BotHarness,
    message: dict[str, Any],
    action_id: str,
    *,
    team: str,
    user: str,
    channel_team: str | None = None,
) -> None:
    """`user` of `team` clicks `action_id` on `message`. `channel_team`: the message is in a
    Slack Connect channel hosted by that workspace (the payload's `team.id`), while the
    clicking user belongs to `team` (`user.team_id`)."""
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
        team_id=channel_team or team,
        user_team_id=team,
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
