"""Modal submissions."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.delivery import tell_user
from bot.core.modals import recall
from bot.core.services import Services
from bot.core.ui import surfaces
from bot.core.ui.forms import FormErrors, read_assess_form
from bot.core.ui.metadata import AssessOrigin, MetadataError, load
from bot.slack.listeners import user_and_team
from policy import evaluate


def register(app: AsyncApp, services: Services) -> None:
    @app.view("assess_modal")
    async def assess_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id, team_id = user_and_team(body)
        lang = await services.language.for_user(client, user_id, team_id)
        try:
            form = read_assess_form(view["state"]["values"])
        except FormErrors as invalid:
            await ack(**surfaces.modal_errors(invalid.errors, lang=lang))
            return
        try:
            origin = load(
                AssessOrigin, await recall(services, view, team_id=team_id, user_id=user_id)
            )
        except MetadataError:
            origin = AssessOrigin()  # answer in a DM instead
        await ack()
        edition = await services.editions.for_team(team_id)
        decision = evaluate(form.facts, edition=edition.name)
        org_id = (await services.membership(team_id))[1]
        await tell_user(
            client,
            surfaces.decision_message(
                decision,
                customer=form.customer,
                lang=lang,
                invitation_action=surfaces.invitation_action_for(
                    decision, in_directory=org_id is not None
                ),
            ),
            user=user_id,
            channel=origin.channel_id,
            response_url=origin.response_url,
        )
        services.log_decision(
            decision,
            user_id=user_id,
            team_id=team_id,
            customer=form.customer,
            org_id=org_id,
        )
