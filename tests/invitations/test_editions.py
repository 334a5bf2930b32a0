"""The policy edition in force in Slack: the command's (`edition 2017-03`), else the
workspace's (`/multichannel edition …`, admins), else POLICY_EDITION; every answer shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.testkit.flows import PROVIDER_TEAM, PROVIDER_USER, RESELLER_TEAM, RESELLER_USER
from bot.testkit.harness import BotHarness, ack_json

ADMIN = "U0PROVADMIN"


def says(
    bot: BotHarness, text: str, *, user: str = PROVIDER_USER, team: str = PROVIDER_TEAM
) -> str:
    return json.dumps(ack_json(bot.command(text, user_id=user, team_id=team)), ensure_ascii=False)


def test_a_workspace_admin_sets_the_workspaces_edition(bot: BotHarness) -> None:
    ask = "assess csp_partner:license as direct"
    assert "policy edition 2026-11" in says(bot, ask)  # POLICY_EDITION: current
    shown = says(bot, "edition")
    assert "policy edition *2026-11*" in shown and "POLICY_EDITION" in shown

    refused = says(bot, "edition 2017-03")  # not an admin: nothing changes
    assert "Only your organization's Multichannel admins" in refused
    assert "policy edition 2026-11" in says(bot, ask)

    assert "now answers with policy edition `2017-03`" in says(bot, "edition 2017-03", user=ADMIN)
    answer = says(bot, ask)
    assert "policy edition 2017-03" in answer
    assert "Wait for the end of the term" in answer  # 2017-03: no partner-to-partner transfer
    shown = says(bot, "edition")
    assert "policy edition *2017-03*" in shown and "admins chose `2017-03`" in shown
    # one answer under another edition; the workspace's stays
    assert "policy edition 2026-11" in says(bot, ask + " edition current")
    assert "policy edition 2017-03" in says(bot, ask)
    # another workspace is not affected
    other = says(bot, "assess ea:license", user=RESELLER_USER, team=RESELLER_TEAM)
    assert "policy edition 2026-11" in other

    assert "follows the newest edition" in says(bot, "edition workspace current", user=ADMIN)
    assert "policy edition 2026-11" in says(bot, ask)
    says(bot, "edition 2017-03", user=ADMIN)
    assert "bot's default edition (`current`, now 2026-11)" in says(
        bot, "edition default", user=ADMIN
    )
    assert "policy edition 2026-11" in says(bot, ask)


def test_the_workspace_edition_is_stored(bot: BotHarness) -> None:
    """Kept in the database (migration 0005), so a restart or another replica keeps it."""
    from bot.core.editions import workspace_edition

    says(bot, "edition 2017-03", user=ADMIN)
    with bot.services.sessions.begin() as session:
        assert workspace_edition(session, PROVIDER_TEAM) == "2017-03"
        assert workspace_edition(session, RESELLER_TEAM) is None


def test_bad_edition_commands_get_precise_messages(bot: BotHarness) -> None:
    valid = "Valid editions: 2017-03, 2026-11, current, default"
    assert "Unknown policy edition `2099-01`. " + valid in says(bot, "edition 2099-01", user=ADMIN)
    assert "Unknown policy edition" in says(bot, "edition 2017-03 2026-11", user=ADMIN)
    assert "Unknown policy edition" in says(bot, "edition workspace", user=ADMIN)
    # in Spanish too
    bot.slack.set_user("U0MARIA001", locale="es-ES", team_id=PROVIDER_TEAM)
    spanish = says(bot, "assess ea:license edition 1999", user="U0MARIA001")
    assert "Edición de las reglas desconocida" in spanish


# ------------------------------------------------------------------------------ invitations
def test_under_2026_11_no_invitation_asks_for_delegated_admin(bot: BotHarness) -> None:
    """DAP ended on 2023-10-09: the form has no delegated admin checkbox, says GDAP is a
    separate step and cites the rule; even a submission that asks for it gets DAP=false."""
    from bot.testkit.flows import DIRECT_TEAM, invite_form, latest, submit

    bot.command("invite Woodgrove", team_id=DIRECT_TEAM, user_id="U0ADATUMUSR")
    view = bot.slack.wait_for("views.open")[0].params["view"]
    ids = [b["block_id"] for b in view["blocks"]]
    assert "delegated_admin" not in ids and "gdap_note" in ids
    shown = json.dumps(view["blocks"])
    assert "request a GDAP relationship" in shown and "Rule `gdap-separate`" in shown
    assert "DAP will no longer be available with reseller relationships" in shown

    values = invite_form(delegated_admin=True)  # as if the checkbox were there
    assert submit(bot, "invite_modal", values, team=DIRECT_TEAM, user="U0ADATUMUSR") == {}
    text = json.dumps(latest(bot, "C0MCDESK01")["blocks"])
    assert "msppId=0&amp;DAP=false" in text and "DAP=true" not in text
    assert "asked in the invitation" not in text


def test_a_request_fulfilled_under_2026_11_gets_no_dap(bot: BotHarness) -> None:
    """A reseller asked for delegated admin under 2017-03; its provider (2026-11) creates the
    invitation: the link says DAP=false, and the invitation no longer claims DAP."""
    from bot.core.store.models import Invitation
    from bot.testkit.flows import click, latest, request_form, submit

    says(bot, "edition 2017-03", user="U0RESADMIN", team=RESELLER_TEAM)
    values = request_form("Woodgrove")
    values["delegated_admin"]["delegated_admin"]["selected_options"] = [{"value": "yes"}]
    assert submit(bot, "request_modal", values, team=RESELLER_TEAM, user=RESELLER_USER) == {}
    request = latest(bot, "C0PROVNOTIF")
    click(bot, request, "inv_fulfil", team=PROVIDER_TEAM, user=PROVIDER_USER)
    bot.slack.wait_for("chat.update")
    with bot.services.sessions.begin() as session:
        invitation = session.query(Invitation).one()
        assert invitation.link is not None and "DAP=false" in invitation.link
        assert invitation.delegated_admin is False


def test_a_reseller_is_told_where_to_send_its_own_invitation_under_2026_11(
    bot: BotHarness,
) -> None:
    shown = says(bot, "invite Woodgrove", user=RESELLER_USER, team=RESELLER_TEAM)
    assert "Under edition 2026-11 you send your own invitation from Partner Center" in shown
    assert "Rule `reseller-own-invitation`" in shown
    assert "ask_provider_for_invitation" in shown  # asking the provider still works
    says(bot, "edition 2017-03", user="U0RESADMIN", team=RESELLER_TEAM)
    shown = says(bot, "invite Woodgrove", user=RESELLER_USER, team=RESELLER_TEAM)
    assert "you cannot create your own CSP invitation" in shown
    assert "Rule `table-reseller-no-own-invitation`" in shown


def test_the_policy_edition_setting_is_the_default_of_every_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mcbot serve` reads POLICY_EDITION (build_services); a workspace without its own
    edition answers with it; a bad value is refused at start (exit 2)."""
    from bot.bootstrap.serve import build_services

    mp = monkeypatch
    mp.chdir(tmp_path)
    mp.setenv("POLICY_EDITION", "2017-03")
    services = build_services("sqlite:///policy.sqlite3")
    assert services.policy_edition == "2017-03"
    assert services.editions.setting().name == "2017-03"
    mp.setenv("POLICY_EDITION", "1999-01")
    with pytest.raises(SystemExit) as exited:
        build_services("sqlite:///policy.sqlite3")
    assert exited.value.code == 2

    with BotHarness(services_options={"policy_edition": "2017-03"}) as other:
        body = says(other, "assess csp_partner:license as direct")
        assert "policy edition 2017-03" in body and "Wait for the end of the term" in body
        assert "the bot's default (the POLICY_EDITION setting, `2017-03`)" in says(other, "edition")
