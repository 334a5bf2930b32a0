"""Onboarding in Slack, distributed mode on the strict stand-in: a workspace that installed the
app and is not in the partner directory (T0STRANGER, installed by U0STRANGER1) sets up its
organization from its Home tab."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.joining import hash_code
from bot.core.store.directory import is_admin, org_for_team, providers_of
from bot.core.store.models import JoinCode, Organization
from bot.core.store.secrets import token_hash
from bot.testkit import app_home_opened_event
from bot.testkit.flows import (
    CONTOSO_TENANT,
    PROVIDER_TEAM,
    PROVIDER_USER,
    RESELLER_TEAM,
    buttons,
    click,
    opened_view,
)
from bot.testkit.harness import BotHarness, ack_json
from bot.testkit.payloads import (
    block_actions_payload,
    static_select,
    text_input,
    view_submission_payload,
)

TEAM, INSTALLER, MEMBER, SLACK_ADMIN = "T0STRANGER", "U0STRANGER1", "U0STRMEMBER", "U0STRADMIN1"
TENANT = "3c1e5a7b-2d4f-4a6b-8c9d-0e1f2a3b4c5d"


@pytest.fixture()
def bot() -> Iterator[BotHarness]:
    """The distributed `bot` of conftest.py, with the outbox worker running (the provider's
    Approve / Decline message and the reseller's DM go through it)."""
    from tests.invitations.conftest import distributed_bot

    with distributed_bot(outbox=True) as harness:
        yield harness


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
        # its webhook URL token: encrypted with ENCRYPTION_KEYS, found by its hash
        assert org.webhook_token is not None and org.webhook_token.startswith("enc:")
        plain = bot.services.cipher.decrypt(org.webhook_token)
        assert token_hash(plain) == org.webhook_token_hash
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


def test_a_reseller_needs_its_providers_join_code(bot: BotHarness) -> None:
    _people(bot)
    home = open_home(bot, INSTALLER)
    click_setup(bot, INSTALLER, home)
    view = opened_view(bot, "setup_modal")
    answer = submit(bot, form(role="indirect_reseller"), user=INSTALLER, view_id=view["id"])
    assert set(answer["errors"]) == {"org_join_code"}
    assert "join code" in answer["errors"]["org_join_code"]
    no_partner_id = submit(
        bot,
        reseller_form("AAAA-BBBB-CCCC-DDDD", partner_id=None),
        user=INSTALLER,
        view_id=view["id"],
    )
    assert set(no_partner_id["errors"]) == {"org_partner_id"}
    assert orgs(bot) == sorted(orgs(bot)) and "woodgrove-partners" not in orgs(bot)


# ------------------------------------------------------------------- join codes (stage 2)
PROVIDER_ADMIN = "U0PROVADMIN"
RESELLER_ADMIN = "U0RESADMIN"  # Fabrikam's admin: another organization


def reseller_form(code: str | None, **overrides: Any) -> dict[str, Any]:
    values = form(role="indirect_reseller", **overrides)
    values["org_join_code"] = {"org_join_code": text_input(code)}
    return values


def create_join_code(bot: BotHarness, user: str = PROVIDER_ADMIN) -> str:
    home = open_home(bot, user, PROVIDER_TEAM)
    assert "create_join_code" in actions(home)
    opened = len(bot.slack.calls("views.open"))
    payload = block_actions_payload(
        "create_join_code", "home", user_id=user, team_id=PROVIDER_TEAM, view=home
    )
    assert bot.interact(payload).status_code == 200
    view = bot.slack.wait_for("views.open", count=opened + 1)[-1].response["view"]
    assert view["callback_id"] == "join_code_modal"
    found = re.search(r"`([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})`", text(view))
    assert found is not None
    return found.group(1)


def set_up_reseller(bot: BotHarness, code: str, *, view_id: str = "") -> dict[str, Any]:
    if not view_id:
        home = open_home(bot, INSTALLER)
        click_setup(bot, INSTALLER, home)
        view_id = opened_view(bot, "setup_modal")["id"]
    return submit(bot, reseller_form(code), user=INSTALLER, view_id=view_id)


def provider_message(bot: BotHarness, count: int = 1) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [m for m in bot.slack.messages("C0PROVNOTIF") if "join_approve" in json.dumps(m)]
        if len(found) >= count:
            return found[-1]
        time.sleep(0.02)
    raise AssertionError("no join request in the provider's notification channel")


def links(bot: BotHarness, reseller_team: str = TEAM) -> list[str]:
    with bot.services.sessions() as session:
        org = org_for_team(session, reseller_team)
        assert org is not None
        return [p.key for p in providers_of(session, org)]


def responses(bot: BotHarness) -> str:
    return json.dumps([c.params for c in bot.slack.calls("response_url")], ensure_ascii=False)


def test_a_reseller_joins_with_a_code_and_its_provider_approves_end_to_end(
    bot: BotHarness,
) -> None:
    _people(bot)
    # only the provider's directory admins see the admin section
    assert "create_join_code" not in actions(open_home(bot, PROVIDER_USER, PROVIDER_TEAM))
    code = create_join_code(bot)
    with bot.services.sessions() as session:  # stored hashed, never in clear
        stored = session.scalars(select(JoinCode.code_hash)).all()
        assert code not in json.dumps(stored) and hash_code(code) in stored

    assert set_up_reseller(bot, code.lower()) == {}  # typed in any case
    assert "fabrikam" not in links(bot) and links(bot) == []  # pending: no provider yet
    pending = dm_texts(bot, INSTALLER)
    assert "I asked Contoso Distribution to approve you" in pending

    # the Approve / Decline message, posted with the provider's token in its own channel
    message = provider_message(bot)
    assert "Woodgrove Partners" in json.dumps(message)
    assert buttons(message) == ["join_approve", "join_decline"]

    # until approved: assess works, invitations with the provider do not
    assert "Waiting for Contoso Distribution" in text(open_home(bot, INSTALLER))
    assert bot.command("assess", team_id=TEAM, user_id=MEMBER).status_code == 200
    refused = bot.command("invite", team_id=TEAM, user_id=INSTALLER, channel_id="C0STRANGER1")
    assert "no indirect provider in the partner directory yet" in refused.text
    assert "ask_provider_for_invitation" not in refused.text

    # refusals: another organization's admin, a provider user who is no admin, a forged value
    click(bot, message, "join_approve", team=RESELLER_TEAM, user=RESELLER_ADMIN)
    click(bot, message, "join_approve", team=PROVIDER_TEAM, user=PROVIDER_USER)
    assert responses(bot).count("Only the Multichannel admins of this indirect provider") == 2
    forged = block_actions_payload(
        "join_approve",
        json.dumps({"r": 1, "v": 7}),
        user_id=PROVIDER_ADMIN,
        team_id=PROVIDER_TEAM,
        response_url=bot.slack.response_url(),
    )
    assert bot.interact(forged).status_code == 200
    assert "This button is out of date" in responses(bot)
    assert links(bot) == []

    click(bot, message, "join_approve", team=PROVIDER_TEAM, user=PROVIDER_ADMIN)
    assert links(bot) == ["contoso-dist"]
    assert f"<@{PROVIDER_ADMIN}> approved" in responses(bot)
    # the reseller is told in its own workspace (with its own token)
    deadline = time.monotonic() + 5
    while "approved you as their indirect reseller" not in dm_texts(bot, INSTALLER):
        assert time.monotonic() < deadline, "the reseller was not told"
        time.sleep(0.02)
    # the same button again: out of date
    before = responses(bot).count("This button is out of date")
    click(bot, message, "join_decline", team=PROVIDER_TEAM, user=PROVIDER_ADMIN)
    assert responses(bot).count("This button is out of date") == before + 1
    assert links(bot) == ["contoso-dist"]

    # approved: the reseller's status works, and it may ask its provider
    status = bot.command("status", team_id=TEAM, user_id=INSTALLER, channel_id="C0STRANGER1")
    assert status.status_code == 200
    assert "partner directory" not in status.text
    assert "Waiting for" not in text(open_home(bot, INSTALLER))
    asked = bot.command("invite", team_id=TEAM, user_id=INSTALLER, channel_id="C0STRANGER1")
    assert "ask_provider_for_invitation" in asked.text


def test_wrong_reused_and_expired_codes_are_refused_and_nothing_is_written(
    bot: BotHarness,
) -> None:
    _people(bot)
    before = orgs(bot)
    home = open_home(bot, INSTALLER)
    click_setup(bot, INSTALLER, home)
    view_id = opened_view(bot, "setup_modal")["id"]

    wrong = set_up_reseller(bot, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", view_id=view_id)
    assert "not valid" in wrong["errors"]["org_join_code"]

    with bot.services.sessions.begin() as session:
        provider = org_for_team(session, PROVIDER_TEAM)
        assert provider is not None
        session.add(
            JoinCode(
                code_hash=hash_code("OLDC-ODEO-LDCO-DEAA"),
                provider_org_id=provider.id,
                created_by_user=PROVIDER_ADMIN,
                created_at=datetime.now(UTC) - timedelta(days=10),
                expires_at=datetime.now(UTC) - timedelta(days=3),
            )
        )
    expired = set_up_reseller(bot, "OLDC-ODEO-LDCO-DEAA", view_id=view_id)
    assert "expired" in expired["errors"]["org_join_code"]
    assert orgs(bot) == before

    # used once by another workspace, then refused here
    code = create_join_code(bot)
    other = "T0NEWRESELL"
    bot.slack.add_team(other, name="New Reseller").set_user("U0NEWADMIN1", team_id=other)
    bot.slack.set_channel("C0NEWNOTIF1", team_id=other)
    assert bot.install(other, "U0NEWADMIN1").status_code == 200
    home = open_home(bot, "U0NEWADMIN1", other)
    payload = block_actions_payload(
        "open_setup_modal", "home", user_id="U0NEWADMIN1", team_id=other, view=home
    )
    assert bot.interact(payload).status_code == 200
    first = opened_view(bot, "setup_modal")["id"]
    values = reseller_form(code, tenant="11111111-2222-4333-8444-555555555555", channel=None)
    answer = bot.interact(
        view_submission_payload(
            "setup_modal", values, user_id="U0NEWADMIN1", team_id=other, view_id=first
        )
    )
    assert ack_json(answer) == {}
    reused = set_up_reseller(bot, code, view_id=view_id)
    assert "used already" in reused["errors"]["org_join_code"]
    assert sorted([*before, "woodgrove-partners"]) == orgs(bot)  # the new one's key
    assert links(bot, other) == []


def test_only_a_providers_admin_creates_join_codes(bot: BotHarness) -> None:
    for user, team in ((PROVIDER_USER, PROVIDER_TEAM), (RESELLER_ADMIN, RESELLER_TEAM)):
        home = open_home(bot, user, team)
        assert "create_join_code" not in actions(home)
        payload = block_actions_payload(
            "create_join_code", "home", user_id=user, team_id=team, view=home
        )
        assert bot.interact(payload).status_code == 200
    deadline = time.monotonic() + 5
    while dm_texts(bot, "").count("Only the Multichannel admins of this indirect provider") < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with bot.services.sessions() as session:
        assert session.scalars(select(JoinCode)).all() == []


# ------------------------------------------- channel and admins (stage 3)
def settings_form(channel: str | None, admins: list[str]) -> dict[str, Any]:
    return {
        "org_channel": {
            "org_channel": {"type": "conversations_select", "selected_conversation": channel}
        },
        "org_admins": {"org_admins": {"type": "multi_users_select", "selected_users": admins}},
    }


def submit_settings(
    bot: BotHarness, values: dict[str, Any], *, user: str, team: str, view_id: str
) -> dict[str, Any]:
    payload = view_submission_payload(
        "org_settings_modal", values, user_id=user, team_id=team, view_id=view_id
    )
    response = bot.interact(payload)
    assert response.status_code == 200
    return ack_json(response)


def test_a_directory_admin_changes_its_channel_and_admins(bot: BotHarness) -> None:
    bot.slack.set_channel("C0PROVNEW01", team_id=PROVIDER_TEAM)
    home = open_home(bot, PROVIDER_ADMIN, PROVIDER_TEAM)
    assert "open_org_settings" in actions(home)
    payload = block_actions_payload(
        "open_org_settings", "home", user_id=PROVIDER_ADMIN, team_id=PROVIDER_TEAM, view=home
    )
    assert bot.interact(payload).status_code == 200
    view = opened_view(bot, "org_settings_modal")
    shown = text(view)
    assert "C0PROVNOTIF" in shown and PROVIDER_ADMIN in shown  # the current values

    # validated: at least one admin, people of this workspace only
    none = submit_settings(
        bot,
        settings_form("C0PROVNEW01", []),
        user=PROVIDER_ADMIN,
        team=PROVIDER_TEAM,
        view_id=view["id"],
    )
    assert set(none["errors"]) == {"org_admins"}
    foreign = submit_settings(
        bot,
        settings_form("C0PROVNEW01", [PROVIDER_ADMIN, RESELLER_ADMIN]),
        user=PROVIDER_ADMIN,
        team=PROVIDER_TEAM,
        view_id=view["id"],
    )
    assert "people of this Slack workspace" in foreign["errors"]["org_admins"]

    saved = submit_settings(
        bot,
        settings_form("C0PROVNEW01", [PROVIDER_ADMIN, PROVIDER_USER]),
        user=PROVIDER_ADMIN,
        team=PROVIDER_TEAM,
        view_id=view["id"],
    )
    assert saved == {}
    with bot.services.sessions() as session:
        org = org_for_team(session, PROVIDER_TEAM)
        assert org is not None and org.notification_channel == "C0PROVNEW01"
        assert is_admin(session, org, PROVIDER_USER) and is_admin(session, org, PROVIDER_ADMIN)
    assert "open_org_settings" in actions(open_home(bot, PROVIDER_USER, PROVIDER_TEAM))


def test_only_a_directory_admin_changes_channel_and_admins(bot: BotHarness) -> None:
    home = open_home(bot, PROVIDER_USER, PROVIDER_TEAM)
    assert "open_org_settings" not in actions(home)
    opened = len(bot.slack.calls("views.open"))
    payload = block_actions_payload(
        "open_org_settings", "home", user_id=PROVIDER_USER, team_id=PROVIDER_TEAM, view=home
    )
    assert bot.interact(payload).status_code == 200  # a forged click: refused, no modal
    forged = settings_form("C0MCDESK01", [PROVIDER_USER])
    assert (
        submit_settings(bot, forged, user=PROVIDER_USER, team=PROVIDER_TEAM, view_id="V0FORGEDORG")
        == {}
    )
    # another organization's admin, on its own workspace, changes only its own organization
    deadline = time.monotonic() + 5
    while dm_texts(bot, "").count("Only your organization's Multichannel admins") < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert len(bot.slack.calls("views.open")) == opened
    with bot.services.sessions() as session:
        org = org_for_team(session, PROVIDER_TEAM)
        assert org is not None and org.notification_channel == "C0PROVNOTIF"
        assert not is_admin(session, org, PROVIDER_USER)
