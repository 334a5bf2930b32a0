"""Onboarding in Slack, distributed mode on the strict stand-in: a workspace that installed the
app and is not in the partner directory (T0STRANGER, installed by U0STRANGER1) sets up its
organization from its Home tab."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.core.store.directory import is_admin, org_for_team
from bot.core.store.models import Organization
from bot.testkit import app_home_opened_event
from bot.testkit.flows import CONTOSO_TENANT, PROVIDER_TEAM, PROVIDER_USER, opened_view
from bot.testkit.harness import BotHarness, ack_json
from bot.testkit.payloads import (
    block_actions_payload,
    static_select,
    text_input,
    view_submission_payload,
)

TEAM, INSTALLER, MEMBER, SLACK_ADMIN = "T0STRANGER", "U0STRANGER1", "U0STRMEMBER", "U0STRADMIN1"
TENANT = "3c1e5a7b-2d4f-4a6b-8c9d-0e1f2a3b4c5d"


def _people(bot: BotHarness) -> None:
    bot.slack.set_user(MEMBER, team_id=TEAM)
    bot.slack.set_user(SLACK_ADMIN, team_id=TEAM, is_admin=True)


def open_home(bot: BotHarness, user: str, team: str = TEAM) -> dict[str, Any]:
    before = len(bot.slack.calls("views.publish"))
    assert bot.event(app_home_opened_event(user), team_id=team).status_code == 200
    call = bot.slack.wait_for("views.publish", count=before + 1)[-1]
    assert call.params["user_id"] == user
    return dict(call.params["view"])


def text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def actions(view: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def click_setup(bot: BotHarness, user: str, home: dict[str, Any], team: str = TEAM) -> None:
    payload = block_actions_payload(
        "open_setup_modal", "home", user_id=user, team_id=team, view=home
    )
    assert bot.interact(payload).status_code == 200


def form(
    name: str = "Woodgrove Partners",
    role: str | None = "direct",
    tenant: str | None = TENANT,
    partner_id: str | None = "4455667",
    channel: str | None = "C0STRANGER1",
) -> dict[str, Any]:
    return {
        "org_name": {"org_name": text_input(name)},
        "org_role": {"org_role": static_select(role)},
        "org_tenant": {"org_tenant": text_input(tenant)},
        "org_partner_id": {"org_partner_id": text_input(partner_id)},
        "org_channel": {
            "org_channel": {"type": "conversations_select", "selected_conversation": channel}
        },
    }


def submit(bot: BotHarness, values: dict[str, Any], *, user: str, view_id: str) -> dict[str, Any]:
    payload = view_submission_payload(
        "setup_modal", values, user_id=user, team_id=TEAM, view_id=view_id
    )
    response = bot.interact(payload)
    assert response.status_code == 200
    return ack_json(response)


def dm_texts(bot: BotHarness, user: str) -> str:
    return json.dumps(
        [c.params for c in bot.slack.calls("chat.postMessage") if c.params.get("channel")],
        ensure_ascii=False,
    ) + json.dumps([c.params for c in bot.slack.calls("chat.postEphemeral")], ensure_ascii=False)


def orgs(bot: BotHarness) -> list[str]:
    with bot.services.sessions() as session:
        return list(session.scalars(select(Organization.key).order_by(Organization.key)))


def test_home_offers_setup_to_the_installer_and_slack_admins_and_says_who_to_others(
    bot: BotHarness,
) -> None:
    _people(bot)
    installer = open_home(bot, INSTALLER)
    assert "Set up your organization" in text(installer)
    assert "open_setup_modal" in actions(installer)

    admin = open_home(bot, SLACK_ADMIN)
    assert "open_setup_modal" in actions(admin)

    member = open_home(bot, MEMBER)
    assert "open_setup_modal" not in actions(member)
    assert "setting up your organization is pending" in text(member)
    assert f"<@{INSTALLER}>" in text(member)

    # a workspace already in the directory is not offered a set-up
    provider = open_home(bot, PROVIDER_USER, PROVIDER_TEAM)
    assert "open_setup_modal" not in actions(provider)


def test_the_installer_sets_up_a_direct_partner_written_as_an_import_would(
    bot: BotHarness,
) -> None:
    _people(bot)
    before = orgs(bot)
    home = open_home(bot, INSTALLER)
    click_setup(bot, INSTALLER, home)
    view = opened_view(bot, "setup_modal")

    # validated as the directory file is: each bad field named, nothing written
    errors = submit(
        bot,
        form(name="  ", role=None, tenant="not-a-guid", partner_id="12ab", channel=None),
        user=INSTALLER,
        view_id=view["id"],
    )
    assert errors["response_action"] == "errors"
    assert set(errors["errors"]) == {"org_name", "org_role", "org_tenant", "org_partner_id"}
    assert "GUID" in errors["errors"]["org_tenant"]
    # a tenant that another organization has
    taken = submit(bot, form(tenant=CONTOSO_TENANT), user=INSTALLER, view_id=view["id"])
    assert set(taken["errors"]) == {"org_tenant"}
    assert "already belongs" in taken["errors"]["org_tenant"]
    assert orgs(bot) == before

    published = len(bot.slack.calls("views.publish"))
    assert submit(bot, form(tenant=TENANT.upper()), user=INSTALLER, view_id=view["id"]) == {}
    with bot.services.sessions() as session:
        org = org_for_team(session, TEAM)
        assert org is not None
        assert (org.key, org.name, org.role.value) == (
            "woodgrove-partners",
            "Woodgrove Partners",
            "direct",
        )
        assert (org.tenant_id, org.partner_id, org.notification_channel) == (
            TENANT,
            "4455667",
            "C0STRANGER1",
        )
        assert is_admin(session, org, INSTALLER)
        assert not is_admin(session, org, SLACK_ADMIN)
    assert sorted([*before, "woodgrove-partners"]) == orgs(bot)
    # told, and the Home tab republished with the organization
    assert "Woodgrove Partners* is set up" in dm_texts(bot, INSTALLER) or (
        "Woodgrove Partners is set up" in dm_texts(bot, INSTALLER)
    )
    home = bot.slack.wait_for("views.publish", count=published + 1)[-1].params["view"]
    assert "Woodgrove Partners" in text(home) and "open_setup_modal" not in actions(home)

    # the workspace is in the directory now: its commands know its organization
    status = bot.command("status", team_id=TEAM, user_id=MEMBER, channel_id="C0STRANGER1")
    assert status.status_code == 200
    assert "not in Multichannel's partner directory" not in status.text

    # a second set-up (an old modal, or another admin) is refused, nothing changes
    home = open_home(bot, SLACK_ADMIN)
    assert "open_setup_modal" not in actions(home)
    assert submit(bot, form(name="Other"), user=SLACK_ADMIN, view_id="V0STALESETUP") == {}
    assert "already belongs to an organization" in dm_texts(bot, SLACK_ADMIN)
    assert sorted([*before, "woodgrove-partners"]) == orgs(bot)


def test_a_member_who_is_no_admin_cannot_set_up_even_with_a_forged_click_or_submission(
    bot: BotHarness,
) -> None:
    _people(bot)
    before = orgs(bot)
    home = open_home(bot, MEMBER)
    opened = len(bot.slack.calls("views.open"))
    click_setup(bot, MEMBER, home)  # the button is not shown to them: a forged click
    bot.slack.wait_for("chat.postMessage", count=1)
    assert len(bot.slack.calls("views.open")) == opened
    assert "Only an admin of this Slack workspace" in dm_texts(bot, MEMBER)

    assert submit(bot, form(), user=MEMBER, view_id="V0FORGEDSET") == {}
    assert orgs(bot) == before


def test_a_reseller_cannot_set_up_without_its_provider_yet(bot: BotHarness) -> None:
    _people(bot)
    home = open_home(bot, INSTALLER)
    click_setup(bot, INSTALLER, home)
    view = opened_view(bot, "setup_modal")
    answer = submit(bot, form(role="indirect_reseller"), user=INSTALLER, view_id=view["id"])
    assert set(answer["errors"]) == {"org_role"}
    no_partner_id = submit(
        bot, form(role="indirect_reseller", partner_id=None), user=INSTALLER, view_id=view["id"]
    )
    assert set(no_partner_id["errors"]) == {"org_partner_id"}
