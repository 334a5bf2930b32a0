"""`/multichannel`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.modals import open_modal
from bot.core.replay import replay_answer
from bot.core.services import Services
from bot.core.ui import surfaces
from bot.core.ui.commands import (
    AdminCommand,
    AssessCommand,
    DecisionCommand,
    EditionCommand,
    HelpCommand,
    InviteCommand,
    LanguageCommand,
    StatusCommand,
    UsageError,
    parse,
)
from bot.core.ui.metadata import AssessOrigin
from bot.slack.listeners.editions import handle_edition
from bot.slack.listeners.invitations import handle_command
from bot.slack.listeners.language import handle_language
from policy import decide
from policy.ids import new_decision_id

COMMAND = "/multichannel"
JSON: dict[str, str | Sequence[str]] = {"content-type": "application/json;charset=utf-8"}


async def ack_with(ack: AsyncAck, message: dict[str, Any]) -> None:
    """Answer in the acknowledgement itself: no Web API call, no extra round trip."""
    await ack(**surfaces.ack_fields(message))


def register(app: AsyncApp, services: Services) -> None:
    @app.command(COMMAND)
    async def multichannel(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
    ) -> BoltResponse | None:
        team_id, user_id = command.get("team_id"), command["user_id"]
        lang = await services.language.for_user(client, user_id, team_id)
        try:
            parsed = parse(command.get("text") or "")
        except UsageError as error:
            if error.code == "unknown_subcommand":
                message = surfaces.help_message(
                    typed=str(error.params["value"]),
                    suggestion=error.params.get("suggestion"),  # type: ignore[arg-type]
                    lang=lang,
                )
            else:
                message = surfaces.usage_error_message(error, lang=lang)
            await ack_with(ack, message)
            return None

        if isinstance(parsed, HelpCommand):
            await ack_with(ack, surfaces.help_message(lang=lang))
            return None
        if isinstance(parsed, LanguageCommand):
            await handle_language(services, client, parsed, command, ack)
            return None
        if isinstance(parsed, DecisionCommand):
            replayed = await replay_answer(
                services, parsed.decision_id, team_id=team_id or "", lang=lang
            )
            await ack_with(ack, replayed)
            return None
        if isinstance(parsed, EditionCommand):
            await handle_edition(services, client, parsed, command, lang, ack)
            return None
        if isinstance(parsed, InviteCommand | StatusCommand | AdminCommand):
            answer = await handle_command(services, client, parsed, command, lang)
            if answer is None:
                await ack()
            else:
                await ack_with(ack, answer)
            return None

        assert isinstance(parsed, AssessCommand)
        if not parsed.subscriptions:
            # trigger_id expires after 3 s: acknowledge, then open the modal at once.
            await ack()
            role = await services.role_for(team_id)
            origin = AssessOrigin(
                channel_id=command.get("channel_id"), response_url=command.get("response_url")
            )
            await open_modal(
                services,
                client,
                trigger_id=command["trigger_id"],
                view=surfaces.assess_modal(origin=origin, role=role, lang=lang),
                team_id=team_id or "",
                user_id=user_id,
            )
            return None

        role, org_id = await services.membership(team_id)
        edition = await services.editions.for_team(team_id, parsed.edition)
        # The shared decision for these facts and an id of its own: no copy per command.
        decision = decide(parsed.facts(role), edition=edition.name)
        decision_id = new_decision_id()
        services.log_decision(
            decision,
            decision_id=decision_id,
            user_id=user_id,
            team_id=team_id or "",
            customer=None,
            org_id=org_id,
        )
        # The acknowledgement, already serialized: a listener's returned BoltResponse is the
        # response (Bolt's listener runner; tests/slack/test_command.py checks it still is).
        body = surfaces.decision_ack(
            decision,
            decision_id=decision_id,
            lang=lang,
            invitation_action=surfaces.invitation_action_for(
                decision, in_directory=org_id is not None
            ),
        )
        return BoltResponse(status=200, body=body, headers=JSON)
