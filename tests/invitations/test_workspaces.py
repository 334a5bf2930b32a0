"""Distributed mode, end to end on the multi-workspace stand-in: a provider (Contoso,
T0PROVIDER) and two resellers (Fabrikam T0RESELLER, Tailspin T0TAILSPIN), each in its own
Slack workspace with its own token. Every copy goes out with its own workspace's token; an
uninstalled workspace is a visible state; a reinstall resumes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.cli.main import main
from bot.core.outbox.queue import Effect, enqueue
from bot.core.store.clock import utc_now
from bot.core.store.directory import import_directory
from bot.core.store.directory_file import read_directory_file
from bot.core.store.models import JobStatus, OutboxEffect, OutboxMessage
from bot.testkit.flows import (
    PROVIDER_TEAM,
    PROVIDER_USER,
    RESELLER_TEAM,
    RESELLER_USER,
    buttons,
    click,
    invite_form,
    state_of,
    submit,
)
from bot.testkit.harness import BotHarness

from .conftest import DIRECTORY

TAILSPIN_TEAM = "T0TAILSPIN"
TEAMS = {
    PROVIDER_TEAM: ("Contoso", PROVIDER_USER, "C0PROVNOTIF"),
    RESELLER_TEAM: ("Fabrikam", RESELLER_USER, "C0RESNOTIF"),
    TAILSPIN_TEAM: ("Tailspin", "U0TAILUSER1", "C0TAILNOTIF"),
}


@pytest.fixture()
def bot() -> Iterator[BotHarness]:
    with BotHarness(distributed=True) as harness:
        with harness.services.sessions.begin() as session:
            import_directory(session, read_directory_file(DIRECTORY))
        for team, (name, user, channel) in TEAMS.items():
            workspace = harness.slack.add_team(team, name=name)
            workspace.set_user(user, team_id=team)
            workspace.set_channel(channel, name=channel.lower())
            workspace.set_channel("C0MCDESK01", name="desk") if team == PROVIDER_TEAM else None
            assert harness.install(team, user).status_code == 200
        yield harness


def latest_in(bot: BotHarness, team: str, channel: str) -> dict[str, Any]:
    messages = bot.slack.team_workspace(team).messages(channel)
    assert messages, f"no message in {channel} of {team}"
    return messages[-1]


def token_of(bot: BotHarness, team: str) -> str:
    return f"Bearer {bot.slack.tokens_of(team)[-1]}"


def _create_for_fabrikam(bot: BotHarness) -> dict[str, Any]:
    submit(
        bot,
        "invite_modal",
        invite_form(reseller="fabrikam"),
        team=PROVIDER_TEAM,
        user=PROVIDER_USER,
    )
    return latest_in(bot, PROVIDER_TEAM, "C0MCDESK01")


def test_each_copy_goes_out_with_its_own_workspaces_token(bot: BotHarness) -> None:
    message = _create_for_fabrikam(bot)
    bot.slack.clear()
    click(bot, message, "inv_send_reseller", team=PROVIDER_TEAM, user=PROVIDER_USER)
    reseller_copy = latest_in(bot, RESELLER_TEAM, "C0RESNOTIF")
    assert "sent to the reseller" in state_of(reseller_copy)
    assert "sent to the reseller" in state_of(latest_in(bot, PROVIDER_TEAM, "C0MCDESK01"))
    (post,) = bot.slack.calls("chat.postMessage")
    assert post.ok and post.headers["authorization"] == token_of(bot, RESELLER_TEAM)
    (update,) = bot.slack.calls("chat.update")
    assert update.ok and update.headers["authorization"] == token_of(bot, PROVIDER_TEAM)
    # the reseller forwards it from its own workspace: each copy updated with its own token
    bot.slack.clear()
    click(bot, reseller_copy, "inv_sent_customer", team=RESELLER_TEAM, user=RESELLER_USER)
    by_channel = {c.params["channel"]: c for c in bot.slack.calls("chat.update")}
    assert by_channel["C0RESNOTIF"].headers["authorization"] == token_of(bot, RESELLER_TEAM)
    assert by_channel["C0MCDESK01"].headers["authorization"] == token_of(bot, PROVIDER_TEAM)
    assert all(c.ok for c in by_channel.values())
    # the stand-in refuses another workspace's channel: nothing here relied on that
    assert bot.slack.team_workspace(PROVIDER_TEAM).messages("C0RESNOTIF") == []


def test_an_uninstalled_resellers_copy_is_refused_in_words_and_nothing_moves(
    bot: BotHarness,
) -> None:
    message = _create_for_fabrikam(bot)
    bot.slack.revoke_team(RESELLER_TEAM)
    bot.event({"type": "app_uninstalled"}, team_id=RESELLER_TEAM)
    bot.slack.clear()
    click(bot, message, "inv_send_reseller", team=PROVIDER_TEAM, user=PROVIDER_USER)
    notice = bot.slack.calls("response_url")[-1].params["text"]
    assert "Nothing was sent: the copy for Fabrikam" in notice
    assert "not installed in Fabrikam" in notice and "/slack/install" in notice
    assert "still *created*" in notice
    provider_copy = latest_in(bot, PROVIDER_TEAM, "C0MCDESK01")
    assert "created" in state_of(provider_copy)
    assert "inv_send_reseller" in buttons(provider_copy)
    assert bot.slack.calls("chat.postMessage") == []  # nothing went out with a wrong token
    # reinstalled: it works
    assert bot.install(RESELLER_TEAM, RESELLER_USER).status_code == 200
    click(bot, message, "inv_send_reseller", team=PROVIDER_TEAM, user=PROVIDER_USER)
    assert "sent to the reseller" in state_of(latest_in(bot, RESELLER_TEAM, "C0RESNOTIF"))


def _queue(bot: BotHarness, team: str, channel: str, key: str) -> None:
    message = {"message": {"text": key, "blocks": []}}
    with bot.services.sessions.begin() as session:
        enqueue(
            session,
            [Effect(key, OutboxEffect.post, channel, message, team_id=team)],
            now=utc_now(),
        )


def _statuses(bot: BotHarness) -> dict[str, tuple[JobStatus, str | None]]:
    with bot.services.sessions() as session:
        rows = session.execute(
            select(OutboxMessage.dedupe_key, OutboxMessage.status, OutboxMessage.last_error)
        ).all()
    return {key: (status, error) for key, status, error in rows}


def test_uninstall_parks_that_workspaces_notifications_and_reinstall_resumes_them(
    bot: BotHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    _queue(bot, RESELLER_TEAM, "C0RESNOTIF", "fabrikam-1")
    _queue(bot, TAILSPIN_TEAM, "C0TAILNOTIF", "tailspin-1")
    bot.slack.revoke_team(RESELLER_TEAM)
    assert bot.event({"type": "app_uninstalled"}, team_id=RESELLER_TEAM).status_code == 200
    statuses = _statuses(bot)
    status, reason = statuses["fabrikam-1"]
    assert status is JobStatus.parked
    assert reason == "the app was uninstalled from Fabrikam IT (T0RESELLER)"
    assert statuses["tailspin-1"][0] is JobStatus.pending  # the other reseller's keep flowing
    assert main(["outbox", "--database-url", bot.database_url, "--parked"]) == 0
    assert "the app was uninstalled from Fabrikam IT (T0RESELLER)" in capsys.readouterr().out
    # the installation is gone: nothing can be sent to Fabrikam with any token
    assert json.dumps(bot.slack.tokens_of(RESELLER_TEAM))  # revoked at Slack
    assert bot.install(RESELLER_TEAM, RESELLER_USER).status_code == 200
    status, reason = _statuses(bot)["fabrikam-1"]
    assert status is JobStatus.pending and reason is None


def test_the_outbox_sends_each_notification_with_its_workspaces_token() -> None:
    from tests.notify.helpers import fast_settings, wait_until

    with BotHarness(distributed=True, outbox=True, bot_settings=fast_settings()) as bot:
        for team, (name, user, channel) in TEAMS.items():
            workspace = bot.slack.add_team(team, name=name)
            workspace.set_user(user, team_id=team)
            workspace.set_channel(channel, name=channel.lower())
        for team in (PROVIDER_TEAM, TAILSPIN_TEAM):
            assert bot.install(team, TEAMS[team][1]).status_code == 200
        _queue(bot, TAILSPIN_TEAM, "C0TAILNOTIF", "tailspin-1")
        _queue(bot, RESELLER_TEAM, "C0RESNOTIF", "fabrikam-never-installed")
        bot.services.outbox_wakeup.set()
        wait_until(lambda: _statuses(bot)["tailspin-1"][0] is JobStatus.done)
        wait_until(lambda: _statuses(bot)["fabrikam-never-installed"][0] is JobStatus.parked)
        (post,) = [c for c in bot.slack.calls("chat.postMessage") if c.ok]
        assert post.headers["authorization"] == token_of(bot, TAILSPIN_TEAM)
        assert bot.slack.team_workspace(TAILSPIN_TEAM).messages("C0TAILNOTIF")
        reason = _statuses(bot)["fabrikam-never-installed"][1] or ""
        assert "not installed in Slack workspace T0RESELLER" in reason
        assert "/slack/install" in reason


def test_a_partner_workspace_without_the_app_shows_in_the_home_tab(bot: BotHarness) -> None:
    from bot.testkit import app_home_opened_event

    def home(user: str, team: str) -> str:
        before = len(bot.slack.calls("views.publish"))
        assert bot.event(app_home_opened_event(user), team_id=team).status_code == 200
        call = bot.slack.wait_for("views.publish", count=before + 1)[-1]
        assert call.ok and call.headers["authorization"] == token_of(bot, team)
        return json.dumps(call.params["view"])

    assert "Not reachable in Slack" not in home(PROVIDER_USER, PROVIDER_TEAM)
    bot.slack.revoke_team(RESELLER_TEAM)
    bot.event({"type": "app_uninstalled"}, team_id=RESELLER_TEAM)
    shown = home(PROVIDER_USER, PROVIDER_TEAM)
    assert "Not reachable in Slack" in shown and "Fabrikam IT" in shown
    assert "Tailspin" not in shown.split("Not reachable in Slack")[1].split("parked")[0]


def test_a_resellers_channel_slack_refuses_moves_nothing_and_says_why(bot: BotHarness) -> None:
    message = _create_for_fabrikam(bot)
    bot.slack.clear()
    bot.slack.fail_next("chat.postMessage", error="channel_not_found")
    click(bot, message, "inv_send_reseller", team=PROVIDER_TEAM, user=PROVIDER_USER)
    notice = bot.slack.calls("response_url")[-1].params["text"]
    assert "Nothing was sent: the copy for Fabrikam IT could not be delivered" in notice
    assert "notification channel cannot be reached in their workspace" in notice
    assert "channel_not_found" in notice and "still *created*" in notice
    assert "invite me" not in notice  # impossible across workspaces: not advised
    assert "created" in state_of(latest_in(bot, PROVIDER_TEAM, "C0MCDESK01"))
    assert bot.slack.calls("chat.update") == []  # the provider's copy claims nothing new
    (post,) = bot.slack.calls("chat.postMessage")
    assert post.headers["authorization"] == token_of(bot, RESELLER_TEAM)


def test_an_acceptance_updates_every_copy_each_with_its_own_workspaces_token() -> None:
    from bot.testkit import notify as tk
    from bot.testkit.partner_center import WebhookSigner
    from tests.notify.helpers import drained, fast_settings, wait_until

    customer = "7d6c5b4a-3928-4f1e-8d7c-6b5a49382716"
    with (
        WebhookSigner() as signer,
        BotHarness(
            distributed=True, outbox=True, signer=signer, bot_settings=fast_settings()
        ) as bot,
    ):
        with bot.services.sessions.begin() as session:
            import_directory(session, read_directory_file(DIRECTORY))
        for team, (name, user, channel) in TEAMS.items():
            workspace = bot.slack.add_team(team, name=name)
            workspace.set_user(user, team_id=team)
            workspace.set_channel(channel, name=channel.lower())
            if team == PROVIDER_TEAM:
                workspace.set_channel("C0MCDESK01", name="desk")
            assert bot.install(team, user).status_code == 200
        submit(
            bot,
            "invite_modal",
            invite_form(reseller="fabrikam", tenant=customer),
            team=PROVIDER_TEAM,
            user=PROVIDER_USER,
        )
        message = latest_in(bot, PROVIDER_TEAM, "C0MCDESK01")
        click(bot, message, "inv_send_reseller", team=PROVIDER_TEAM, user=PROVIDER_USER)
        bot.slack.clear()
        assert bot.webhook(tk.acceptance(customer)).status_code == 200
        wait_until(lambda: drained(bot), timeout=20)
        sent = [c for c in bot.slack.calls() if c.method in ("chat.update", "chat.postMessage")]
        assert sent and all(c.ok for c in sent)
        by_channel: dict[str, set[str]] = {}
        for call in sent:
            by_channel.setdefault(call.params["channel"], set()).add(call.headers["authorization"])
        assert by_channel["C0MCDESK01"] == {token_of(bot, PROVIDER_TEAM)}
        assert by_channel["C0RESNOTIF"] == {token_of(bot, RESELLER_TEAM)}
        for channel in ("C0MCDESK01", "C0RESNOTIF"):
            team = PROVIDER_TEAM if channel == "C0MCDESK01" else RESELLER_TEAM
            copies = [m for m in bot.slack.team_workspace(team).messages(channel) if "blocks" in m]
            assert any("accepted by the customer" in state_of(m) for m in copies), channel
