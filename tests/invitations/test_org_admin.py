"""A directory admin manages its organization in Slack (distributed mode, strict stand-in, the
example directory: Contoso a provider in T0PROVIDER, Fabrikam its reseller in T0RESELLER and
Northwind's, Adatum a direct partner): details, workspaces, providers, notification channel.
Every refusal answers the person and writes nothing."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.store.directory import org_by_key, org_for_team, providers_of
from bot.core.store.invitations import create_invitation
from bot.core.store.models import DirectoryEvent, JoinCode, LinkSource, Organization
from bot.testkit.flows import CONTOSO_TENANT, PROVIDER_TEAM, RESELLER_TEAM, opened_view
from bot.testkit.harness import BotHarness, ack_json
from bot.testkit.payloads import (
    block_actions_payload,
    static_select,
    text_input,
    view_submission_payload,
)
from tests.invitations.test_onboarding import actions, dm_texts, open_home, text

PROVIDER_ADMIN, PROVIDER_USER = "U0PROVADMIN", "U0PROVUSER1"
RESELLER_ADMIN, RESELLER_USER = "U0RESADMIN", "U0RESUSER01"
NW_TEAM, NW_ADMIN = "T0NORTHWIND", "U0NWADMIN"
ADATUM_TEAM, ADATUM_ADMIN = "T0ADATUM", "U0ADATUMADM"


@pytest.fixture()
def bot() -> Iterator[BotHarness]:
    """The distributed bot with its outbox worker (requests and notices go through it)."""
    from tests.invitations.conftest import distributed_bot

    with distributed_bot(outbox=True) as harness:
        yield harness


def click_home(bot: BotHarness, action: str, *, user: str, team: str, value: str = "home") -> None:
    home = open_home(bot, user, team)
    kind = "static_select" if action in ("org_remove_workspace", "leave_provider") else "button"
    payload = block_actions_payload(
        action, value, user_id=user, team_id=team, view=home, action_type=kind
    )
    assert bot.interact(payload).status_code == 200


def submit(
    bot: BotHarness, callback: str, values: dict[str, Any], *, user: str, team: str, view_id: str
) -> dict[str, Any]:
    payload = view_submission_payload(callback, values, user_id=user, team_id=team, view_id=view_id)
    response = bot.interact(payload)
    assert response.status_code == 200
    return ack_json(response)


def told(bot: BotHarness, words: str, count: int = 1) -> None:
    deadline = time.monotonic() + 5
    while dm_texts(bot, "").count(words) < count:
        assert time.monotonic() < deadline, f"nobody was told {words!r}"
        time.sleep(0.02)


def events(bot: BotHarness) -> list[tuple[str, str, str, str | None, str | None]]:
    """The audit trail since the fixture's `mcbot partners import` (source "import")."""
    with bot.services.sessions() as session:
        rows = session.scalars(
            select(DirectoryEvent)
            .where(DirectoryEvent.source != "import")
            .order_by(DirectoryEvent.id)
        )
        return [(e.org_key, e.action.value, e.source, e.user_id, e.team_id) for e in rows]


def org_row(bot: BotHarness, key: str) -> tuple[Any, ...]:
    with bot.services.sessions() as session:
        org = org_by_key(session, key)
        assert org is not None
        return (org.name, org.role.value, org.tenant_id, org.partner_id, org.notification_channel)


def details(name: str, role: str, tenant: str, partner_id: str | None) -> dict[str, Any]:
    return {
        "org_name": {"org_name": text_input(name)},
        "org_role": {"org_role": static_select(role)},
        "org_tenant": {"org_tenant": text_input(tenant)},
        "org_partner_id": {"org_partner_id": text_input(partner_id)},
    }


def code_values(code: str | None) -> dict[str, Any]:
    return {"code": {"code": text_input(code)}}


def shown_code(bot: BotHarness, count: int) -> str:
    view = bot.slack.wait_for("views.open", count=count)[-1].response["view"]
    found = re.search(r"`([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})`", json.dumps(view))
    assert found is not None
    return found.group(1)


# ---------------------------------------------------------------------------------- details
def test_a_directory_admin_edits_the_organizations_details_as_an_import_would(
    bot: BotHarness,
) -> None:
    home = open_home(bot, ADATUM_ADMIN, ADATUM_TEAM)
    assert {"open_org_details", "create_workspace_code"} <= set(actions(home))
    assert "open_join_provider" not in actions(home)  # a direct partner has no provider
    click_home(bot, "open_org_details", user=ADATUM_ADMIN, team=ADATUM_TEAM)
    view = opened_view(bot, "org_details_modal")
    assert "Adatum Cloud" in text(view)  # the current values
    before = org_row(bot, "adatum")
    tenant = before[2]

    def send(values: dict[str, Any], user: str = ADATUM_ADMIN, team: str = ADATUM_TEAM) -> Any:
        return submit(bot, "org_details_modal", values, user=user, team=team, view_id=view["id"])

    # the set-up modal's checks, then the directory's (one path with `mcbot partners import`)
    bad = send(details("", "direct", "not-a-guid", "12ab"))
    assert set(bad["errors"]) == {"org_name", "org_tenant", "org_partner_id"}
    taken = send(details("Adatum", "direct", CONTOSO_TENANT, None))
    assert "already belongs to another organization" in taken["errors"]["org_tenant"]
    reseller = send(details("Adatum", "indirect_reseller", tenant, "5566"))
    assert "needs a provider that approved it" in reseller["errors"]["org_role"]
    assert org_row(bot, "adatum") == before and events(bot) == []

    assert send(details("Adatum Cloud Ltd", "indirect_provider", tenant, "99887766")) == {}
    assert org_row(bot, "adatum") == (
        "Adatum Cloud Ltd", "indirect_provider", tenant, "99887766", "C0ADATUMNOT",
    )  # fmt: skip
    assert events(bot) == [("adatum", "update", "slack", ADATUM_ADMIN, ADATUM_TEAM)]
    told(bot, "Saved: the details of Adatum Cloud Ltd")
    # an indirect provider now: it may create join codes
    assert "create_join_code" in actions(open_home(bot, ADATUM_ADMIN, ADATUM_TEAM))


def test_a_role_change_that_would_corrupt_links_or_invitations_is_refused(
    bot: BotHarness,
) -> None:
    click_home(bot, "open_org_details", user=PROVIDER_ADMIN, team=PROVIDER_TEAM)
    view = opened_view(bot, "org_details_modal")
    before = org_row(bot, "contoso-dist")
    direct = submit(
        bot,
        "org_details_modal",
        details("Contoso Distribution", "direct", CONTOSO_TENANT, "1234567"),
        user=PROVIDER_ADMIN,
        team=PROVIDER_TEAM,
        view_id=view["id"],
    )
    assert "Resellers buy through you" in direct["errors"]["org_role"]

    click_home(bot, "open_org_details", user=ADATUM_ADMIN, team=ADATUM_TEAM)
    adatum_view = opened_view(bot, "org_details_modal")
    with bot.services.sessions.begin() as session:
        adatum = org_by_key(session, "adatum")
        assert adatum is not None
        create_invitation(
            session, provider=adatum, reseller=None, customer_name="Fourth Coffee",
            customer_domain="fourthcoffee.example",
            link="https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship",
            link_source=LinkSource.api, created_by_user=ADATUM_ADMIN,
            created_by_team=ADATUM_TEAM,
        )  # fmt: skip
        tenant = adatum.tenant_id
    refused = submit(
        bot,
        "org_details_modal",
        details("Adatum Cloud", "indirect_provider", tenant, None),
        user=ADATUM_ADMIN,
        team=ADATUM_TEAM,
        view_id=adatum_view["id"],
    )
    assert "would misfile them" in refused["errors"]["org_role"]
    assert org_row(bot, "contoso-dist") == before
    assert org_row(bot, "adatum")[1] == "direct" and events(bot) == []


def test_forged_detail_clicks_and_submissions_are_refused_and_write_nothing(
    bot: BotHarness,
) -> None:
    before = org_row(bot, "contoso-dist")
    opened = len(bot.slack.calls("views.open"))
    # a member who is no admin; a provider admin's id claimed in another organization's team
    for user, team in ((PROVIDER_USER, PROVIDER_TEAM), (PROVIDER_ADMIN, RESELLER_TEAM)):
        click_home(bot, "open_org_details", user=user, team=team)
        values = details("Hijacked", "direct", CONTOSO_TENANT, None)
        assert submit(bot, "org_details_modal", values, user=user, team=team, view_id="V0F") == {}
    # the member is told (click and submission); the forged id has no DM in that workspace
    told(bot, "Only your organization's Multichannel admins", 2)
    assert len(bot.slack.calls("views.open")) == opened
    assert org_row(bot, "contoso-dist") == before
    assert org_row(bot, "fabrikam")[0] == "Fabrikam IT"
    assert events(bot) == []


# ------------------------------------------------------------------------------- workspaces
NEW_TEAM, NEW_ADMIN, NEW_MEMBER = "T0CONTOSOEU", "U0EUADMIN01", "U0EUMEMBER1"


def _new_workspace(bot: BotHarness) -> None:
    workspace = bot.slack.add_team(NEW_TEAM, name="Contoso Europe")
    workspace.set_user(NEW_ADMIN, team_id=NEW_TEAM)
    workspace.set_user(NEW_MEMBER, team_id=NEW_TEAM)
    assert bot.install(NEW_TEAM, NEW_ADMIN).status_code == 200


def test_another_workspace_joins_with_a_code_redeemed_from_that_workspace(
    bot: BotHarness,
) -> None:
    _new_workspace(bot)
    # only a directory admin creates a workspace code
    click_home(bot, "create_workspace_code", user=PROVIDER_USER, team=PROVIDER_TEAM)
    told(bot, "Only your organization's Multichannel admins")
    with bot.services.sessions() as session:
        assert session.scalars(select(JoinCode)).all() == []
    opened = len(bot.slack.calls("views.open"))
    click_home(bot, "create_workspace_code", user=PROVIDER_ADMIN, team=PROVIDER_TEAM)
    code = shown_code(bot, opened + 1)
    with bot.services.sessions() as session:  # stored hashed, with its purpose
        rows = session.scalars(select(JoinCode)).all()
        assert [r.purpose for r in rows] == ["workspace"] and code not in json.dumps(
            [r.code_hash for r in rows]
        )

    # the new workspace's Home offers to join an existing organization, to its admins only
    assert "open_link_workspace" in actions(open_home(bot, NEW_ADMIN, NEW_TEAM))
    assert "open_link_workspace" not in actions(open_home(bot, NEW_MEMBER, NEW_TEAM))
    click_home(bot, "open_link_workspace", user=NEW_MEMBER, team=NEW_TEAM)
    link = "link_workspace_modal"
    assert submit(bot, link, code_values(code), user=NEW_MEMBER, team=NEW_TEAM, view_id="V1") == {}
    told(bot, "Only an admin of this Slack workspace", 2)
    # a workspace already in the directory cannot be moved with a code
    assert (
        submit(bot, link, code_values(code), user=RESELLER_ADMIN, team=RESELLER_TEAM, view_id="V2")
        == {}
    )
    with bot.services.sessions() as session:
        assert org_for_team(session, NEW_TEAM) is None
        fabrikam = org_for_team(session, RESELLER_TEAM)
        assert fabrikam is not None and fabrikam.key == "fabrikam"

    click_home(bot, "open_link_workspace", user=NEW_ADMIN, team=NEW_TEAM)
    view_id = opened_view(bot, link)["id"]
    wrong = submit(
        bot,
        link,
        code_values("ZZZZ-ZZZZ-ZZZZ-ZZZZ"),
        user=NEW_ADMIN,
        team=NEW_TEAM,
        view_id=view_id,
    )
    assert "workspace code is not valid" in wrong["errors"]["code"]
    assert (
        submit(bot, link, code_values(code), user=NEW_ADMIN, team=NEW_TEAM, view_id=view_id) == {}
    )
    with bot.services.sessions() as session:
        org = org_for_team(session, NEW_TEAM)
        assert org is not None and org.key == "contoso-dist"
    assert events(bot) == [("contoso-dist", "update", "slack", NEW_ADMIN, NEW_TEAM)]
    told(bot, "This workspace now belongs to Contoso Distribution")
    # the organization's admins are told in its notification channel, with its own token
    joined = _channel_text(bot, "C0PROVNOTIF", f"`{NEW_TEAM}` joined Contoso Distribution")
    assert NEW_ADMIN in json.dumps(joined)
    # used once
    reused = submit(bot, link, code_values(code), user=NEW_ADMIN, team=NEW_TEAM, view_id=view_id)
    assert reused == {}  # already in the directory now: told so, nothing changes
    told(bot, "already belongs to an organization")

    # the provider's admin sees both workspaces and removes the new one (not its own)
    home = open_home(bot, PROVIDER_ADMIN, PROVIDER_TEAM)
    assert NEW_TEAM in text(home) and "org_remove_workspace" in json.dumps(home)
    # each by the name its installation recorded, and its id
    assert f"Contoso Europe `{NEW_TEAM}`" in text(home)
    assert f"Contoso `{PROVIDER_TEAM}` (this one)" in text(home)
    for user, team, gone in (
        (PROVIDER_USER, PROVIDER_TEAM, NEW_TEAM),  # no admin
        (RESELLER_ADMIN, RESELLER_TEAM, NEW_TEAM),  # another organization's admin
        (PROVIDER_ADMIN, PROVIDER_TEAM, PROVIDER_TEAM),  # its own workspace
    ):
        click_home(bot, "org_remove_workspace", user=user, team=team, value=gone)
    told(bot, "Only your organization's Multichannel admins")
    told(bot, "does not belong to your organization")
    told(bot, "cannot remove the workspace you are in")
    with bot.services.sessions() as session:
        assert org_for_team(session, NEW_TEAM) is not None
        assert org_for_team(session, PROVIDER_TEAM) is not None
    click_home(bot, "org_remove_workspace", user=PROVIDER_ADMIN, team=PROVIDER_TEAM, value=NEW_TEAM)
    told(bot, f"Workspace `{NEW_TEAM}` no longer belongs to Contoso Distribution")
    with bot.services.sessions() as session:
        assert org_for_team(session, NEW_TEAM) is None
    assert events(bot)[-1] == ("contoso-dist", "update", "slack", PROVIDER_ADMIN, PROVIDER_TEAM)


# -------------------------------------------------------------------------------- providers
def _links(bot: BotHarness) -> list[str]:
    with bot.services.sessions() as session:
        org = org_for_team(session, RESELLER_TEAM)
        assert org is not None
        return [p.key for p in providers_of(session, org)]


def _channel_text(bot: BotHarness, channel: str, words: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for message in bot.slack.messages(channel):
            if words in json.dumps(message):
                return message
        time.sleep(0.02)
    raise AssertionError(f"{words!r} not posted in {channel}")


def test_a_reseller_leaves_a_provider_and_joins_it_again_from_its_home_tab(
    bot: BotHarness,
) -> None:
    assert _links(bot) == ["contoso-dist", "northwind-dist"]
    home = open_home(bot, RESELLER_ADMIN, RESELLER_TEAM)
    leaving = next(b for b in home["blocks"] if b["block_id"] == "org_providers")["accessory"]
    assert leaving["action_id"] == "leave_provider" and leaving["confirm"]  # Slack asks first
    assert {"open_join_provider", "leave_provider"} <= set(
        actions(home) + re.findall(r'"action_id": "(\w+)"', json.dumps(home))
    )
    with bot.services.sessions.begin() as session:  # an open invitation with Contoso
        contoso, fabrikam = org_by_key(session, "contoso-dist"), org_by_key(session, "fabrikam")
        assert contoso is not None and fabrikam is not None
        create_invitation(
            session, provider=contoso, reseller=fabrikam, customer_name="Litware",
            customer_domain="litware.example",
            link="https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship",
            link_source=LinkSource.api, created_by_user=PROVIDER_ADMIN,
            created_by_team=PROVIDER_TEAM,
        )  # fmt: skip
    leave = "leave_provider"
    click_home(bot, leave, user=RESELLER_ADMIN, team=RESELLER_TEAM, value="contoso-dist")
    told(bot, "Invitations between you and this provider are still open")
    # forged: no admin, and another organization's admin id claimed in this team
    click_home(bot, leave, user=RESELLER_USER, team=RESELLER_TEAM, value="northwind-dist")
    click_home(bot, leave, user=NW_ADMIN, team=RESELLER_TEAM, value="northwind-dist")
    told(bot, "Only the Multichannel admins of an indirect reseller", 1)
    assert _links(bot) == ["contoso-dist", "northwind-dist"] and events(bot) == []

    click_home(bot, leave, user=RESELLER_ADMIN, team=RESELLER_TEAM, value="northwind-dist")
    told(bot, "You no longer buy through Northwind Distribution")
    assert _links(bot) == ["contoso-dist"]
    assert events(bot) == [("fabrikam", "provider_left", "slack", RESELLER_ADMIN, RESELLER_TEAM)]
    # the provider's side is told in its own channel, with its own token
    notice = _channel_text(bot, "C0NWNOTIF", "no longer buys through you")
    assert "Fabrikam IT" in json.dumps(notice)
    # its only provider now: leaving it is refused
    click_home(bot, leave, user=RESELLER_ADMIN, team=RESELLER_TEAM, value="contoso-dist")
    told(bot, "It is your only provider")
    assert _links(bot) == ["contoso-dist"]

    # joining a provider: a reseller's admin only
    for user, team in ((RESELLER_USER, RESELLER_TEAM), (PROVIDER_ADMIN, PROVIDER_TEAM)):
        click_home(bot, "open_join_provider", user=user, team=team)
    told(bot, "Only the Multichannel admins of an indirect reseller", 3)

    opened = len(bot.slack.calls("views.open"))
    click_home(bot, "create_join_code", user=NW_ADMIN, team=NW_TEAM)
    code = shown_code(bot, opened + 1)
    click_home(bot, "open_join_provider", user=RESELLER_ADMIN, team=RESELLER_TEAM)
    view_id = opened_view(bot, "join_provider_modal")["id"]

    def join(value: str) -> dict[str, Any]:
        return submit(
            bot,
            "join_provider_modal",
            code_values(value),
            user=RESELLER_ADMIN,
            team=RESELLER_TEAM,
            view_id=view_id,
        )

    assert "not valid" in join("ZZZZ-ZZZZ-ZZZZ-ZZZZ")["errors"]["code"]
    assert join(code) == {}
    told(bot, "I asked Northwind Distribution to approve you")
    assert _links(bot) == ["contoso-dist"]  # pending
    assert "Waiting for Northwind Distribution" in text(
        open_home(bot, RESELLER_ADMIN, RESELLER_TEAM)
    )
    assert "used already" in join(code)["errors"]["code"]

    request = _channel_text(bot, "C0NWNOTIF", "join_approve")
    button = next(
        e for b in request["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == "join_approve"
    )  # fmt: skip
    payload = block_actions_payload(
        "join_approve",
        button["value"],
        user_id=NW_ADMIN,
        team_id=NW_TEAM,
        channel_id="C0NWNOTIF",
        message=request,
        response_url=bot.slack.response_url(),
    )
    assert bot.interact(payload).status_code == 200
    deadline = time.monotonic() + 5
    while _links(bot) != ["contoso-dist", "northwind-dist"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert events(bot)[-1] == ("fabrikam", "provider_linked", "slack", NW_ADMIN, NW_TEAM)


# -------------------------------------------------------------------------- channel check
def test_a_notification_channel_the_bot_cannot_post_in_is_refused_with_what_to_do(
    bot: BotHarness,
) -> None:
    slack = bot.slack
    slack.set_channel("G0PRIVATE1", team_id=PROVIDER_TEAM, is_private=True, is_member=False)
    slack.set_channel("C0LOBBY001", team_id=PROVIDER_TEAM, is_member=False)
    slack.set_channel("C0ARCHIVED", team_id=PROVIDER_TEAM, is_archived=True)
    click_home(bot, "open_org_settings", user=PROVIDER_ADMIN, team=PROVIDER_TEAM)
    view_id = opened_view(bot, "org_settings_modal")["id"]

    def save(channel: str) -> dict[str, Any]:
        values = {
            "org_channel": {
                "org_channel": {"type": "conversations_select", "selected_conversation": channel}
            },
            "org_admins": {
                "org_admins": {"type": "multi_users_select", "selected_users": [PROVIDER_ADMIN]}
            },
        }
        return submit(
            bot, "org_settings_modal", values, user=PROVIDER_ADMIN, team=PROVIDER_TEAM,
            view_id=view_id,
        )  # fmt: skip

    private = save("G0PRIVATE1")["errors"]["org_channel"]
    assert "invite @Multichannel to it first" in private and "/invite @Multichannel" in private
    public = save("C0LOBBY001")["errors"]["org_channel"]
    assert "Multichannel is not in this channel" in public and "/invite @Multichannel" in public
    # an install from before the app read channels (no channels:read / groups:read)
    slack.fail_next("conversations.info", error="missing_scope")
    assert "install it again" in save("C0PROVNOTIF")["errors"]["org_channel"]
    slack.fail_next("conversations.info", status=500)
    assert "Try again in a minute" in save("C0PROVNOTIF")["errors"]["org_channel"]
    assert "archived" in save("C0ARCHIVED")["errors"]["org_channel"]
    # another workspace's channel does not exist for this workspace's token
    assert "I cannot see this channel" in save("C0RESNOTIF")["errors"]["org_channel"]
    assert org_row(bot, "contoso-dist")[4] == "C0PROVNOTIF" and events(bot) == []

    slack.set_channel("G0PRIVATE1", team_id=PROVIDER_TEAM, is_member=True)  # /invite
    assert save("G0PRIVATE1") == {}
    assert org_row(bot, "contoso-dist")[4] == "G0PRIVATE1"
    assert events(bot) == [("contoso-dist", "update", "slack", PROVIDER_ADMIN, PROVIDER_TEAM)]


def test_set_up_checks_the_channel_too(bot: BotHarness) -> None:
    from tests.invitations.test_onboarding import INSTALLER, TEAM, click_setup, form

    bot.slack.set_channel("G0STRPRIV1", team_id=TEAM, is_private=True, is_member=False)
    click_setup(bot, INSTALLER, open_home(bot, INSTALLER))
    view_id = opened_view(bot, "setup_modal")["id"]
    answer = submit(
        bot, "setup_modal", form(channel="G0STRPRIV1"), user=INSTALLER, team=TEAM, view_id=view_id
    )
    assert "/invite @Multichannel" in answer["errors"]["org_channel"]
    with bot.services.sessions() as session:
        assert org_for_team(session, TEAM) is None
        assert session.scalars(select(Organization.key)).all()  # the directory, unchanged


# -------------------------------------------------------------------------- Enterprise Grid
GRID, GRID_TEAM, GRID_HOME = "E0GRID0001", "T0GRIDWEST", "T0GRIDHOME"
GRID_INSTALLER, GRID_ORG_ADMIN, GRID_MEMBER = "U0GRIDINST", "W0GRIDADM1", "W0GRIDMEM1"


def _in_grid(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload from a workspace of an Enterprise Grid organization, as Slack sends it."""
    payload["enterprise"] = {"id": GRID, "name": "Grid"}
    payload["team"]["enterprise_id"] = GRID
    return payload


def _grid_home(bot: BotHarness, user: str) -> dict[str, Any]:
    from bot.testkit import app_home_opened_event
    from bot.testkit.payloads import event_callback

    body = event_callback(app_home_opened_event(user), GRID_TEAM)
    body["enterprise_id"] = GRID
    body["authorizations"][0]["enterprise_id"] = GRID
    before = len(bot.slack.calls("views.publish"))
    assert bot.post(json.dumps(body).encode()).status_code == 200
    call = bot.slack.wait_for("views.publish", count=before + 1)[-1]
    assert call.params["user_id"] == user
    return dict(call.params["view"])


def test_a_workspace_of_an_enterprise_grid_org_sets_up_and_administers(bot: BotHarness) -> None:
    """A workspace-level install in a Grid organization: the installation records the
    enterprise; the installer and a Grid org admin (whose `team_id` names another workspace
    of the organization) may set up; the directory admin checks work as anywhere else."""
    from tests.invitations.test_onboarding import form

    workspace = bot.slack.add_team(GRID_TEAM, name="Grid West", enterprise_id=GRID)
    workspace.set_user(GRID_INSTALLER, team_id=GRID_TEAM)
    workspace.set_user(
        GRID_ORG_ADMIN, team_id=GRID_HOME, enterprise_id=GRID,
        enterprise_teams=(GRID_HOME, GRID_TEAM), is_org_admin=True,
    )  # fmt: skip
    workspace.set_user(
        GRID_MEMBER, team_id=GRID_TEAM, enterprise_id=GRID, enterprise_teams=(GRID_TEAM,)
    )
    workspace.set_channel("C0GRIDNOTE", name="multichannel")
    assert bot.install(GRID_TEAM, GRID_INSTALLER).status_code == 200
    tokens = bot.services.tokens
    assert tokens is not None and tokens.installations is not None
    stored = tokens.installations.store.find_installation(enterprise_id=GRID, team_id=GRID_TEAM)
    assert stored is not None and stored.enterprise_id == GRID

    assert "open_setup_modal" in actions(_grid_home(bot, GRID_INSTALLER))
    assert "open_setup_modal" in actions(_grid_home(bot, GRID_ORG_ADMIN))
    assert "open_setup_modal" not in actions(_grid_home(bot, GRID_MEMBER))

    home = _grid_home(bot, GRID_ORG_ADMIN)
    click = block_actions_payload(
        "open_setup_modal", "home", user_id=GRID_ORG_ADMIN, team_id=GRID_TEAM, view=home
    )
    assert bot.interact(_in_grid(click)).status_code == 200
    view_id = opened_view(bot, "setup_modal")["id"]
    values = form(
        name="Grid Partners", tenant="7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", channel="C0GRIDNOTE"
    )
    answer = bot.interact(
        _in_grid(
            view_submission_payload(
                "setup_modal", values, user_id=GRID_ORG_ADMIN, team_id=GRID_TEAM, view_id=view_id
            )
        )
    )
    assert ack_json(answer) == {}
    with bot.services.sessions() as session:
        org = org_for_team(session, GRID_TEAM)
        assert org is not None and org.name == "Grid Partners"
    assert events(bot) == [("grid-partners", "create", "slack", GRID_ORG_ADMIN, GRID_TEAM)]

    # the directory admin's section, and a forged click by a member refused
    assert "open_org_details" in actions(_grid_home(bot, GRID_ORG_ADMIN))
    assert "open_org_details" not in actions(_grid_home(bot, GRID_MEMBER))
    opened = len(bot.slack.calls("views.open"))
    for user in (GRID_MEMBER, GRID_ORG_ADMIN):
        payload = block_actions_payload(
            "open_org_details", "home", user_id=user, team_id=GRID_TEAM, view=home
        )
        assert bot.interact(_in_grid(payload)).status_code == 200
    told(bot, "Only your organization's Multichannel admins")
    assert len(bot.slack.wait_for("views.open", count=opened + 1)) == opened + 1
    assert opened_view(bot, "org_details_modal")["blocks"]


def test_a_reseller_no_provider_approved_yet_is_told_to_wait_and_nothing_is_written(
    bot: BotHarness,
) -> None:
    """The directory requires an indirect reseller to have a provider; until one approves,
    its changes are refused with what to do (not saved half-way)."""
    from tests.invitations.test_onboarding import (
        INSTALLER,
        TEAM,
        _people,
        create_join_code,
        set_up_reseller,
    )

    _people(bot)
    assert set_up_reseller(bot, create_join_code(bot)) == {}
    before = events(bot)
    click_home(bot, "open_org_settings", user=INSTALLER, team=TEAM)
    values = {
        "org_channel": {
            "org_channel": {"type": "conversations_select", "selected_conversation": "C0STRANGER1"}
        },
        "org_admins": {"org_admins": {"type": "multi_users_select", "selected_users": [INSTALLER]}},
    }
    view_id = opened_view(bot, "org_settings_modal")["id"]
    assert (
        submit(bot, "org_settings_modal", values, user=INSTALLER, team=TEAM, view_id=view_id) == {}
    )
    told(bot, "an indirect reseller needs a provider that approved it")
    assert events(bot) == before
