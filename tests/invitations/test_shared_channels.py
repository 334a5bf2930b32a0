"""The shared-channel set-up in distributed mode (docs/slack-app.md): a reseller that never
installs the app, reached only through a Slack Connect channel its provider's workspace hosts.

The directory says so (`notification_channel_host`, organizations.notification_channel_team);
every delivery to that channel goes out with the host's token; the reseller's people, external
members of the channel, click the buttons of the bot's messages and each click is credited to
the reseller (`user.team_id`), on the strict multi-workspace stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.core.store.directory import import_directory, org_for_team, providers_of
from bot.core.store.directory_file import read_directory_file
from bot.core.store.errors import DirectoryError
from bot.core.store.models import (
    AuditEvent,
    DirectoryEvent,
    Invitation,
    JobStatus,
    Organization,
    OutboxMessage,
)
from bot.testkit import notify as tk
from bot.testkit.flows import (
    PROVIDER_TEAM,
    PROVIDER_USER,
    RESELLER_TEAM,
    RESELLER_USER,
    click,
    invite_form,
    state_of,
    submit,
)
from bot.testkit.harness import BotHarness
from bot.testkit.partner_center import WebhookSigner

from .conftest import DIRECTORY

SHARED = "C0FABSHARE1"  # hosted by the provider, shared with the reseller's workspace
DESK = "C0MCDESK01"  # the provider's own desk
CUSTOMER = "7d6c5b4a-3928-4f1e-8d7c-6b5a49382716"


def shared_directory() -> dict[str, Any]:
    """The example directory, with Fabrikam reached through the provider's shared channel."""
    data = read_directory_file(DIRECTORY)
    for entry in data["organizations"]:
        if entry["key"] == "fabrikam":
            entry["notification_channel"] = SHARED
            entry["notification_channel_host"] = PROVIDER_TEAM
    return data


@pytest.fixture()
def signer() -> Iterator[WebhookSigner]:
    with WebhookSigner() as instance:
        yield instance


@pytest.fixture()
def bot(signer: WebhookSigner) -> Iterator[BotHarness]:
    """Distributed mode: the provider installed the app; Fabrikam did not (its workspace only
    shares the provider's channel)."""
    from tests.notify.helpers import fast_settings

    with BotHarness(
        distributed=True, outbox=True, signer=signer, bot_settings=fast_settings()
    ) as harness:
        provider = harness.slack.add_team(PROVIDER_TEAM, name="Contoso")
        provider.set_user(PROVIDER_USER, team_id=PROVIDER_TEAM)
        provider.set_channel(DESK, name="desk")
        provider.set_channel("C0PROVNOTIF", name="contoso-notifications")
        provider.set_channel(SHARED, name="contoso-fabrikam")
        reseller = harness.slack.add_team(RESELLER_TEAM, name="Fabrikam")
        reseller.set_user(RESELLER_USER, team_id=RESELLER_TEAM)
        harness.slack.share_channel(SHARED, PROVIDER_TEAM, RESELLER_TEAM)
        assert harness.install(PROVIDER_TEAM, PROVIDER_USER).status_code == 200
        with harness.services.sessions.begin() as session:
            import_directory(session, shared_directory())
        yield harness


def token_of(bot: BotHarness, team: str) -> str:
    return f"Bearer {bot.slack.tokens_of(team)[-1]}"


def latest(bot: BotHarness, channel: str) -> dict[str, Any]:
    messages = bot.slack.team_workspace(PROVIDER_TEAM).messages(channel)
    assert messages, f"no message in {channel}"
    return messages[-1]


def audit(bot: BotHarness) -> list[tuple[str | None, str | None, str]]:
    with bot.services.sessions() as session:
        rows = session.execute(
            select(AuditEvent.user_id, AuditEvent.team_id, AuditEvent.new_state).order_by(
                AuditEvent.id
            )
        ).all()
    return [(user, team, state.value) for user, team, state in rows]


def test_the_same_flow_in_a_slack_connect_channel_credited_to_the_acting_organization(
    bot: BotHarness,
) -> None:
    from tests.notify.helpers import drained, wait_until

    submit(
        bot,
        "invite_modal",
        invite_form(reseller="fabrikam", tenant=CUSTOMER),
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
    )
    bot.slack.clear()
    click(bot, latest(bot, DESK), "inv_send_reseller", team=PROVIDER_TEAM, user=PROVIDER_USER)
    # the reseller's copy is in the shared channel, posted with the host's (provider's) token
    copy = latest(bot, SHARED)
    assert "sent to the reseller" in state_of(copy)
    (post,) = bot.slack.calls("chat.postMessage")
    assert post.ok and post.params["channel"] == SHARED
    assert post.headers["authorization"] == token_of(bot, PROVIDER_TEAM)
    assert bot.slack.tokens_of(RESELLER_TEAM) == []  # Fabrikam never installed the app

    # a Fabrikam person, an external member, cannot use the provider's own buttons
    bot.slack.clear()
    before = audit(bot)
    click(
        bot,
        latest(bot, DESK),
        "inv_cancel",
        team=RESELLER_TEAM,
        user=RESELLER_USER,
        channel_team=PROVIDER_TEAM,
    )
    assert bot.slack.calls("chat.update") == [] and audit(bot) == before
    told = bot.slack.wait_for("response_url")[-1].params["text"]
    assert "Your organization cannot do that with this invitation; its provider can." in told
    assert "sent to the reseller" in state_of(latest(bot, DESK))
    # ... but clicks "Sent to customer" on its own copy: the click is Fabrikam's
    click(
        bot,
        copy,
        "inv_sent_customer",
        team=RESELLER_TEAM,
        user=RESELLER_USER,
        channel_team=PROVIDER_TEAM,
    )
    assert "sent to the customer" in state_of(latest(bot, SHARED))
    updates = bot.slack.calls("chat.update")
    assert {c.params["channel"] for c in updates} == {DESK, SHARED}
    assert all(c.ok and c.headers["authorization"] == token_of(bot, PROVIDER_TEAM) for c in updates)
    assert audit(bot)[-1] == (RESELLER_USER, RESELLER_TEAM, "sent_to_customer")
    assert (PROVIDER_USER, PROVIDER_TEAM, "sent_to_reseller") in audit(bot)

    # the customer accepts: every copy and the reseller's notification, with the host's token
    bot.slack.clear()
    assert bot.webhook(tk.acceptance(CUSTOMER)).status_code == 200
    wait_until(lambda: drained(bot), timeout=20)
    sent = [c for c in bot.slack.calls() if c.method in ("chat.update", "chat.postMessage")]
    assert {c.params["channel"] for c in sent} >= {DESK, SHARED}
    assert all(c.ok and c.headers["authorization"] == token_of(bot, PROVIDER_TEAM) for c in sent)
    shared_copies = [m for m in bot.slack.team_workspace(PROVIDER_TEAM).messages(SHARED)]
    assert any("accepted by the customer" in state_of(m) for m in shared_copies if "blocks" in m)
    with bot.services.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == SHARED)).all()
        assert rows and {row.team_id for row in rows} == {PROVIDER_TEAM}


def test_when_the_host_leaves_the_shared_channels_notifications_park_and_resume_with_it(
    bot: BotHarness,
) -> None:
    """The reseller's notifications depend on the host's installation, not on its own."""
    from tests.notify.helpers import drained, wait_until

    submit(
        bot,
        "invite_modal",
        invite_form(reseller="fabrikam", tenant=CUSTOMER),
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
    )
    click(bot, latest(bot, DESK), "inv_send_reseller", team=PROVIDER_TEAM, user=PROVIDER_USER)
    bot.slack.revoke_team(PROVIDER_TEAM)  # the provider removed the app
    assert bot.webhook(tk.acceptance(CUSTOMER)).status_code == 200

    def shared_rows() -> list[OutboxMessage]:
        with bot.services.sessions() as session:
            return list(
                session.scalars(select(OutboxMessage).where(OutboxMessage.channel == SHARED))
            )

    wait_until(
        lambda: bool(shared_rows()) and all(r.status is JobStatus.parked for r in shared_rows()),
        timeout=20,
    )
    for row in shared_rows():
        assert row.team_id == PROVIDER_TEAM
        assert (row.last_error or "").startswith(f"the app was uninstalled from {PROVIDER_TEAM}")
    bot.slack.clear()
    assert bot.install(PROVIDER_TEAM, PROVIDER_USER).status_code == 200  # resumes them
    wait_until(lambda: drained(bot), timeout=20)
    assert all(r.status is JobStatus.done for r in shared_rows())
    fresh = token_of(bot, PROVIDER_TEAM)
    to_shared = [c for c in bot.slack.calls() if c.params.get("channel") == SHARED]
    assert to_shared and all(c.ok and c.headers["authorization"] == fresh for c in to_shared)
    assert any("accepted by the customer" in state_of(m) for m in bot.slack.messages(SHARED))


def test_the_import_refuses_a_host_that_is_no_other_organizations_workspace(
    bot: BotHarness,
) -> None:
    data = shared_directory()
    for entry in data["organizations"]:
        if entry["key"] == "fabrikam":
            entry["notification_channel_host"] = "T0NOBODY01"
        if entry["key"] == "adatum":
            entry["notification_channel_host"] = "T0ADATUM"  # its own workspace
        if entry["key"] == "tailspin":
            entry["notification_channel_host"] = PROVIDER_TEAM  # but no channel
    with pytest.raises(DirectoryError) as refused, bot.services.sessions.begin() as session:
        import_directory(session, data)
    found = {(issue.org, issue.code) for issue in refused.value.issues}
    assert {
        ("adatum", "host_is_own_team"),
        ("tailspin", "host_without_channel"),
    } <= found
    with pytest.raises(DirectoryError) as unknown, bot.services.sessions.begin() as session:
        data = shared_directory()
        data["organizations"][2]["notification_channel_host"] = "T0NOBODY01"
        import_directory(session, data)
    assert {(i.org, i.code) for i in unknown.value.issues} == {("fabrikam", "unknown_host_team")}
    with bot.services.sessions() as session:  # nothing changed
        fabrikam = org_for_team(session, RESELLER_TEAM)
        assert fabrikam is not None and fabrikam.notification_channel_team == PROVIDER_TEAM
        assert session.scalar(select(Invitation.id)) is None
    assert yaml.safe_dump(data)  # the file stays plain YAML


# ------------------------------------------------ a channel chosen in Slack is checked
@pytest.fixture()
def everyone() -> Iterator[BotHarness]:
    """Every organization of the example directory installed in its own workspace."""
    from tests.invitations.conftest import distributed_bot

    with distributed_bot() as harness:
        yield harness


def test_a_channel_chosen_in_slack_is_checked_with_the_workspaces_token(
    everyone: BotHarness,
) -> None:
    from bot.testkit.flows import opened_view
    from bot.testkit.payloads import block_actions_payload
    from tests.invitations.test_onboarding import (
        PROVIDER_ADMIN,
        open_home,
        settings_form,
        submit_settings,
    )

    bot = everyone
    bot.slack.set_channel("C0PROVQUIET", team_id=PROVIDER_TEAM, is_member=False)
    home = open_home(bot, PROVIDER_ADMIN, PROVIDER_TEAM)
    payload = block_actions_payload(
        "open_org_settings", "home", user_id=PROVIDER_ADMIN, team_id=PROVIDER_TEAM, view=home
    )
    assert bot.interact(payload).status_code == 200
    view = opened_view(bot, "org_settings_modal")

    def choose(channel: str) -> dict[str, Any]:
        form = settings_form(channel, [PROVIDER_ADMIN])
        return submit_settings(
            bot, form, user=PROVIDER_ADMIN, team=PROVIDER_TEAM, view_id=view["id"]
        )

    bot.slack.clear()
    other = choose("C0RESNOTIF")  # the reseller's channel: not visible to the provider's bot
    assert "I cannot see this channel from this workspace" in other["errors"]["org_channel"]
    quiet = choose("C0PROVQUIET")  # the provider's, but the bot was not invited
    assert "/invite @Multichannel" in quiet["errors"]["org_channel"]
    info = bot.slack.calls("conversations.info")
    assert [c.response.get("error") for c in info] == ["channel_not_found", None]
    assert info[1].response["channel"]["is_member"] is False
    assert all(c.headers["authorization"] == token_of(bot, PROVIDER_TEAM) for c in info)
    with bot.services.sessions() as session:
        org = org_for_team(session, PROVIDER_TEAM)
        assert org is not None and org.notification_channel == "C0PROVNOTIF"
    # the Slack Connect desk the provider hosts and shares: accepted, reached with its own token
    assert choose(DESK) == {}
    with bot.services.sessions() as session:
        org = org_for_team(session, PROVIDER_TEAM)
        assert org is not None and org.notification_channel == DESK
        assert org.notification_channel_team is None


def test_the_stand_in_describes_a_shared_channel_like_slack(everyone: BotHarness) -> None:
    import httpx

    def info(team: str, channel: str) -> dict[str, Any]:
        headers = {"authorization": token_of(everyone, team)}
        url = f"{everyone.slack.base_url}conversations.info"
        return dict(httpx.post(url, data={"channel": channel}, headers=headers).json())

    hosted = info(PROVIDER_TEAM, DESK)["channel"]
    assert hosted["is_ext_shared"] is True and hosted["is_shared"] is True
    assert hosted["conversation_host_id"] == PROVIDER_TEAM
    assert RESELLER_TEAM in hosted["connected_team_ids"]
    seen_by_guest = info(RESELLER_TEAM, DESK)["channel"]
    assert seen_by_guest["is_ext_shared"] is True
    assert seen_by_guest["conversation_host_id"] == PROVIDER_TEAM
    own = info(RESELLER_TEAM, "C0RESNOTIF")["channel"]
    assert own["is_ext_shared"] is False and own["context_team_id"] == RESELLER_TEAM
    assert info(PROVIDER_TEAM, "C0RESNOTIF") == {"ok": False, "error": "channel_not_found"}
    # an external member of a shared channel: users.info answers the host about them
    user = httpx.post(
        f"{everyone.slack.base_url}users.info",
        data={"user": RESELLER_USER},
        headers={"authorization": token_of(everyone, PROVIDER_TEAM)},
    ).json()
    assert user["ok"] and user["user"]["team_id"] == RESELLER_TEAM


# ------------------------------------------------ mcbot partners import checks with Slack
def test_partners_import_checks_a_hosted_channel_with_the_hosts_token(
    bot: BotHarness,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli.main import main
    from bot.testkit.harness import CLIENT_ID, CLIENT_SECRET, ENCRYPTION_KEY, SIGNING_SECRET

    def run(channel: str, host: str) -> tuple[int, str]:
        data = shared_directory()
        for entry in data["organizations"]:
            if entry["key"] == "fabrikam":
                entry["notification_channel"] = channel
                entry["notification_channel_host"] = host
        path = tmp_path / "partners.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        capsys.readouterr()
        code = main(["partners", "import", str(path), "--database-url", bot.database_url])
        return code, capsys.readouterr().err

    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env
    code, err = run(SHARED, PROVIDER_TEAM)
    assert code == 2 and "the Slack settings are missing" in err

    for name, value in {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "SLACK_API_URL": bot.slack.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    bot.slack.set_channel("C0PROVQUIET", team_id=PROVIDER_TEAM, is_member=False)
    refusals = {
        ("C0PROVNOTIF", PROVIDER_TEAM): "it is not a Slack Connect channel",
        ("C0PROVQUIET", PROVIDER_TEAM): "the bot is not in it",
        ("C0NOSUCH001", PROVIDER_TEAM): "cannot see it (Slack: channel_not_found)",
        (SHARED, "T0NORTHWIND"): "the app is not installed in that workspace",
    }
    for (channel, host), said in refusals.items():
        code, err = run(channel, host)
        assert code == 2 and said in err and "Nothing was imported." in err, err
        assert f"fabrikam: notification channel {channel} hosted by workspace {host}" in err
    with bot.services.sessions() as session:
        fabrikam = org_for_team(session, RESELLER_TEAM)
        assert fabrikam is not None and fabrikam.notification_channel == SHARED
    info = bot.slack.calls("conversations.info")
    assert info and all(c.headers["authorization"] == token_of(bot, PROVIDER_TEAM) for c in info)
    assert run(SHARED, PROVIDER_TEAM) == (0, "")


def test_the_providers_home_tab_counts_a_shared_channel_reseller_as_reachable(
    bot: BotHarness,
) -> None:
    import json

    from bot.testkit import app_home_opened_event

    def home() -> str:
        before = len(bot.slack.calls("views.publish"))
        event = app_home_opened_event(PROVIDER_USER)
        assert bot.event(event, team_id=PROVIDER_TEAM).status_code == 200
        call = bot.slack.wait_for("views.publish", count=before + 1)[-1]
        return json.dumps(call.params["view"])

    # Fabrikam never installed: reached through the provider's own workspace; Tailspin
    # (its own channel, its workspace without the app) is not reachable
    unreachable = home().partition("Not reachable in Slack")[2].split("parked")[0]
    assert "Tailspin" in unreachable and "Fabrikam" not in unreachable


def test_expiry_updates_the_shared_channels_copy_with_the_hosts_token(bot: BotHarness) -> None:
    import asyncio
    from datetime import timedelta

    from slack_sdk.web.async_client import AsyncWebClient
    from sqlalchemy import update

    from bot.core.invitations import expire

    submit(
        bot,
        "invite_modal",
        invite_form(reseller="fabrikam", tenant=CUSTOMER),
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
    )
    click(bot, latest(bot, DESK), "inv_send_reseller", team=PROVIDER_TEAM, user=PROVIDER_USER)
    past = bot.services.clock() - timedelta(days=1)
    with bot.services.sessions.begin() as session:
        session.execute(update(Invitation).values(expires_at=past))
    bot.slack.clear()

    async def run() -> int:  # the expiry job, with a client that holds no token of its own
        count = await expire(bot.services, AsyncWebClient(base_url=bot.slack.base_url))
        await asyncio.sleep(0.2)  # let the Home refreshes it spawned finish
        return count

    assert asyncio.run(run()) == 1
    updates = {c.params["channel"]: c for c in bot.slack.calls("chat.update")}
    assert set(updates) == {DESK, SHARED}
    assert all(
        c.ok and c.headers["authorization"] == token_of(bot, PROVIDER_TEAM)
        for c in updates.values()
    )
    assert "expired" in state_of(latest(bot, SHARED))


def test_the_workspace_that_reaches_a_channel(bot: BotHarness) -> None:
    """Every delivery path (invitation copies, outbox rows, the unmatched acceptance and its
    link, join requests) asks the same question of an organization and a channel."""
    from bot.core.snapshots import OrgView, channel_team

    with bot.services.sessions() as session:
        fabrikam = org_for_team(session, RESELLER_TEAM)
        contoso = org_for_team(session, PROVIDER_TEAM)
        assert fabrikam is not None and contoso is not None
        view = OrgView.of(fabrikam)
        for team_for in (view.team_for, lambda c: channel_team(fabrikam, c)):
            assert team_for(SHARED) == PROVIDER_TEAM  # its notification channel: the host's
            assert team_for("C0ELSEWHERE") == RESELLER_TEAM  # anywhere else: its own
            assert team_for(None) == RESELLER_TEAM
        assert channel_team(contoso, "C0PROVNOTIF") == PROVIDER_TEAM


# ------------------------------------ a provider's admin adds a shared-channel reseller in Slack
NEW_TEAM, NEW_SHARED, NEW_USER = "T0NORTHW01", "C0NWSHARE1", "U0NWPERSON"
NEW_TENANT = "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c"


def reseller_form(channel: str, *, partner: str = "4455667", tenant: str = NEW_TENANT) -> Any:
    def text(value: str) -> dict[str, Any]:
        return {"type": "plain_text_input", "value": value}

    return {
        "org_name": {"org_name": text("Northwind Traders")},
        "org_tenant": {"org_tenant": text(tenant)},
        "org_partner_id": {"org_partner_id": text(partner)},
        "org_channel": {
            "org_channel": {"type": "conversations_select", "selected_conversation": channel}
        },
    }


def test_a_providers_admin_adds_a_reseller_reached_in_a_slack_connect_channel(
    bot: BotHarness,
) -> None:
    """Issue 13 §4 for the shared-channel set-up: the provider's directory admin adds, from its
    Home tab, a reseller that never installs the app; the reseller's workspace is read from
    Slack (the channel's other workspace), so that its people's clicks there are credited to
    it, as in the Fabrikam flow above."""
    from bot.testkit.flows import opened_view
    from bot.testkit.harness import ack_json
    from bot.testkit.payloads import block_actions_payload, view_submission_payload
    from tests.invitations.test_onboarding import open_home

    admin = "U0PROVADMIN"  # Contoso's directory admin in the example directory
    provider = bot.slack.team_workspace(PROVIDER_TEAM)
    provider.set_user(admin, team_id=PROVIDER_TEAM)
    provider.set_channel(NEW_SHARED, name="contoso-northwind")
    provider.set_channel("C0LONELY01", name="not-shared")
    newcomer = bot.slack.add_team(NEW_TEAM, name="Northwind")
    newcomer.set_user(NEW_USER, team_id=NEW_TEAM)
    bot.slack.share_channel(NEW_SHARED, PROVIDER_TEAM, NEW_TEAM)
    provider.set_channel("C0TWOSHARE", name="three-companies")
    bot.slack.share_channel("C0TWOSHARE", PROVIDER_TEAM, NEW_TEAM, RESELLER_TEAM)

    home = open_home(bot, admin, PROVIDER_TEAM)
    assert "open_shared_reseller" in json.dumps(home)
    payload = block_actions_payload(
        "open_shared_reseller", "home", user_id=admin, team_id=PROVIDER_TEAM, view=home
    )
    assert bot.interact(payload).status_code == 200
    view = opened_view(bot, "shared_reseller_modal")

    def submit(values: dict[str, Any], user: str = admin) -> dict[str, Any]:
        response = bot.interact(
            view_submission_payload(
                "shared_reseller_modal",
                values,
                user_id=user,
                team_id=PROVIDER_TEAM,
                view_id=view["id"],
            )
        )
        assert response.status_code == 200
        return ack_json(response)

    def orgs() -> int:
        with bot.services.sessions() as session:
            return len(session.scalars(select(Organization)).all())

    before = orgs()
    # refused on the form, nothing written: a channel not shared, one shared with two
    # workspaces, a malformed partner id
    assert (
        "not a Slack Connect channel"
        in submit(reseller_form("C0LONELY01"))["errors"]["org_channel"]
    )
    assert (
        "more than one other workspace"
        in submit(reseller_form("C0TWOSHARE"))["errors"]["org_channel"]
    )
    assert "org_partner_id" in submit(reseller_form(NEW_SHARED, partner="12ab"))["errors"]
    # someone who is not a directory admin is refused, nothing written
    assert submit(reseller_form(NEW_SHARED), user=PROVIDER_USER) == {}
    assert orgs() == before

    assert submit(reseller_form(NEW_SHARED)) == {}
    with bot.services.sessions() as session:
        added = org_for_team(session, NEW_TEAM)
        assert added is not None and added.name == "Northwind Traders"
        assert (added.role.value, added.tenant_id, added.partner_id) == (
            "indirect_reseller",
            NEW_TENANT,
            "4455667",
        )
        assert (added.notification_channel, added.notification_channel_team) == (
            NEW_SHARED,
            PROVIDER_TEAM,
        )
        assert [p.key for p in providers_of(session, added)] == ["contoso-dist"]
        trail = session.execute(
            select(DirectoryEvent.org_key, DirectoryEvent.source, DirectoryEvent.user_id).where(
                DirectoryEvent.org_key == added.key
            )
        ).all()
    assert [(source, user) for _key, source, user in trail] == [("slack", admin)]
    told = [c.params.get("text", "") for c in bot.slack.calls("chat.postMessage")]
    assert any("Northwind Traders, your indirect reseller" in t for t in told)
    # the same channel again: its other workspace is in the directory now
    view = opened_view(bot, "shared_reseller_modal")
    assert (
        "already belongs to an organization"
        in submit(reseller_form(NEW_SHARED))["errors"]["org_channel"]
    )
